/* tls: TLS and the compressed protocol on a descriptor, over either engine, below everything
 * that reads and writes it.
 *
 * A descriptor with a TLS session (io_tls_attach) keeps the io.h contract: a receive completes
 * with plaintext in a buffer (IO_F_BUFFER, an id past the engine's own), a send once all of its
 * ciphertext is out. OpenSSL works on memory BIOs: what the engine receives is written into the
 * session's read BIO (the engine's buffer goes straight back), SSL_read decrypts into one of
 * TLS's own plaintext buffers, and what SSL_write produces leaves through the engine's sends.
 * The handshake runs inside the first receive, which completes with the first plaintext.
 *
 * Each connection's engine operations carry its address with IO_TLS_TAG and a kind; a
 * connection is freed once none is in flight (a send holds its ciphertext buffer). Work that
 * must not complete inside the call that asked for it (a receive whose plaintext is already
 * decrypted, a failure already known) goes through an engine no-op tagged T_PUMP.
 *
 * The compressed protocol (io_compress_attach, a client's CLIENT_COMPRESS) sits above TLS, or
 * alone: then the memory BIOs carry the socket's bytes as they are, without an SSL. What
 * arrives is decoded a compressed packet at a time (protocol/compress.h) into the receive's
 * plaintext; each send becomes compressed packets before TLS or the socket. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/io_int.h"
#include "protocol/compress.h"

enum tls_op { T_RECV = 1, T_SEND, T_CANCEL, T_PUMP };
enum {
    TLS_OUT_KEEP = 16 * 1024, /* ciphertext buffer kept between sends */
    Z_READ_STEP = 16 * 1024,  /* compressed bytes read from below at a time */
    Z_KEEP = 64 * 1024,       /* a decoded packet's buffer kept once delivered */
};
#define T_MASK UINT64_C(0xf)

/* The compressed protocol on a connection: compressed bytes not decoded yet, the plain bytes
 * of the packet being delivered, and the sequence id of the next packet sent (the one after the
 * last received: a client starts each command at 0). */
struct zstate {
    uint8_t *in, *plain, *enc;
    size_t in_len, in_cap, plain_off, plain_len, plain_cap, enc_cap;
    uint8_t seq;
};

struct tls_conn {
    struct tls_conn *prev, *next; /* every connection, live or dead (tls_state.all) */
    struct tls_state *t;
    int fd;
    SSL *ssl;         /* NULL: the compressed protocol alone */
    struct zstate *z; /* NULL: no compression */
    BIO *rbio, *wbio; /* memory BIOs, owned by ssl */
    bool handshake_done;
    bool eof;    /* the peer closed its side of the socket */
    bool failed; /* TLS or the socket failed: every operation completes with err */
    int err;
    bool dead; /* forgotten: freed once nothing is in flight */
    /* The caller's receive, and its cancellation. */
    bool recv_want, recv_cancel;
    uint64_t recv_tag;
    /* The caller's send (its plaintext length once all of its ciphertext is out), or a send
     * with a receive behind it (one completion: the receive's). */
    bool send_want, then_recv, linked_cancel;
    uint64_t send_tag, linked_tag, send_mark;
    int send_len;
    /* Engine operations in flight. */
    bool eng_recv, eng_send, pump_queued;
    unsigned eng_inflight;
    /* Ciphertext on its way out: out[out_off, out_len) is being sent; what SSL writes meanwhile
     * waits in wbio (out must not move under an engine send). */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    uint64_t sent_total;
    char why[200];
};

struct tls_state {
    struct tls_conn *all;
    struct tls_conn **by_fd;
    size_t nfds;
    uint8_t **bufs; /* plaintext buffers, id = index + io->nbufs */
    uint32_t nbufs, cap;
    uint32_t *free_ids;
    uint32_t nfree;
};

static uint64_t ttag(const struct tls_conn *c, enum tls_op op)
{
    return IO_TLS_TAG | (uint64_t)(uintptr_t)c | (uint64_t)op;
}

struct tls_conn *tls_conn_of(const struct io *io, int fd)
{
    const struct tls_state *t = io->tls;
    if (!t || fd < 0 || (size_t)fd >= t->nfds)
        return NULL;
    return t->by_fd[fd];
}

/* ---------- plaintext buffers ---------- */

