/* fixture: reads the files tests/protocol/capture writes (see capture.c for the format). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fixture_dir {
    FIX_CMD,    /* a command payload, no header */
    FIX_SERVER, /* a server packet, header included */
    FIX_CLIENT, /* a client packet, header included */
};

struct fixture_pkt {
    enum fixture_dir dir;
    uint8_t *data;
    size_t len;
};

struct fixture {
    char name[128];
    uint64_t caps;
    struct fixture_pkt *pkts;
    size_t npkts;
};

/* Loads path; returns false (with a message on stderr) when unreadable or malformed. */
bool fixture_load(const char *path, struct fixture *f);
void fixture_free(struct fixture *f);
/* Lists the .fix files of dir, sorted; returns their count, or -1. names must be freed. */
int fixture_list(const char *dir, char ***names);
