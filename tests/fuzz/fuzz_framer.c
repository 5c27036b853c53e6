/* libFuzzer target: core/worker/framer.c over an arbitrary byte stream cut into arbitrary receives.
 * Every logical packet it reports must be one a plain reading of the whole stream finds, in
 * order, with the same sequence id, length and first bytes (all of them where the head grows);
 * none may be missed or invented, and the buffer's scan never passes its end.
 *   data[0]: seed for the receive sizes; data[1] & 1: whole packets wanted (grow); rest: stream */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/worker/framer.h"
#include "protocol/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEAD_CAP = 16, GROW_MAX = 1 << 16, MAX_PACKETS = 4096 };

struct expect {
    size_t off[MAX_PACKETS]; /* payload offsets in the stream */
    uint32_t len[MAX_PACKETS];
    uint8_t seq[MAX_PACKETS];
    size_t n, seen;
    const uint8_t *stream;
    bool whole;
};

static uint8_t inline_head[HEAD_CAP];

static void grow(struct framer *fr, uint32_t need)
{
    if (need > GROW_MAX)
        return;
    uint8_t *p = fr->head == inline_head ? malloc(need) : realloc(fr->head, need);
    if (!p)
        return;
    if (fr->head == inline_head)
        memcpy(p, inline_head, fr->head_len);
    fr->head = p;
    fr->head_cap = need;
}

/* The complete single-fragment packets of the stream (a fuzz input holds no 16 MiB one). */
static void read_all(struct expect *e, const uint8_t *s, size_t len)
{
    size_t pos = 0;
    while (pos + PROTO_HEADER_LEN <= len && e->n < MAX_PACKETS) {
        uint32_t plen = (uint32_t)s[pos] | (uint32_t)s[pos + 1] << 8 | (uint32_t)s[pos + 2] << 16;
        if (plen == PROTO_MAX_PAYLOAD || pos + PROTO_HEADER_LEN + plen > len)
            break;
        e->off[e->n] = pos + PROTO_HEADER_LEN;
        e->len[e->n] = plen;
        e->seq[e->n] = s[pos + 3];
        e->n++;
        pos += PROTO_HEADER_LEN + plen;
    }
}

static int on_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct expect *e = ctx;
    if (e->seen >= e->n)
        abort(); /* a packet the stream does not hold */
    size_t i = e->seen++;
    size_t want_head = e->whole && len <= GROW_MAX ? len : (len < HEAD_CAP ? len : HEAD_CAP);
    if (len != e->len[i] || seq != e->seq[i] || head_len < want_head || head_len > len ||
        memcmp(head, e->stream + e->off[i], head_len) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = data[0] | 1u;
    static struct expect e;
    memset(&e, 0, sizeof e);
    e.stream = data + 2;
    e.whole = data[1] & 1;
    size_t len = size - 2;
    read_all(&e, e.stream, len);
    struct framer fr = {.head = inline_head, .head_cap = HEAD_CAP, .grow = e.whole ? grow : NULL};
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t pos = 0; pos < len && buf;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 97;
        if (n > len - pos)
            n = len - pos;
        memcpy(buf, e.stream + pos, n); /* a receive of its own, as from the ring */
        struct rbuf rb = {.p = buf, .len = (uint32_t)n, .held = true};
        if (framer_walk(&fr, &rb, on_packet, &e) != 0 || rb.scan != rb.len)
            abort();
        pos += n;
        if (fr.grow && framer_between_packets(&fr) && fr.head != inline_head) {
            free(fr.head); /* as the session does after each login packet */
            fr.head = inline_head;
            fr.head_cap = HEAD_CAP;
        }
    }
    if (e.seen != e.n && e.n < MAX_PACKETS)
        abort(); /* a complete packet was not reported */
    if (fr.head != inline_head)
        free(fr.head);
    free(buf);
    return 0;
}
