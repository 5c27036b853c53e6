/* handshake: connection phase packets (see handshake.h). */
#include "protocol/handshake.h"

#include <errno.h>
#include <string.h>

/* Fixed part shared by HandshakeResponse41 and SSLRequest: caps 4, max packet 4, charset 1,
 * 19 filler bytes, then 4 more that are MariaDB's extended caps or filler. */
enum { FIXED_PART_LEN = 32, EXT_CAPS_OFFSET = 28, HANDSHAKE_FILLER = 10 };

/* MariaDB's extended half is only meaningful when both sides cleared CLIENT_MYSQL. */
static bool both_mariadb(uint64_t client_caps, uint64_t server_caps)
{
    return !(client_caps & PROTO_CLIENT_MYSQL) && !(server_caps & PROTO_CLIENT_MYSQL);
}

uint64_t proto_caps_negotiate(uint64_t client_caps, uint64_t server_caps)
{
    uint64_t caps = client_caps & server_caps;
    if (!both_mariadb(client_caps, server_caps))
        caps &= UINT64_C(0xffffffff);
    return caps;
}

ssize_t proto_build_handshake(uint8_t *buf, size_t cap, const struct proto_handshake *hs)
{
    if (hs->scramble_len != PROTO_SCRAMBLE_LEN)
        return -EINVAL;
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, 10);
    proto_wr_nul_str(&w, hs->server_version.ptr, hs->server_version.len);
    proto_wr_u32(&w, hs->conn_id);
    proto_wr_mem(&w, hs->scramble, 8);
    proto_wr_u8(&w, 0);
    proto_wr_u16(&w, (uint16_t)hs->caps);
    proto_wr_u8(&w, hs->charset);
    proto_wr_u16(&w, hs->status);
    proto_wr_u16(&w, (uint16_t)(hs->caps >> 16));
    /* Auth data length counts the trailing NUL of the second scramble part. */
    proto_wr_u8(&w, (hs->caps & PROTO_CLIENT_PLUGIN_AUTH) ? PROTO_SCRAMBLE_LEN + 1 : 0);
    proto_wr_zeros(&w, 6);
    if (hs->caps & PROTO_CLIENT_MYSQL)
        proto_wr_zeros(&w, 4);
    else
        proto_wr_u32(&w, (uint32_t)(hs->caps >> 32));
    proto_wr_mem(&w, hs->scramble + 8, PROTO_SCRAMBLE_LEN - 8);
    proto_wr_u8(&w, 0);
    if (hs->caps & PROTO_CLIENT_PLUGIN_AUTH)
        proto_wr_nul_str(&w, hs->auth_plugin.ptr, hs->auth_plugin.len);
    return proto_wr_packet_end(&w, start, 0);
}

int proto_handshake_parse(const uint8_t *p, size_t len, struct proto_handshake *hs)
{
    struct proto_rd r = proto_rd_init(p, len);
    struct proto_bytes part1, part2;
    uint16_t caps_lo, caps_hi;
    uint8_t filler, auth_len;
    uint32_t caps_ext;
    int rc;
    memset(hs, 0, sizeof *hs);
    if ((rc = proto_rd_u8(&r, &hs->protocol_version)) < 0)
        return rc;
    if (hs->protocol_version != 10)
        return -ENOTSUP;
    if ((rc = proto_rd_nul_str(&r, &hs->server_version)) < 0 ||
        (rc = proto_rd_u32(&r, &hs->conn_id)) < 0 || (rc = proto_rd_bytes(&r, 8, &part1)) < 0 ||
        (rc = proto_rd_u8(&r, &filler)) < 0 || (rc = proto_rd_u16(&r, &caps_lo)) < 0 ||
        (rc = proto_rd_u8(&r, &hs->charset)) < 0 || (rc = proto_rd_u16(&r, &hs->status)) < 0 ||
        (rc = proto_rd_u16(&r, &caps_hi)) < 0 || (rc = proto_rd_u8(&r, &auth_len)) < 0 ||
        (rc = proto_rd_skip(&r, 6)) < 0 || (rc = proto_rd_u32(&r, &caps_ext)) < 0)
        return rc;
    hs->caps = (uint64_t)caps_lo | (uint64_t)caps_hi << 16;
    if (!(hs->caps & PROTO_CLIENT_MYSQL))
        hs->caps |= (uint64_t)caps_ext << 32;
    if (!(hs->caps & PROTO_CLIENT_PROTOCOL_41))
        return -ENOTSUP; /* pre-4.1 servers are not worth speaking to */
    memcpy(hs->scramble, part1.ptr, 8);
    hs->scramble_len = 8;
    if (hs->caps & PROTO_CLIENT_SECURE_CONNECTION) {
        /* The second part is at least 13 bytes; with PLUGIN_AUTH the announced total (which
         * counts its NUL) may say more. Only the first 12 bytes of it are scramble. */
        size_t n2 = 13;
        if ((hs->caps & PROTO_CLIENT_PLUGIN_AUTH) && auth_len > 8 + 13)
            n2 = (size_t)auth_len - 8;
        if ((rc = proto_rd_bytes(&r, n2, &part2)) < 0)
            return rc;
        size_t take = part2.len;
        if (take > 0 && part2.ptr[take - 1] == 0)
            take--;
        if (take > PROTO_SCRAMBLE_LEN - 8)
            take = PROTO_SCRAMBLE_LEN - 8;
        memcpy(hs->scramble + 8, part2.ptr, take);
        hs->scramble_len += take;
    }
    /* MySQL 5.5.7-5.5.9 left out the plugin name's NUL; requiring it lets a cut packet be
     * told from a whole one, which matters more than those long-dead versions. */
    if ((hs->caps & PROTO_CLIENT_PLUGIN_AUTH) && (rc = proto_rd_nul_str(&r, &hs->auth_plugin)) < 0)
        return rc;
    return proto_rd_left(&r) == 0 ? 0 : -EPROTO;
}

