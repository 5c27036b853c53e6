/* stmt_packet: statement ids and parameter types in prepared-statement commands (see .h). */
#include "protocol/stmt_packet.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"

bool proto_stmt_command_has_id(uint8_t command)
{
    switch (command) {
    case PROTO_COM_STMT_EXECUTE:
    case PROTO_COM_STMT_SEND_LONG_DATA:
    case PROTO_COM_STMT_CLOSE:
    case PROTO_COM_STMT_RESET:
    case PROTO_COM_STMT_FETCH:
    case PROTO_COM_STMT_BULK_EXECUTE:
        return true;
    default:
        return false;
    }
}

uint32_t proto_stmt_id(const uint8_t *payload)
{
    return (uint32_t)payload[1] | (uint32_t)payload[2] << 8 | (uint32_t)payload[3] << 16 |
           (uint32_t)payload[4] << 24;
}

void proto_stmt_set_id(uint8_t *payload, uint32_t id)
{
    payload[1] = (uint8_t)id;
    payload[2] = (uint8_t)(id >> 8);
    payload[3] = (uint8_t)(id >> 16);
    payload[4] = (uint8_t)(id >> 24);
}

/* COM_STMT_BULK_EXECUTE's flags: the types follow them. */
enum { BULK_SEND_TYPES = 128 };

int proto_exec_types(const uint8_t *payload, size_t avail, uint16_t n_params,
                     struct proto_exec_types *out)
{
    memset(out, 0, sizeof *out);
    if (avail < 1)
        return -EAGAIN;
    size_t types_len = (size_t)n_params * 2;
    if (payload[0] == PROTO_COM_STMT_BULK_EXECUTE) {
        /* command, id (4), flags (2), then the types when flags say so */
        if (avail < 7)
            return -EAGAIN;
        if (n_params == 0)
            return 1;
        out->sent = (payload[5] & BULK_SEND_TYPES) != 0;
        out->types_off = 7;
    } else if (payload[0] == PROTO_COM_STMT_EXECUTE) {
        if (n_params == 0)
            return 1;
        /* command, id (4), flags (1), iteration count (4), null bitmap, new_params_bound */
        size_t off = 10 + ((size_t)n_params + 7) / 8;
        if (avail <= off)
            return -EAGAIN;
        if (payload[off] > 1)
            return -EPROTO;
        out->flag_off = off;
        out->sent = payload[off] == 1;
        out->types_off = off + 1;
    } else {
        return -EPROTO;
    }
    if (out->sent) {
        out->types_len = types_len;
        if (avail < out->types_off + types_len)
            return -EAGAIN;
    }
    return 0;
}

ssize_t proto_exec_add_types(uint8_t *pkt, size_t used, size_t cap, uint16_t n_params,
                             const uint8_t *types)
{
    if (used < PROTO_HEADER_LEN)
        return -EPROTO;
    size_t len = (size_t)pkt[0] | (size_t)pkt[1] << 8 | (size_t)pkt[2] << 16;
    if (len >= PROTO_MAX_PAYLOAD || used < PROTO_HEADER_LEN + len)
        return -EPROTO;
    uint8_t *payload = pkt + PROTO_HEADER_LEN;
    struct proto_exec_types t;
    if (payload[0] != PROTO_COM_STMT_EXECUTE ||
        proto_exec_types(payload, len, n_params, &t) != 0 || t.sent)
        return -EPROTO;
    size_t add = (size_t)n_params * 2;
    if (used + add > cap || len + add >= PROTO_MAX_PAYLOAD)
        return -ENOSPC;
    uint8_t *at = payload + t.types_off;
    memmove(at + add, at, used - (size_t)(at - pkt));
    memcpy(at, types, add);
    payload[t.flag_off] = 1;
    len += add;
    pkt[0] = (uint8_t)len;
    pkt[1] = (uint8_t)(len >> 8);
    pkt[2] = (uint8_t)(len >> 16);
    return (ssize_t)(used + add);
}
