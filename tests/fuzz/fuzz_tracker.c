/* libFuzzer target: the response tracker (tracker.h). Input: 8 bytes of capabilities, then
 * physical packets (header included): a command, the server's packets, client packets when
 * the tracker hands the turn over, and after DONE the next command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/tracker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The same bytes as a statement's text for transaction pooling's scanner. */
    (void)proto_query_leaves_state(data, size, NULL);
    (void)proto_query_may_change_db(data, size);
    if (size < 8)
        return 0;
    uint64_t caps;
    memcpy(&caps, data, 8);
    size_t off = 8;
    struct proto_tracker t;
    proto_tracker_init(&t, PROTO_SERVER_STATUS_AUTOCOMMIT);
    int verdict = PROTO_TRACK_DONE;
    while (off < size) {
        struct proto_phys ph;
        if (proto_phys_read(data + off, size - off, &ph, NULL) < 0)
            break;
        const uint8_t *pkt = data + off;
        off += ph.span;
        switch (verdict) {
        case PROTO_TRACK_DONE:
            verdict = proto_tracker_begin_packet(&t, pkt + PROTO_HEADER_LEN, ph.payload_len, caps);
            if (verdict == PROTO_TRACK_DONE && !proto_tracker_idle(&t))
                abort();
            break;
        case PROTO_TRACK_INFILE:
        case PROTO_TRACK_AUTH:
            verdict = proto_tracker_feed_client_packet(&t, pkt, ph.span);
            break;
        default:
            verdict = proto_tracker_feed_packet(&t, pkt, ph.span);
            if (verdict == PROTO_TRACK_DONE && !proto_tracker_idle(&t))
                abort();
            break;
        }
        if (verdict < 0)
            break;
    }
    return 0;
}
