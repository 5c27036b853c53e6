/* replication: role and lag checks of every backend (see replication.h). */
#include "core/maintenance/replication.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/maintenance/connect.h"

/* What was told the workers of one backend, and the connection that checks it. */
struct checked {
    MYSQL *my;
    bool primary;
    bool readable;
    char why[160]; /* why it is out of the read set (logged once per change) */
};

/* Published arrays of earlier configs: a reader of /metrics may still hold one. */
struct old_pub {
    struct old_pub *next;
    struct backend_repl *pub;
};

struct replication {
    struct proxy *p;
    const struct cfg *cfg;
    uint32_t gen;
    replication_tell_fn *tell;
    void *ctx;
    struct checked *b;
    struct backend_repl *pub;
    struct old_pub *old;
    uint64_t due_ms;
};

/* What one check found. */
struct seen {
    bool ok; /* the queries answered */
    bool read_only;
    bool replicating; /* SHOW ALL SLAVES STATUS had a row */
    bool applying;    /* every row's SQL thread runs and no I/O thread is stopped */
    int64_t lag_s;    /* the largest Seconds_Behind_Master; -1 where none is known */
    char err[200];
};

static void init_checked(struct replication *r, size_t i)
{
    const struct cfg_backend *be = &r->cfg->backends[i];
    r->b[i] = (struct checked){.primary = be->role == CFG_ROLE_PRIMARY,
                               .readable = be->role == CFG_ROLE_REPLICA};
    atomic_init(&r->pub[i].primary, -1);
    atomic_init(&r->pub[i].readable, r->b[i].readable);
    atomic_init(&r->pub[i].lag_s, -1);
}

struct replication *replication_new(struct proxy *p, const struct cfg *cfg,
                                    replication_tell_fn *tell, void *ctx)
{
    struct replication *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    *r = (struct replication){.p = p, .cfg = cfg, .tell = tell, .ctx = ctx};
    r->b = calloc(cfg->nbackends, sizeof *r->b);
    r->pub = calloc(cfg->nbackends, sizeof *r->pub);
    if (!r->b || !r->pub) {
        free(r->b);
        free(r->pub);
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nbackends; i++)
        init_checked(r, i);
    atomic_store(&p->backend_repl, r->pub);
    return r;
}

void replication_reshape(struct replication *r, const struct cfg *cfg, uint32_t gen)
{
    struct checked *b = calloc(cfg->nbackends, sizeof *b);
    struct backend_repl *pub = calloc(cfg->nbackends, sizeof *pub);
    struct old_pub *keep = calloc(1, sizeof *keep);
    if (!b || !pub || !keep) {
        free(b);
        free(pub);
        free(keep);
        return; /* the old config's checks go on (their messages are of the old generation) */
    }
    const struct cfg *old = r->cfg;
    struct checked *oldb = r->b;
    r->b = b;
    keep->pub = r->pub;
    keep->next = r->old;
    r->old = keep;
    r->pub = pub;
    r->cfg = cfg;
    r->gen = gen;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        init_checked(r, i);
        const struct cfg_backend *be = cfg_find_backend(old, cfg->backends[i].name);
        if (!be)
            continue;
        size_t o = (size_t)(be - old->backends);
        b[i] = oldb[o]; /* the workers keep what they were told of it, by name, too */
        oldb[o].my = NULL;
        atomic_store(&pub[i].primary, atomic_load(&keep->pub[o].primary));
        atomic_store(&pub[i].readable, atomic_load(&keep->pub[o].readable));
        atomic_store(&pub[i].lag_s, atomic_load(&keep->pub[o].lag_s));
    }
    for (size_t o = 0; o < old->nbackends; o++)
        if (oldb[o].my)
            mysql_close(oldb[o].my);
    free(oldb);
    atomic_store(&r->p->backend_repl, pub);
    r->due_ms = 0;
}

/* The index of the column named name in res, or -1. */
static int column(MYSQL_RES *res, const char *name)
{
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* SHOW ALL SLAVES STATUS into s: every source's row counts (a multi-source replica is as far
 * behind as its furthest). */
static bool read_slaves(MYSQL *my, struct seen *s)
{
    if (mysql_query(my, "SHOW ALL SLAVES STATUS") != 0)
        return false;
    MYSQL_RES *res = mysql_store_result(my);
    if (!res)
        return false;
    int io = column(res, "Slave_IO_Running"), sql = column(res, "Slave_SQL_Running"),
        lag = column(res, "Seconds_Behind_Master");
    s->applying = true;
    MYSQL_ROW row;
    while (io >= 0 && sql >= 0 && lag >= 0 && (row = mysql_fetch_row(res))) {
        s->replicating = true;
        if (!row[sql] || strcmp(row[sql], "Yes") != 0 || !row[io] || strcmp(row[io], "No") == 0)
            s->applying = false;
        /* NULL while a thread is not running or the I/O thread is reconnecting (its source
         * is unreachable: what it applied is as fresh as it can be; the lag is unknown). */
        if (row[lag] && atoll(row[lag]) > s->lag_s)
            s->lag_s = atoll(row[lag]);
    }
    mysql_free_result(res);
    return true;
}

