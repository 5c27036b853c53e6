#include "core/proxy.h"

#include <signal.h>

#include "core/log.h"

/* Placeholder until the workers land: waits for a stop signal and exits cleanly. */
int proxy_run(const struct cfg *cfg)
{
    log_info("not_serving", "reason=\"proxy core not built yet\" listen=%s:%u", cfg->listen.host,
             cfg->listen.port);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("stopping", "signal=%d", sig);
    return 0;
}