bool proto_is_ssl_request(const uint8_t *p, size_t len)
{
    return len == FIXED_PART_LEN && (p[1] & (PROTO_CLIENT_SSL >> 8));
}

static int parse_fixed_part(struct proto_rd *r, uint64_t server_caps,
                            struct proto_handshake_response *out)
{
    uint32_t caps_lo, caps_ext;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = proto_rd_u32(r, &caps_lo)) < 0 || (rc = proto_rd_u32(r, &out->max_packet)) < 0 ||
        (rc = proto_rd_u8(r, &out->charset)) < 0 || (rc = proto_rd_skip(r, 19)) < 0 ||
        (rc = proto_rd_u32(r, &caps_ext)) < 0)
        return rc;
    out->caps = caps_lo;
    if (both_mariadb(out->caps, server_caps))
        out->caps |= (uint64_t)caps_ext << 32;
    /* A 4.1 response without PROTOCOL_41 is the 3.23 format: not supported. */
    if (!(out->caps & PROTO_CLIENT_PROTOCOL_41))
        return -ENOTSUP;
    return 0;
}

int proto_ssl_request_parse(const uint8_t *p, size_t len, uint64_t server_caps,
                            struct proto_handshake_response *r)
{
    struct proto_rd rd = proto_rd_init(p, len);
    int rc = parse_fixed_part(&rd, server_caps, r);
    if (rc < 0)
        return rc;
    if (len != FIXED_PART_LEN || !(r->caps & PROTO_CLIENT_SSL))
        return -EPROTO;
    return 0;
}

static int check_attrs(struct proto_bytes block)
{
    struct proto_rd r = proto_rd_init(block.ptr, block.len);
    struct proto_bytes k, v;
    int rc;
    while ((rc = proto_attrs_next(&r, &k, &v)) > 0) {
    }
    return rc;
}

static int parse_auth_response(struct proto_rd *r, uint64_t caps, struct proto_bytes *out)
{
    if (caps & PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA)
        return proto_rd_lenenc_str(r, out);
    if (caps & PROTO_CLIENT_SECURE_CONNECTION) {
        uint8_t n;
        int rc = proto_rd_u8(r, &n);
        return rc < 0 ? rc : proto_rd_bytes(r, n, out);
    }
    return proto_rd_nul_str(r, out);
}

int proto_handshake_response_parse(const uint8_t *p, size_t len, uint64_t server_caps,
                                   struct proto_handshake_response *out)
{
    struct proto_rd r = proto_rd_init(p, len);
    int rc = parse_fixed_part(&r, server_caps, out);
    if (rc < 0)
        return rc;
    if (len == FIXED_PART_LEN)
        return -EPROTO; /* an SSLRequest, or a response cut after its fixed part */
    uint64_t caps = proto_caps_negotiate(out->caps, server_caps);
    if ((rc = proto_rd_nul_str(&r, &out->user)) < 0 ||
        (rc = parse_auth_response(&r, caps, &out->auth_response)) < 0)
        return rc;
    if ((caps & PROTO_CLIENT_CONNECT_WITH_DB) && proto_rd_left(&r) > 0 &&
        (rc = proto_rd_nul_str(&r, &out->database)) < 0)
        return rc;
    if ((caps & PROTO_CLIENT_PLUGIN_AUTH) && proto_rd_left(&r) > 0 &&
        (rc = proto_rd_nul_str(&r, &out->auth_plugin)) < 0)
        return rc;
    if ((caps & PROTO_CLIENT_CONNECT_ATTRS) && proto_rd_left(&r) > 0) {
        if ((rc = proto_rd_lenenc_str(&r, &out->attrs)) < 0 || (rc = check_attrs(out->attrs)) < 0)
            return rc;
    }
    /* MySQL 8's zstd level byte: ringsql never offers ZSTD, so it is not expected. */
    return proto_rd_left(&r) == 0 ? 0 : -EPROTO;
}