static int buf_take(struct io *io)
{
    struct tls_state *t = io->tls;
    if (t->nfree)
        return (int)t->free_ids[--t->nfree];
    if (t->nbufs == t->cap)
        return -1;
    uint8_t *p = malloc(io->buf_size);
    uint8_t **bufs = realloc(t->bufs, (t->nbufs + 1) * sizeof *bufs);
    uint32_t *ids = bufs ? realloc(t->free_ids, (t->nbufs + 1) * sizeof *ids) : NULL;
    if (bufs)
        t->bufs = bufs;
    if (ids)
        t->free_ids = ids;
    if (!p || !bufs || !ids) {
        free(p);
        return -1;
    }
    t->bufs[t->nbufs] = p;
    return (int)t->nbufs++;
}

uint8_t *tls_buf(struct io *io, uint16_t bid)
{
    return io->tls->bufs[bid - io->nbufs];
}

void tls_buf_put(struct io *io, uint16_t bid)
{
    struct tls_state *t = io->tls;
    t->free_ids[t->nfree++] = bid - io->nbufs;
}

bool tls_buf_available(const struct io *io)
{
    return io->tls->nfree > 0 || io->tls->nbufs < io->tls->cap;
}

/* ---------- the caller's completions ---------- */

static void deliver(struct io *io, uint64_t tag, int res, unsigned flags)
{
    io->h->complete(io->h->ctx, tag, res, flags);
}

static void deliver_recv(struct io *io, struct tls_conn *c, int res, unsigned flags)
{
    c->recv_want = c->recv_cancel = false;
    deliver(io, c->recv_tag, res, flags);
}

/* The send is out (res: its length) or failed: its completion, or the linked receive. */
static void deliver_send(struct io *io, struct tls_conn *c, int res);

static void ssl_why(struct tls_conn *c, const char *step, int ssl_err)
{
    unsigned long e = ERR_peek_last_error();
    char text[160] = "";
    if (e)
        ERR_error_string_n(e, text, sizeof text);
    else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
        snprintf(text, sizeof text, "the peer closed the connection");
    else
        snprintf(text, sizeof text, "SSL error %d", ssl_err);
    snprintf(c->why, sizeof c->why, "%s: %s", step, text);
    ERR_clear_error();
}

static void fail(struct io *io, struct tls_conn *c, int err)
{
    c->failed = true;
    c->err = err;
    if (c->recv_want)
        deliver_recv(io, c, err, 0);
    if (c->send_want)
        deliver_send(io, c, err);
}

/* ---------- engine operations ---------- */

static void arm_recv(struct io *io, struct tls_conn *c)
{
    if (c->eng_recv)
        return;
    c->eng_recv = true;
    c->eng_inflight++;
    eng_recv(io, c->fd, ttag(c, T_RECV));
}

static void queue_pump(struct io *io, struct tls_conn *c)
{
    if (c->pump_queued)
        return;
    c->pump_queued = true;
    c->eng_inflight++;
    eng_nop(io, ttag(c, T_PUMP));
}

/* Moves what SSL wrote into out (when no send holds out) and sends it. */
static void flush(struct io *io, struct tls_conn *c)
{
    if (c->eng_send || c->dead)
        return;
    size_t pending = BIO_ctrl_pending(c->wbio);
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        /* A large result's ciphertext buffer is not kept by an idle session. */
        if (!pending && c->out_cap > TLS_OUT_KEEP) {
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
    }
    if (pending) {
        if (c->out_len + pending > c->out_cap) {
            size_t cap = c->out_len + pending;
            uint8_t *p = realloc(c->out, cap);
            if (!p) {
                snprintf(c->why, sizeof c->why, "out of memory for TLS output");
                c->failed = true;
                c->err = -ENOMEM;
                queue_pump(io, c); /* flush may run inside a caller's submission */
                return;
            }
            c->out = p;
            c->out_cap = cap;
        }
        int n = BIO_read(c->wbio, c->out + c->out_len, (int)pending);
        if (n > 0)
            c->out_len += (size_t)n;
    }
    if (c->out_off == c->out_len)
        return;
    c->eng_send = true;
    c->eng_inflight++;
    eng_send(io, c->fd, c->out + c->out_off, c->out_len - c->out_off, ttag(c, T_SEND));
}