static struct seen check_one(struct replication *r, size_t i)
{
    const struct cfg *cfg = r->cfg;
    const struct cfg_replication *rep = &cfg->replication;
    struct seen s = {.lag_s = -1};
    struct checked *c = &r->b[i];
    if (!c->my) {
        const struct cfg_user *first = &cfg->users[0];
        struct cfg_user monitor = {
            .backend_user = rep->monitor_user ? rep->monitor_user : first->backend_user,
            .backend_password = rep->monitor_user ? rep->monitor_password : first->backend_password,
        };
        c->my = connect_admin(cfg, &cfg->backends[i], &monitor, s.err, sizeof s.err);
        if (!c->my)
            return s;
    }
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    if (mysql_query(c->my, "SELECT @@global.read_only") == 0 && (res = mysql_store_result(c->my)) &&
        (row = mysql_fetch_row(res)) && row[0] && read_slaves(c->my, &s)) {
        s.ok = true;
        s.read_only = strcmp(row[0], "0") != 0;
    } else {
        snprintf(s.err, sizeof s.err, "%u %s", mysql_errno(c->my), mysql_error(c->my));
        mysql_close(c->my);
        c->my = NULL;
    }
    mysql_free_result(res);
    return s;
}

/* Why a server whose read_only is ON is not readable now ("" where it is). */
static void read_set_verdict(const struct replication *r, const struct seen *s, char *why,
                             size_t cap)
{
    why[0] = '\0';
    uint64_t max_s = r->cfg->replication.max_lag_ms / 1000;
    if (s->replicating && !s->applying)
        snprintf(why, cap, "replication stopped (its SQL or I/O thread is not running)");
    else if (s->lag_s >= 0 && (uint64_t)s->lag_s * 1000 > r->cfg->replication.max_lag_ms)
        snprintf(why, cap, "%lld s behind its primary (replication.max_lag %llu s)",
                 (long long)s->lag_s, (unsigned long long)max_s);
}

static void apply(struct replication *r, size_t i, const struct seen *s)
{
    const struct cfg_backend *be = &r->cfg->backends[i];
    struct checked *c = &r->b[i];
    struct backend_repl *pub = &r->pub[i];
    char why[160];
    read_set_verdict(r, s, why, sizeof why);
    bool primary = !s->read_only, readable = s->read_only && !why[0];
    atomic_store(&pub->primary, primary ? 1 : 0);
    atomic_store(&pub->readable, readable ? 1 : 0);
    atomic_store(&pub->lag_s, s->lag_s);
    if (primary == c->primary && readable == c->readable)
        return;
    bool demoted = c->primary && !primary;
    if (primary != c->primary)
        log_warn("backend_role", "backend=%s role=%s was=%s%s", be->name,
                 primary ? "primary" : "replica", c->primary ? "primary" : "replica",
                 demoted ? " action=\"its pooled connections are closed\"" : "");
    if (readable && !c->readable)
        log_info("replica_readable", "backend=%s lag_s=%lld", be->name, (long long)s->lag_s);
    else if (!readable && c->readable && !primary)
        log_warn("replica_out", "backend=%s reason=\"%s\"", be->name, why);
    c->primary = primary;
    c->readable = readable;
    struct msg like = {.kind = MSG_BACKEND_ROLE,
                       .fd = -1,
                       .gen = r->gen,
                       .backend = (uint32_t)i,
                       .primary = primary,
                       .readable = readable,
                       .demoted = demoted};
    r->tell(r->ctx, &like);
}

void replication_step(struct replication *r, uint64_t now_ms)
{
    if (!r || !r->cfg->replication.enabled || now_ms < r->due_ms)
        return;
    r->due_ms = now_ms + r->cfg->replication.check_interval_ms;
    for (size_t i = 0; i < r->cfg->nbackends; i++) {
        struct seen s = check_one(r, i);
        if (s.ok) {
            apply(r, i, &s);
        } else {
            /* Unreachable: the pool's connects mark it down (and reads leave it); what it
             * was stays until it answers. */
            atomic_store(&r->pub[i].lag_s, -1);
            log_debug("replication_check_failed", "backend=%s error=\"%s\"",
                      r->cfg->backends[i].name, s.err);
        }
    }
}

uint64_t replication_due_ms(const struct replication *r)
{
    return r && r->cfg->replication.enabled ? r->due_ms : UINT64_MAX;
}

void replication_free(struct replication *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cfg->nbackends; i++)
        if (r->b[i].my)
            mysql_close(r->b[i].my);
    atomic_store(&r->p->backend_repl, NULL);
    while (r->old) {
        struct old_pub *o = r->old;
        r->old = o->next;
        free(o->pub);
        free(o);
    }
    free(r->pub);
    free(r->b);
    free(r);
}
