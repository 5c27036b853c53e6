/* /readyz's verdict (metrics_ready) on a worker whose receives wait for a buffer: ready while
 * the wait is short or over, not ready once it lasts past a second (every receive buffer
 * held by transfers that do not move: the worker serves no one). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config/config.h"
#include "core/base/clock.h"
#include "core/admin/metrics.h"
#include "core/base/shared.h"
#include "core/worker/worker.h"

static void test_starved_worker_is_not_ready(void)
{
    struct cfg cfg = {0};
    struct proxy p = {.nworkers = 2};
    p.workers = calloc(2, sizeof *p.workers);
    if (!CHECK(p.workers != NULL))
        return;
    char why[300];
    CHECK(metrics_ready(&p, &cfg, 0, why, sizeof why));
    CHECK_STR(why, "ready");
    uint64_t now = clock_ms();
    STAT_SET(p.workers[1].st.buf_starved_since_ms, now - 100); /* a short wait */
    CHECK(metrics_ready(&p, &cfg, 0, why, sizeof why));
    STAT_SET(p.workers[1].st.buf_starved_since_ms, now - 5000);
    CHECK(!metrics_ready(&p, &cfg, 0, why, sizeof why));
    CHECK(strstr(why, "worker 1 has had no free receive buffer") != NULL);
    STAT_SET(p.workers[1].st.buf_starved_since_ms, 0); /* a buffer came back */
    CHECK(metrics_ready(&p, &cfg, 0, why, sizeof why));
    free(p.workers);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_starved_worker_is_not_ready),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