static void deliver_send(struct io *io, struct tls_conn *c, int res)
{
    c->send_want = false;
    if (!c->then_recv) {
        deliver(io, c->send_tag, res, 0);
        return;
    }
    c->then_recv = false;
    if (res < 0) {
        deliver(io, c->send_tag, res, 0);
    } else if (c->linked_cancel) {
        c->linked_cancel = false;
        deliver(io, c->linked_tag, -ECANCELED, 0);
    } else {
        c->recv_want = true;
        c->recv_tag = c->linked_tag;
        queue_pump(io, c);
    }
}

/* ---------- the state machine ---------- */

enum { Z_BAD = -1 }; /* z_read's error: a compressed packet that does not decode */

/* The bytes below the compression: decrypted, or as they came. > 0, or <= 0 with *err
 * (SSL_ERROR_WANT_READ: nothing there yet). */
static int lower_read(struct tls_conn *c, uint8_t *p, size_t cap, int *err)
{
    if (c->ssl) {
        int n = SSL_read(c->ssl, p, (int)cap);
        if (n <= 0)
            *err = SSL_get_error(c->ssl, n);
        return n;
    }
    int n = BIO_read(c->rbio, p, (int)cap);
    if (n <= 0)
        *err = SSL_ERROR_WANT_READ;
    return n;
}

static bool grow(uint8_t **p, size_t *cap, size_t need)
{
    if (*cap >= need)
        return true;
    uint8_t *q = realloc(*p, need);
    if (!q)
        return false;
    *p = q;
    *cap = need;
    return true;
}

/* Plain bytes of the compressed stream: from the packet being delivered, else the next one
 * decoded (more read from below while it is not all there). As lower_read; *err Z_BAD when a
 * packet does not decode (c->why says why). */
static int z_read(struct tls_conn *c, uint8_t *p, size_t cap, int *err)
{
    struct zstate *z = c->z;
    for (;;) {
        if (z->plain_off < z->plain_len) {
            size_t n = z->plain_len - z->plain_off < cap ? z->plain_len - z->plain_off : cap;
            memcpy(p, z->plain + z->plain_off, n);
            z->plain_off += n;
            return (int)n;
        }
        size_t plain, span;
        int whole = proto_zpacket_peek(z->in, z->in_len, &plain, &span);
        if (whole == 1) {
            uint8_t seq;
            if (!grow(&z->plain, &z->plain_cap, plain ? plain : 1) ||
                proto_zpacket_decode(z->in, span, z->plain, plain, &seq) != (ssize_t)plain) {
                snprintf(c->why, sizeof c->why, "a compressed packet that does not decode");
                *err = Z_BAD;
                return -1;
            }
            memmove(z->in, z->in + span, z->in_len - span);
            z->in_len -= span;
            z->plain_off = 0;
            z->plain_len = plain;
            z->seq = (uint8_t)(seq + 1);
            continue;
        }
        if (whole < 0 || !grow(&z->in, &z->in_cap, z->in_len + Z_READ_STEP)) {
            snprintf(c->why, sizeof c->why, "%s",
                     whole < 0 ? "an impossible compressed packet header" : "out of memory");
            *err = Z_BAD;
            return -1;
        }
        int n = lower_read(c, z->in + z->in_len, z->in_cap - z->in_len, err);
        if (n <= 0)
            return n;
        z->in_len += (size_t)n;
    }
}

/* A delivered packet's large buffer is not kept by an idle session. */
static void z_trim(struct zstate *z)
{
    if (z->plain_off == z->plain_len && z->plain_cap > Z_KEEP) {
        free(z->plain);
        z->plain = NULL;
        z->plain_cap = z->plain_off = z->plain_len = 0;
    }
}

