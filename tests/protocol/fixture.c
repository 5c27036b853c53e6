/* fixture: see fixture.h. */
#include "fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool hex_decode(const char *s, uint8_t **out, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n % 2)
        return false;
    *out = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        (*out)[i] = (uint8_t)v;
    }
    *len = n / 2;
    return true;
}

bool fixture_load(const char *path, struct fixture *f)
{
    memset(f, 0, sizeof *f);
    const char *base = strrchr(path, '/');
    snprintf(f->name, sizeof f->name, "%s", base ? base + 1 : path);
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "# cannot open fixture %s\n", path);
        return false;
    }
    static char line[1 << 22];
    size_t cap = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, in)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (strncmp(line, "caps ", 5) == 0) {
            f->caps = strtoull(line + 5, NULL, 16);
            continue;
        }
        enum fixture_dir dir;
        const char *hex;
        if (strncmp(line, "cmd ", 4) == 0)
            dir = FIX_CMD, hex = line + 4;
        else if (strncmp(line, "S ", 2) == 0)
            dir = FIX_SERVER, hex = line + 2;
        else if (strncmp(line, "C ", 2) == 0)
            dir = FIX_CLIENT, hex = line + 2;
        else {
            ok = false;
            break;
        }
        if (f->npkts == cap) {
            cap = cap ? 2 * cap : 64;
            f->pkts = realloc(f->pkts, cap * sizeof *f->pkts);
        }
        struct fixture_pkt *p = &f->pkts[f->npkts++];
        p->dir = dir;
        ok = hex_decode(hex, &p->data, &p->len);
    }
    fclose(in);
    if (!ok)
        fprintf(stderr, "# malformed fixture %s\n", path);
    return ok;
}

void fixture_free(struct fixture *f)
{
    for (size_t i = 0; i < f->npkts; i++)
        free(f->pkts[i].data);
    free(f->pkts);
    memset(f, 0, sizeof *f);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fixture_list(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    *names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".fix") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            *names = realloc(*names, (size_t)cap * sizeof **names);
        }
        (*names)[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(*names, (size_t)n, sizeof **names, cmp_names);
    return n;
}
