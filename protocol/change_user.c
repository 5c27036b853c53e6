#include "protocol/change_user.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/handshake.h"

int proto_change_user_parse(const uint8_t *p, size_t len, uint64_t caps,
                            struct proto_change_user *out)
{
    memset(out, 0, sizeof *out);
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t cmd, alen;
    if (proto_rd_u8(&r, &cmd) < 0 || cmd != PROTO_COM_CHANGE_USER ||
        proto_rd_nul_str(&r, &out->user) < 0)
        return -EPROTO;
    if (caps & PROTO_CLIENT_SECURE_CONNECTION) {
        if (proto_rd_u8(&r, &alen) < 0 || proto_rd_bytes(&r, alen, &out->auth_response) < 0)
            return -EPROTO;
    } else if (proto_rd_nul_str(&r, &out->auth_response) < 0) {
        return -EPROTO;
    }
    if (proto_rd_nul_str(&r, &out->database) < 0)
        return -EPROTO;
    if (proto_rd_left(&r) == 0)
        return 0;
    if (proto_rd_u16(&r, &out->charset) < 0)
        return -EPROTO;
    if ((caps & PROTO_CLIENT_PLUGIN_AUTH) && proto_rd_left(&r) > 0 &&
        proto_rd_nul_str(&r, &out->auth_plugin) < 0)
        return -EPROTO;
    if ((caps & PROTO_CLIENT_CONNECT_ATTRS) && proto_rd_left(&r) > 0) {
        if (proto_rd_lenenc_str(&r, &out->attrs) < 0)
            return -EPROTO;
        struct proto_rd ar = proto_rd_init(out->attrs.ptr, out->attrs.len);
        struct proto_bytes k, v;
        int rc;
        while ((rc = proto_attrs_next(&ar, &k, &v)) > 0)
            ;
        if (rc < 0)
            return -EPROTO;
    }
    return proto_rd_left(&r) == 0 ? 0 : -EPROTO;
}

static bool has_nul(struct proto_bytes b)
{
    return b.len > 0 && memchr(b.ptr, 0, b.len) != NULL;
}

ssize_t proto_build_change_user(uint8_t *buf, size_t cap, uint64_t caps,
                                const struct proto_change_user *cu)
{
    if (has_nul(cu->user) || has_nul(cu->database) || has_nul(cu->auth_plugin))
        return -EINVAL;
    bool secure = caps & PROTO_CLIENT_SECURE_CONNECTION;
    if (secure ? cu->auth_response.len > 255 : has_nul(cu->auth_response))
        return -EMSGSIZE;
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_COM_CHANGE_USER);
    proto_wr_nul_str(&w, cu->user.ptr, cu->user.len);
    if (secure) {
        proto_wr_u8(&w, (uint8_t)cu->auth_response.len);
        proto_wr_mem(&w, cu->auth_response.ptr, cu->auth_response.len);
    } else {
        proto_wr_nul_str(&w, cu->auth_response.ptr, cu->auth_response.len);
    }
    proto_wr_nul_str(&w, cu->database.ptr, cu->database.len);
    proto_wr_u16(&w, cu->charset);
    if (caps & PROTO_CLIENT_PLUGIN_AUTH)
        proto_wr_nul_str(&w, cu->auth_plugin.ptr, cu->auth_plugin.len);
    /* MariaDB refuses the packet ("Unknown command") when the attributes are missing. */
    if (caps & PROTO_CLIENT_CONNECT_ATTRS)
        proto_wr_lenenc_str(&w, cu->attrs.ptr, cu->attrs.len);
    return proto_wr_packet_end(&w, start, 0);
}