/* Decrypts (and decodes) what is there into a plaintext buffer for the waiting receive. */
static void read_some(struct io *io, struct tls_conn *c)
{
    int id = buf_take(io);
    if (id < 0) {
        deliver_recv(io, c, -ENOBUFS, 0);
        return;
    }
    uint8_t *p = io->tls->bufs[id];
    size_t total = 0;
    int err = SSL_ERROR_NONE;
    while (total < io->buf_size) {
        size_t cap = io->buf_size - total;
        int n = c->z ? z_read(c, p + total, cap, &err) : lower_read(c, p + total, cap, &err);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    if (c->z)
        z_trim(c->z);
    flush(io, c); /* a key update or an alert SSL answered */
    if (total > 0) {
        uint16_t bid = (uint16_t)(io->nbufs + (uint32_t)id);
        deliver_recv(io, c, (int)total, IO_F_BUFFER | ((unsigned)bid << IO_BUF_SHIFT));
        return;
    }
    tls_buf_put(io, (uint16_t)(io->nbufs + (uint32_t)id));
    if (err == SSL_ERROR_ZERO_RETURN) {
        deliver_recv(io, c, 0, 0); /* close_notify: as a peer's orderly close */
    } else if (err == SSL_ERROR_WANT_READ) {
        if (c->eof)
            deliver_recv(io, c, 0, 0);
        else
            arm_recv(io, c);
    } else if (err == Z_BAD) {
        fail(io, c, -EPROTO);
    } else {
        ssl_why(c, "TLS read", err);
        fail(io, c, -EPROTO);
    }
}

/* Moves c on as far as it can: the handshake, then plaintext for the waiting receive. */
static void pump(struct io *io, struct tls_conn *c)
{
    if (c->failed) {
        fail(io, c, c->err);
        return;
    }
    if (c->recv_cancel) {
        deliver_recv(io, c, -ECANCELED, 0);
        return;
    }
    if (!c->recv_want)
        return;
    if (!c->handshake_done) { /* c->ssl: a connection without one starts done */
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        flush(io, c);
        if (r == 1) {
            c->handshake_done = true;
        } else if (err == SSL_ERROR_WANT_READ && !c->eof) {
            arm_recv(io, c);
            return;
        } else {
            ssl_why(c, "TLS handshake", err);
            fail(io, c, -EPROTO);
            return;
        }
    }
    read_some(io, c);
}

static void conn_free(struct tls_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->t->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->ssl) {
        SSL_free(c->ssl); /* the BIOs with it */
    } else {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
    }
    if (c->z) {
        free(c->z->in);
        free(c->z->plain);
        free(c->z->enc);
        free(c->z);
    }
    free(c->out);
    free(c);
}

/* A dead connection's operation ended: the caller's pending ones end with it. */
static void dead_done(struct io *io, struct tls_conn *c)
{
    if (c->recv_want)
        deliver_recv(io, c, -ECANCELED, 0);
    if (c->send_want)
        deliver_send(io, c, -ECANCELED);
    if (c->eng_inflight == 0)
        conn_free(c);
}

void tls_complete(struct io *io, uint64_t tag, int res, unsigned flags)
{
    struct tls_conn *c = (struct tls_conn *)(uintptr_t)(tag & ~(IO_TLS_TAG | T_MASK));
    enum tls_op op = (enum tls_op)(tag & T_MASK);
    c->eng_inflight--;
    switch (op) {
    case T_RECV:
        c->eng_recv = false;
        if (flags & IO_F_BUFFER) {
            uint16_t bid = (uint16_t)(flags >> IO_BUF_SHIFT);
            if (res > 0 && !c->dead)
                BIO_write(c->rbio, eng_buf(io, bid), res);
            eng_buf_put(io, bid);
        }
        if (c->dead)
            break;
        if (res == 0) {
            c->eof = true;
        } else if (res == -ENOBUFS && c->recv_want && !c->recv_cancel) {
            deliver_recv(io, c, -ENOBUFS, 0);
            return;
        } else if (res < 0 && res != -ECANCELED) {
            snprintf(c->why, sizeof c->why, "receive: %s", strerror(-res));
            fail(io, c, res);
            return;
        }
        pump(io, c);
        return;
    case T_SEND:
        c->eng_send = false;
        if (c->dead)
            break;
        if (res < 0) {
            snprintf(c->why, sizeof c->why, "send: %s", strerror(-res));
            fail(io, c, res);
            return;
        }
        c->out_off += (size_t)res;
        c->sent_total += (uint64_t)res;
        if (c->send_want && c->sent_total >= c->send_mark)
            deliver_send(io, c, c->send_len);
        flush(io, c);
        return;
    case T_PUMP:
        c->pump_queued = false;
        if (c->dead)
            break;
        pump(io, c);
        return;
    case T_CANCEL:
        break;
    }
    if (c->dead)
        dead_done(io, c);
}

/* ---------- what io.c routes here ---------- */

