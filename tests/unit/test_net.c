/* Unit tests for core/base/net.c: what a listening socket from net_bind() gives the sockets it
 * accepts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "core/base/net.h"

static int nodelay(int fd)
{
    int on = -1;
    socklen_t len = sizeof on;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0)
        return -1;
    return on != 0;
}

/* Nagle is off on every accepted client socket (a result forwarded in several sends must not
 * wait for the client's delayed ACK), set once on the listening socket. */
static void test_accepted_sockets_have_nodelay(void)
{
    struct cfg_addr addr = {.host = "127.0.0.1", .port = 0};
    int lfd = net_bind(&addr, 0, true);
    if (!CHECK(lfd >= 0))
        return;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    CHECK_INT(listen(lfd, 4), 0);
    CHECK_INT(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_INT(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    int afd = accept(lfd, NULL, NULL);
    if (CHECK(afd >= 0)) {
        CHECK_INT(nodelay(afd), 1);
        close(afd);
    }
    CHECK_INT(nodelay(cfd), 0); /* the default, which the accepted socket would have had */
    close(cfd);
    close(lfd);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_accepted_sockets_have_nodelay),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
