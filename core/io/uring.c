/* The io_uring engine (see io.h): a ring per worker, created on the worker's thread (its single
 * issuer), receives into a provided-buffer ring. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core/io/io_engine.h"

enum { RING_ENTRIES = 1024, RING_CQ_ENTRIES = 8192, BUF_GROUP = 1 };

_Static_assert(IO_F_BUFFER == IORING_CQE_F_BUFFER, "completion flags pass through");
_Static_assert(IO_F_MORE == IORING_CQE_F_MORE, "completion flags pass through");
_Static_assert((int)IO_BUF_SHIFT == (int)IORING_CQE_BUFFER_SHIFT, "completion flags pass through");

struct io_uring_engine {
    struct io_uring ring;
    bool ring_ok;
    struct io_uring_buf_ring *br;
    size_t br_size;
    uint8_t *bufs;
    size_t buf_size;
    uint32_t nbufs;
};

static struct io_uring_sqe *sqe_get(struct io_uring_engine *e)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    while (!sqe) {
        /* The submission queue is full: hand what is there to the kernel and retry. */
        io_uring_submit(&e->ring);
        sqe = io_uring_get_sqe(&e->ring);
    }
    return sqe;
}

static int ring_setup(struct io_uring *ring, const char **step)
{
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = RING_CQ_ENTRIES;
    int rc = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
    if (rc == -EINVAL) {
        /* Kernels before 6.1 lack DEFER_TASKRUN (and before 6.0 SINGLE_ISSUER). */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = RING_CQ_ENTRIES;
        rc = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
    }
    *step = "io_uring_setup";
    return rc;
}

/* The provided-buffer ring (kernel 5.19): nbufs buffers of buf_size. */
static int buffers_setup(struct io_uring_engine *e, const char **step)
{
    *step = "io_uring_register_buf_ring";
    e->br_size = e->nbufs * sizeof(struct io_uring_buf);
    void *ring = mmap(NULL, e->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring == MAP_FAILED)
        return -errno;
    e->br = ring;
    if (e->buf_size) {
        e->bufs = aligned_alloc(4096, (size_t)e->nbufs * e->buf_size);
        if (!e->bufs)
            return -ENOMEM;
    }
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)ring, .ring_entries = e->nbufs, .bgid = BUF_GROUP};
    int rc = io_uring_register_buf_ring(&e->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(e->br);
    for (unsigned i = 0; e->bufs && i < e->nbufs; i++)
        io_uring_buf_ring_add(e->br, e->bufs + (size_t)i * e->buf_size, (unsigned)e->buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(e->nbufs), (int)i);
    io_uring_buf_ring_advance(e->br, e->bufs ? e->nbufs : 0);
    return 0;
}

static void engine_free(struct io_uring_engine *e)
{
    if (e->ring_ok)
        io_uring_queue_exit(&e->ring);
    if (e->br)
        munmap(e->br, e->br_size);
    free(e->bufs);
    free(e);
}

static int engine_open(struct io_uring_engine **out, uint32_t nbufs, size_t buf_size,
                       const char **step)
{
    struct io_uring_engine *e = calloc(1, sizeof *e);
    if (!e) {
        *step = "malloc";
        return -ENOMEM;
    }
    e->nbufs = nbufs;
    e->buf_size = buf_size;
    int rc = ring_setup(&e->ring, step);
    if (rc == 0) {
        e->ring_ok = true;
        rc = buffers_setup(e, step);
    }
    if (rc < 0) {
        engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int io_uring_probe(const char **step)
{
    struct io_uring_engine *e;
    int rc = engine_open(&e, 1, 0, step); /* a ring and a buffer ring, without buffers */
    if (rc == 0)
        engine_free(e);
    return rc;
}

int uring_open(struct io_uring_engine **out, uint32_t nbufs, size_t buf_size, const char **step)
{
    return engine_open(out, nbufs, buf_size, step);
}

void uring_free(struct io_uring_engine *e)
{
    engine_free(e);
}

void uring_accept(struct io_uring_engine *e, int listen_fd, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag);
}

void uring_read(struct io_uring_engine *e, int fd, void *p, size_t len, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_read(sqe, fd, p, (unsigned)len, 0);
    io_uring_sqe_set_data64(sqe, tag);
}

void uring_recv(struct io_uring_engine *e, int fd, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_recv(sqe, fd, NULL, e->buf_size, 0);
    /* A receive is armed once the other side was sent what it answers (a query, a result, a
     * greeting): nothing is there yet, and a first attempt would only fail with EAGAIN. Arm
     * the poll first (kernel 5.19, as the provided-buffer ring). */
    sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, tag);
}

void uring_send(struct io_uring_engine *e, int fd, const void *p, size_t len, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_send(sqe, fd, p, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag);
}

void uring_send_then_recv(struct io_uring_engine *e, int fd, const void *p, size_t len,
                          uint64_t send_tag, uint64_t recv_tag)
{
    if (io_uring_sq_space_left(&e->ring) < 2)
        io_uring_submit(&e->ring); /* a link must not be split across two submissions */
    struct io_uring_sqe *sqe = sqe_get(e);
    /* MSG_WAITALL: a short send is retried by the kernel, and one that cannot finish fails
     * (a success with fewer bytes would complete silently). */
    io_uring_prep_send(sqe, fd, p, len, MSG_NOSIGNAL | MSG_WAITALL);
    sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, send_tag);
    uring_recv(e, fd, recv_tag);
}

void uring_watch_hup(struct io_uring_engine *e, int fd, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_poll_add(sqe, fd, POLLRDHUP);
    io_uring_sqe_set_data64(sqe, tag);
}

static void set_timespec(struct __kernel_timespec *ts, uint64_t ms)
{
    ts->tv_sec = (long long)(ms / 1000);
    ts->tv_nsec = (long long)(ms % 1000) * 1000000;
}

void uring_timeout(struct io_uring_engine *e, struct __kernel_timespec *ts, uint64_t ms,
                   uint64_t tag)
{
    set_timespec(ts, ms);
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_timeout(sqe, ts, 0, 0);
    io_uring_sqe_set_data64(sqe, tag);
}

void uring_timeout_update(struct io_uring_engine *e, struct __kernel_timespec *ts, uint64_t ms,
                          uint64_t target, uint64_t own)
{
    set_timespec(ts, ms);
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_timeout_update(sqe, ts, target, 0);
    io_uring_sqe_set_data64(sqe, own);
}

void uring_cancel(struct io_uring_engine *e, uint64_t target, uint64_t own)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_cancel64(sqe, target, 0);
    io_uring_sqe_set_data64(sqe, own);
}

uint8_t *uring_buf(struct io_uring_engine *e, uint16_t bid)
{
    return e->bufs + (size_t)bid * e->buf_size;
}

void uring_buf_put(struct io_uring_engine *e, uint16_t bid)
{
    io_uring_buf_ring_add(e->br, uring_buf(e, bid), (unsigned)e->buf_size, bid,
                          io_uring_buf_ring_mask(e->nbufs), 0);
    io_uring_buf_ring_advance(e->br, 1);
}

int uring_wait(struct io_uring_engine *e, const struct io_handler *h)
{
    int rc = io_uring_submit_and_wait(&e->ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    h->submitted(h->ctx);
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&e->ring, head, cqe)
    {
        h->complete(h->ctx, io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags);
        n++;
    }
    io_uring_cq_advance(&e->ring, n);
    return 0;
}

void uring_nop(struct io_uring_engine *e, uint64_t tag)
{
    struct io_uring_sqe *sqe = sqe_get(e);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, tag);
}