void tls_recv(struct io *io, struct tls_conn *c, uint64_t tag)
{
    c->recv_want = true;
    c->recv_cancel = false;
    c->recv_tag = tag;
    /* Plaintext, ciphertext or an end may already be here: decided on the next turn. */
    if (c->failed || c->eof || (c->ssl && SSL_has_pending(c->ssl)) ||
        BIO_ctrl_pending(c->rbio) > 0 ||
        (c->z && (c->z->plain_off < c->z->plain_len || c->z->in_len > 0)))
        queue_pump(io, c);
    else
        arm_recv(io, c);
}

/* Bytes to send below the compression: encrypted, or as they are; false (c->why) on failure. */
static bool lower_write(struct tls_conn *c, const void *p, size_t len)
{
    if (!c->ssl)
        return len == 0 || BIO_write(c->wbio, p, (int)len) == (int)len;
    ERR_clear_error();
    int n = len ? SSL_write(c->ssl, p, (int)len) : 1;
    if (n <= 0)
        ssl_why(c, "TLS write", SSL_get_error(c->ssl, n));
    return n > 0;
}

/* A send as compressed packets (each at most PROTO_ZMAX_PAYLOAD plain bytes). */
static bool z_write(struct tls_conn *c, const uint8_t *p, size_t len)
{
    struct zstate *z = c->z;
    do {
        size_t n = len < PROTO_ZMAX_PAYLOAD ? len : PROTO_ZMAX_PAYLOAD;
        if (!grow(&z->enc, &z->enc_cap, proto_zpacket_bound(n))) {
            snprintf(c->why, sizeof c->why, "out of memory for a compressed packet");
            return false;
        }
        size_t out = proto_zpacket_encode(p, n, z->seq++, z->enc);
        if (!lower_write(c, z->enc, out))
            return false;
        p += n;
        len -= n;
    } while (len > 0);
    if (z->enc_cap > Z_KEEP) {
        free(z->enc);
        z->enc = NULL;
        z->enc_cap = 0;
    }
    return true;
}

void tls_send(struct io *io, struct tls_conn *c, const void *p, size_t len, uint64_t send_tag,
              uint64_t recv_tag, bool then_recv)
{
    if (c->send_want) {
        /* One send at a time per descriptor, as sessions send: a second is a bug. It ends
         * with nothing sent, and the connection fails (its retry, and the first, with -EIO). */
        snprintf(c->why, sizeof c->why, "a second send while one is under way");
        c->failed = true;
        c->err = -EIO;
        eng_nop(io, send_tag);
        queue_pump(io, c);
        return;
    }
    c->send_want = true;
    c->send_tag = send_tag;
    c->then_recv = then_recv;
    c->linked_cancel = false;
    c->linked_tag = recv_tag;
    c->send_len = (int)len;
    if (!c->failed && !(c->z ? z_write(c, p, len) : lower_write(c, p, len))) {
        c->failed = true;
        c->err = -EPROTO;
    }
    /* Done once everything written so far is out: BIO_number_written counts what SSL put in
     * wbio since the start, as sent_total counts what left. */
    c->send_mark = BIO_number_written(c->wbio);
    if (c->failed || c->sent_total >= c->send_mark)
        queue_pump(io, c);
    else
        flush(io, c);
}

bool tls_cancel(struct io *io, struct tls_conn *c, uint64_t target, uint64_t own)
{
    if (c->recv_want && target == c->recv_tag) {
        c->recv_cancel = true;
        if (c->eng_recv)
            eng_cancel(io, ttag(c, T_RECV), own);
        else
            eng_nop(io, own); /* a pump is queued: it ends the receive */
        return true;
    }
    if (c->send_want && c->then_recv && target == c->linked_tag) {
        c->linked_cancel = true;
        eng_nop(io, own);
        return true;
    }
    return false;
}

void tls_forget(struct io *io, struct tls_conn *c)
{
    io->tls->by_fd[c->fd] = NULL;
    c->dead = true;
    if (c->eng_recv) {
        c->eng_inflight++;
        eng_cancel(io, ttag(c, T_RECV), ttag(c, T_CANCEL));
    }
    if (c->eng_send) {
        c->eng_inflight++;
        eng_cancel(io, ttag(c, T_SEND), ttag(c, T_CANCEL));
    }
    /* The caller's pending operations end with -ECANCELED on the next turn, and c is freed
     * once its last engine operation is back: never here, where a completion being delivered
     * may still hold it. */
    if (c->recv_want || c->send_want || c->eng_inflight == 0)
        queue_pump(io, c);
}

