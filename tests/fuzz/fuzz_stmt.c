/* libFuzzer target: protocol/stmt_packet.h over arbitrary prepared-statement commands. The
 * input's first two bytes are the statement's parameter count, the rest a command payload.
 * Every offset read must lie inside the payload; a packet given types must read back as
 * sending them, with the bytes before and after them unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/stmt_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 4096)
        return 0;
    uint16_t n_params = (uint16_t)(data[0] | data[1] << 8);
    const uint8_t *payload = data + 2;
    size_t len = size - 2;
    for (size_t avail = 0; avail <= len; avail++) {
        struct proto_exec_types t;
        int rc = proto_exec_types(payload, avail, n_params, &t);
        if (rc == 0 && (t.types_off > avail || (t.sent && t.types_off + t.types_len > avail)))
            abort();
    }
    if (proto_stmt_command_has_id(payload[0]) && len >= 5) {
        uint8_t id[5];
        memcpy(id, payload, 5);
        proto_stmt_set_id(id, proto_stmt_id(payload));
        if (memcmp(id, payload, 5) != 0)
            abort();
    }
    /* The payload as a whole packet, with room for the types and 16 bytes that follow it. */
    size_t add = (size_t)n_params * 2, used = PROTO_HEADER_LEN + len + 16;
    uint8_t *pkt = malloc(used + add), *types = malloc(add ? add : 1);
    if (!pkt || !types)
        abort();
    pkt[0] = (uint8_t)len;
    pkt[1] = (uint8_t)(len >> 8);
    pkt[2] = 0;
    pkt[3] = 0;
    memcpy(pkt + PROTO_HEADER_LEN, payload, len);
    memset(pkt + PROTO_HEADER_LEN + len, 0xab, 16);
    memset(types, 0x5c, add ? add : 1);
    ssize_t n = proto_exec_add_types(pkt, used, used + add, n_params, types);
    if (n >= 0) {
        struct proto_exec_types t;
        if ((size_t)n != used + add ||
            proto_exec_types(pkt + PROTO_HEADER_LEN, len + add, n_params, &t) != 0 || !t.sent ||
            memcmp(pkt + PROTO_HEADER_LEN + t.types_off, types, add) != 0 ||
            pkt[PROTO_HEADER_LEN + len + add] != 0xab)
            abort();
    }
    free(pkt);
    free(types);
    return 0;
}