int proto_attrs_next(struct proto_rd *r, struct proto_bytes *key, struct proto_bytes *value)
{
    if (proto_rd_left(r) == 0)
        return 0;
    size_t start = r->pos;
    if (proto_rd_lenenc_str(r, key) < 0 || proto_rd_lenenc_str(r, value) < 0) {
        r->pos = start;
        return -EBADMSG;
    }
    return 1;
}

static void wr_fixed_part(struct proto_wr *w, uint64_t server_caps,
                          const struct proto_handshake_response *r)
{
    proto_wr_u32(w, (uint32_t)r->caps);
    proto_wr_u32(w, r->max_packet);
    proto_wr_u8(w, r->charset);
    proto_wr_zeros(w, 19);
    if (both_mariadb(r->caps, server_caps))
        proto_wr_u32(w, (uint32_t)(r->caps >> 32));
    else
        proto_wr_zeros(w, 4);
}

ssize_t proto_build_ssl_request(uint8_t *buf, size_t cap, uint8_t seq, uint64_t server_caps,
                                const struct proto_handshake_response *r)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    wr_fixed_part(&w, server_caps, r);
    return proto_wr_packet_end(&w, start, seq);
}

ssize_t proto_build_handshake_response(uint8_t *buf, size_t cap, uint8_t seq, uint64_t server_caps,
                                       const struct proto_handshake_response *r)
{
    uint64_t caps = proto_caps_negotiate(r->caps, server_caps);
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    wr_fixed_part(&w, server_caps, r);
    proto_wr_nul_str(&w, r->user.ptr, r->user.len);
    if (caps & PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA) {
        proto_wr_lenenc_str(&w, r->auth_response.ptr, r->auth_response.len);
    } else if (caps & PROTO_CLIENT_SECURE_CONNECTION) {
        if (r->auth_response.len > 255)
            return -EMSGSIZE;
        proto_wr_u8(&w, (uint8_t)r->auth_response.len);
        proto_wr_mem(&w, r->auth_response.ptr, r->auth_response.len);
    } else {
        proto_wr_nul_str(&w, r->auth_response.ptr, r->auth_response.len);
    }
    if (caps & PROTO_CLIENT_CONNECT_WITH_DB)
        proto_wr_nul_str(&w, r->database.ptr, r->database.len);
    if (caps & PROTO_CLIENT_PLUGIN_AUTH)
        proto_wr_nul_str(&w, r->auth_plugin.ptr, r->auth_plugin.len);
    if (caps & PROTO_CLIENT_CONNECT_ATTRS)
        proto_wr_lenenc_str(&w, r->attrs.ptr, r->attrs.len);
    return proto_wr_packet_end(&w, start, seq);
}

static ssize_t build_auth_switch(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                                 const uint8_t *data, size_t data_len, bool nul)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_HDR_EOF);
    proto_wr_nul_str(&w, plugin, strlen(plugin));
    if (nul)
        proto_wr_nul_str(&w, data, data_len);
    else
        proto_wr_mem(&w, data, data_len);
    return proto_wr_packet_end(&w, start, seq);
}

ssize_t proto_build_auth_switch(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                                const uint8_t *data, size_t data_len)
{
    return build_auth_switch(buf, cap, seq, plugin, data, data_len, true);
}

ssize_t proto_build_auth_switch_exact(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                                      const uint8_t *data, size_t data_len)
{
    return build_auth_switch(buf, cap, seq, plugin, data, data_len, false);
}

int proto_auth_switch_parse(const uint8_t *p, size_t len, struct proto_bytes *plugin,
                            struct proto_bytes *data)
{
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t hdr;
    int rc;
    if ((rc = proto_rd_u8(&r, &hdr)) < 0)
        return rc;
    if (hdr != PROTO_HDR_EOF)
        return -EPROTO;
    /* A lone 0xfe is the pre-4.1 "old password" switch, which nobody should still use. */
    if (proto_rd_left(&r) == 0)
        return -ENOTSUP;
    if ((rc = proto_rd_nul_str(&r, plugin)) < 0)
        return rc;
    proto_rd_eof_str(&r, data);
    if (data->len > 0 && data->ptr[data->len - 1] == 0)
        data->len--;
    return 0;
}

ssize_t proto_build_auth_more_data(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *data,
                                   size_t data_len)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_HDR_AUTH_MORE_DATA);
    proto_wr_mem(&w, data, data_len);
    return proto_wr_packet_end(&w, start, seq);
}

int proto_auth_more_data_parse(const uint8_t *p, size_t len, struct proto_bytes *data)
{
    if (len == 0)
        return -EBADMSG;
    if (p[0] != PROTO_HDR_AUTH_MORE_DATA)
        return -EPROTO;
    data->ptr = p + 1;
    data->len = len - 1;
    return 0;
}

ssize_t proto_build_raw(uint8_t *buf, size_t cap, uint8_t seq, const void *data, size_t len)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_mem(&w, data, len);
    return proto_wr_packet_end(&w, start, seq);
}
