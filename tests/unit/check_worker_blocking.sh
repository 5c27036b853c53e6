#!/usr/bin/env bash
# Workers never block (issue 5): no function of the code that runs on a worker thread calls a
# blocking libc or libmariadb function. Reads the compiled objects (objdump -dr), so every
# call is seen, including those behind macros and inlined helpers.
#
#   check_worker_blocking.sh OBJDIR    (build/core/libringsql_core.a.p)
#
# Allowed exceptions, each on the main thread or once before the worker's loop starts:
# worker_start / worker_stop / listen_socket (main thread: bind, start and join the thread),
# report_init (the worker's one-off start-up handshake with the main thread); in the epoll
# engine (core/io/epoll.c), epoll_wait (the loop's one wait, as a ring's
# io_uring_submit_and_wait), recv/send (MSG_DONTWAIT), accept4 (the listening socket made
# O_NONBLOCK) and read (the inbox's EFD_NONBLOCK eventfd).
# Not covered by this check, by design: io_uring_submit_and_wait (the loop's one wait),
# write() on an eventfd opened EFD_NONBLOCK (msg.c), close()/shutdown() of sockets without
# SO_LINGER, and log lines (one fwrite to stderr per event, see core/base/log.c).
set -euo pipefail
objdir=$1
objs=(worker_worker.c.o worker_framer.c.o conn_worker_reload.c.o conn_session.c.o
    conn_session_txn.c.o conn_session_bind.c.o conn_session_kill.c.o conn_session_login.c.o
    conn_session_forward.c.o conn_backend.c.o conn_health.c.o conn_kill.c.o conn_events.c.o
    conn_stmt_meta.c.o base_msg.c.o base_post.c.o io_io.c.o io_uring.c.o io_epoll.c.o)
blocking='poll|ppoll|select|pselect|epoll_wait|sleep|usleep|nanosleep|clock_nanosleep|read|recv|recvfrom|recvmsg|send|sendto|sendmsg|connect|accept|accept4|fopen|fgets|fread|getaddrinfo|gethostbyname|pthread_mutex_lock|pthread_cond_wait|pthread_cond_timedwait|pthread_join|system|popen|waitpid|flock|fsync|fdatasync|mysql_[a-z_]+|mariadb_[a-z_]+'
allowed_in='worker_start|worker_stop|listen_socket|report_init'
# The epoll engine's own system calls, each non-blocking by construction (see above); the
# compiler inlines its functions, so they are allowed by object rather than by function.
epoll_own='io_epoll.c.o [^ ]+ (recv|send|accept4|read|epoll_wait)'
echo "1..1"
bad=$(for o in "${objs[@]}"; do
    objdump -dr --no-show-raw-insn "$objdir/$o" | awk -v obj="$o" '
        /^[0-9a-f]+ <[^>]+>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
        /R_X86_64_(PLT|PC)32|R_AARCH64_CALL26|R_AARCH64_JUMP26/ {
            sym = $NF; sub(/-0x[0-9a-f]+$/, "", sym); sub(/@.*/, "", sym)
            print obj, fn, sym
        }'
done | grep -E " ($blocking)$" | grep -Ev "^[^ ]+ ($allowed_in) " | grep -Ev "^$epoll_own$" || true)
if [[ -n $bad ]]; then
    echo "$bad" | sed 's/^/# blocking call on a worker thread: /'
    echo "not ok 1 - worker objects call no blocking function"
    exit 1
fi
echo "ok 1 - worker objects call no blocking function (${objs[*]})"