void tls_free_all(struct io *io)
{
    struct tls_state *t = io->tls;
    if (!t)
        return;
    while (t->all)
        conn_free(t->all);
    for (uint32_t i = 0; i < t->nbufs; i++)
        free(t->bufs[i]);
    free(t->bufs);
    free(t->free_ids);
    free(t->by_fd);
    free(t);
    io->tls = NULL;
}

/* ---------- io.h ---------- */

/* A connection for fd with its memory BIOs (ssl NULL: the socket's bytes as they are). */
static int conn_new(struct io *io, int fd, struct tls_conn **out)
{
    if (fd < 0)
        return -EBADF;
    if (!io->tls) {
        io->tls = calloc(1, sizeof *io->tls);
        if (!io->tls)
            return -ENOMEM;
        io->tls->cap = 65536u - io->nbufs;
    }
    struct tls_state *t = io->tls;
    if ((size_t)fd >= t->nfds) {
        size_t n = (size_t)fd * 2 + 64;
        struct tls_conn **p = realloc(t->by_fd, n * sizeof *p);
        if (!p)
            return -ENOMEM;
        memset(p + t->nfds, 0, (n - t->nfds) * sizeof *p);
        t->by_fd = p;
        t->nfds = n;
    }
    if (t->by_fd[fd])
        return -EEXIST;
    struct tls_conn *c = aligned_alloc(16, (sizeof *c + 15) / 16 * 16);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    if (!c || !rbio || !wbio) {
        free(c);
        BIO_free(rbio);
        BIO_free(wbio);
        return -ENOMEM;
    }
    memset(c, 0, sizeof *c);
    c->t = t;
    c->next = t->all;
    if (t->all)
        t->all->prev = c;
    t->all = c;
    c->fd = fd;
    c->rbio = rbio;
    c->wbio = wbio;
    /* An empty read BIO says "retry", not end of file. */
    BIO_set_mem_eof_return(rbio, -1);
    c->handshake_done = true;
    t->by_fd[fd] = c;
    *out = c;
    return 0;
}

int io_tls_attach(struct io *io, int fd, struct ssl_st *ssl, const uint8_t *pre, size_t pre_len)
{
    struct tls_conn *c;
    int rc = conn_new(io, fd, &c);
    if (rc < 0)
        return rc;
    c->ssl = ssl;
    SSL_set_bio(ssl, c->rbio, c->wbio);
    SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    c->handshake_done = SSL_is_init_finished(ssl);
    if (pre_len)
        BIO_write(c->rbio, pre, (int)pre_len);
    return 0;
}

int io_compress_attach(struct io *io, int fd, const uint8_t *pre, size_t pre_len)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (c && c->z)
        return -EEXIST;
    struct zstate *z = calloc(1, sizeof *z);
    if (!z || (pre_len && !grow(&z->in, &z->in_cap, pre_len))) {
        free(z);
        return -ENOMEM;
    }
    int rc = c ? 0 : conn_new(io, fd, &c);
    if (rc < 0) {
        free(z->in);
        free(z);
        return rc;
    }
    if (pre_len)
        memcpy(z->in, pre, pre_len);
    z->in_len = pre_len;
    c->z = z;
    return 0;
}

const char *io_tls_error(const struct io *io, int fd)
{
    const struct tls_conn *c = tls_conn_of(io, fd);
    return c && c->why[0] ? c->why : NULL;
}

bool io_tls_on(const struct io *io, int fd)
{
    return tls_conn_of(io, fd) != NULL;
}

struct ssl_st *io_tls_detach(struct io *io, int fd)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (!c || !c->ssl || c->z || c->eng_inflight || c->recv_want || c->send_want || c->failed ||
        BIO_ctrl_pending(c->rbio) || c->out_len > c->out_off)
        return NULL;
    SSL *ssl = c->ssl;
    c->ssl = NULL;
    c->rbio = c->wbio = NULL; /* ssl's: they go with SSL_set_fd below */
    io->tls->by_fd[fd] = NULL;
    conn_free(c);
    if (!SSL_set_fd(ssl, fd)) { /* the memory BIOs go; the socket's comes back */
        SSL_free(ssl);
        ssl = NULL;
    }
    return ssl;
}
