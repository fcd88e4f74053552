/* SPDX-License-Identifier: Apache-2.0 */
/* unix_msg.c: AF_UNIX data: stream bytes and datagram/seqpacket messages with credentials and passed files, bounded by SO_SNDBUF, as Linux's af_unix.c. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>
#include "unix_internal.h"

#define SKB_CHUNK_MAX 65536u /* the largest stream buffer (Linux: SKB_MAX_HEAD + frags) */

/* A position in a message's iovec. */
struct cursor {
    const struct kmsg *m;
    u32 i;
    u64 off;
};

static u64 iov_total(const struct kmsg *m)
{
    u64 t = 0;
    for (u32 i = 0; i < m->iovlen; i++)
        t += m->iov[i].len;
    return t;
}

/* Move n bytes between buf and the iovec at c (to_iov: into the caller's buffers).
 * The bytes moved before a fault, or -EFAULT when none. */
static long iov_move(struct cursor *c, u8 *buf, u64 n, bool to_iov)
{
    u64 done = 0;
    while (done < n && c->i < c->m->iovlen) {
        const struct kiovec *v = &c->m->iov[c->i];
        u64 k = MIN(v->len - c->off, n - done);
        if (k) {
            void *ua = (void *)(v->base + c->off);
            long r = to_iov ? uaccess_copy(ua, buf + done, k) : uaccess_copy(buf + done, ua, k);
            if (r < 0)
                return done ? (long)done : -EFAULT;
            done += k;
            c->off += k;
        }
        if (c->off == v->len) {
            c->i++;
            c->off = 0;
        }
    }
    return (long)done;
}

void unix_skb_free(struct unix_skb *skb)
{
    for (int i = 0; i < skb->nfp; i++)
        file_put(skb->fp[i]);
    kfree(skb->fp);
    struct unix_sock *snd = skb->sender;
    snd->wmem -= skb->charge;
    unix_wake(snd); /* a writer waiting for buffer room */
    unix_put(snd);
    kfree(skb);
}

static struct unix_skb *skb_new(struct unix_sock *from, u32 len, const struct scm *scm)
{
    struct unix_skb *skb = kzalloc(sizeof(*skb) + len);
    if (!skb)
        return NULL;
    skb->len = len;
    skb->pid = scm->pid;
    skb->uid = scm->uid;
    skb->gid = scm->gid;
    skb->sender = from;
    unix_get(from);
    skb->charge = len + SKB_OVERHEAD;
    from->wmem += skb->charge;
    return skb;
}

/* The passed files go with this buffer (the first of a stream send). */
static long skb_take_fds(struct unix_skb *skb, struct scm *scm)
{
    if (!scm->nfp)
        return 0;
    skb->fp = kmalloc((size_t)scm->nfp * sizeof(struct file *));
    if (!skb->fp)
        return -ENOMEM;
    memcpy(skb->fp, scm->fp, (size_t)scm->nfp * sizeof(struct file *));
    skb->nfp = scm->nfp;
    scm->nfp = 0;
    return 0;
}

static void queue_skb(struct unix_sock *to, struct unix_skb *skb)
{
    if (to->rq_tail)
        to->rq_tail->next = skb;
    else
        to->rq_head = skb;
    to->rq_tail = skb;
    to->rq_count++;
    to->rq_bytes += skb->len - skb->off;
    unix_wake(to);
}

static struct unix_skb *dequeue(struct unix_sock *u)
{
    struct unix_skb *skb = u->rq_head;
    u->rq_head = skb->next;
    if (!u->rq_head)
        u->rq_tail = NULL;
    u->rq_count--;
    u->rq_bytes -= skb->len - skb->off;
    skb->next = NULL;
    return skb;
}

/* Linux's sock_alloc_send_pskb wait: until our buffers in flight are below SO_SNDBUF. */
static long wait_sndbuf(struct socket *s, struct unix_sock *u, int flags, u64 deadline)
{
    for (;;) {
        if (s->so_error)
            return -sock_take_error(s);
        if (u->shutdown & SEND_SHUTDOWN)
            return -EPIPE;
        if (u->wmem < s->sndbuf)
            return 0;
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = sock_wait(&u->wq, deadline);
        if (r < 0)
            return r;
    }
}

static long stream_send(struct socket *s, struct unix_sock *u, struct kmsg *m, int flags, struct scm *scm)
{
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (m->namelen)
        return u->state == US_CONNECTED ? -EISCONN : -EOPNOTSUPP;
    struct unix_sock *other = u->peer;
    if (!other)
        return -ENOTCONN;
    if (u->shutdown & SEND_SHUTDOWN)
        return -EPIPE;
    u64 total = iov_total(m), sent = 0;
    u64 deadline = sock_deadline(s->sndtimeo_ns);
    struct cursor c = {m, 0, 0};
    long err = 0;
    bool fds_sent = false;
    while (sent < total) {
        u32 size = (u32)MIN(total - sent, (u64)MIN(s->sndbuf / 2 - 64, SKB_CHUNK_MAX));
        err = wait_sndbuf(s, u, flags, deadline);
        if (err < 0)
            break;
        other = u->peer;
        struct unix_skb *skb = skb_new(u, size, scm);
        if (!skb) {
            err = -ENOBUFS;
            break;
        }
        if (!fds_sent && (err = skb_take_fds(skb, scm)) < 0) {
            unix_skb_free(skb);
            break;
        }
        fds_sent = true;
        long n = iov_move(&c, skb->data, size, false);
        if (n != (long)size) {
            unix_skb_free(skb);
            err = -EFAULT;
            break;
        }
        if (!other || other->dead || (other->shutdown & RCV_SHUTDOWN)) {
            unix_skb_free(skb);
            err = -EPIPE;
            break;
        }
        queue_skb(other, skb);
        sent += size;
    }
    return sent ? (long)sent : err;
}

static long dgram_send(struct socket *s, struct unix_sock *u, struct kmsg *m, int flags, struct scm *scm)
{
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (u->type == SOCK_SEQPACKET) {
        if (s->so_error)
            return -sock_take_error(s);
        if (u->state != US_CONNECTED)
            return -ENOTCONN;
        m->namelen = 0;
    }
    struct unix_sock *other = NULL;
    long r;
    if (m->namelen) {
        if ((r = unix_validate_addr(m->name, m->namelen)) < 0)
            return r;
    } else {
        if (!u->peer)
            return -ENOTCONN;
        other = u->peer;
        unix_get(other);
    }
    if (s->passcred && !u->addrlen && (r = unix_autobind(u)) < 0)
        goto out;
    u64 len = iov_total(m);
    r = -EMSGSIZE;
    if (len > s->sndbuf - 32)
        goto out;
    u64 deadline = sock_deadline(s->sndtimeo_ns);
    if ((r = wait_sndbuf(s, u, flags, deadline)) < 0)
        goto out;
    struct unix_skb *skb = skb_new(u, (u32)len, scm);
    r = -ENOBUFS;
    if (!skb)
        goto out;
    struct cursor c = {m, 0, 0};
    if ((r = skb_take_fds(skb, scm)) < 0 || (len && iov_move(&c, skb->data, len, false) != (long)len)) {
        r = r < 0 ? r : -EFAULT;
        unix_skb_free(skb);
        goto out;
    }
    for (;;) {
        if (!other) {
            r = -ECONNRESET;
            if (!m->namelen)
                break;
            if ((r = unix_find_other(m->name, m->namelen, u->type, &other)) < 0)
                break;
        }
        r = -EPERM;
        if (other->peer && other->peer != u) /* unix_may_send: it talks to someone else */
            break;
        if (other->dead) {
            if (u->type == SOCK_SEQPACKET) {
                r = -EPIPE;
                break;
            }
            r = 0;
            if (u->peer == other) {
                u->peer = NULL;
                unix_put(other); /* the connection's reference */
                r = -ECONNREFUSED;
            }
            unix_put(other);
            other = NULL;
            if (r < 0)
                break;
            continue;
        }
        r = -EPIPE;
        if (other->shutdown & RCV_SHUTDOWN)
            break;
        if (other != u && other->peer != u && other->rq_count > UNIX_DGRAM_QLEN) {
            r = (flags & MSG_DONTWAIT) ? -EAGAIN : sock_wait(&other->wq, deadline);
            if (r < 0)
                break;
            continue;
        }
        queue_skb(other, skb);
        skb = NULL;
        r = (long)len;
        break;
    }
    if (skb)
        unix_skb_free(skb);
out:
    unix_put(other);
    return r;
}

long unix_sendmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    struct scm *scm = kmalloc(sizeof(*scm));
    if (!scm)
        return -ENOMEM;
    long r = scm_send(s, m, scm);
    if (r == 0) {
        r = u->type == SOCK_STREAM ? stream_send(s, u, m, flags, scm) : dgram_send(s, u, m, flags, scm);
        scm_destroy(scm); /* files not handed to a buffer */
    }
    kfree(scm);
    return r;
}

/* The sender's name into m (only when it is bound: Linux's unix_copy_addr). */
static void sender_name(struct kmsg *m, const struct unix_skb *skb)
{
    if (m->name && skb->sender->addrlen)
        m->namelen = unix_copy_name(skb->sender, m->name);
}

/* The files a buffer carries, for the receiver (peek: new references, the buffer keeps its own). */
static void take_fds(struct scm *scm, struct unix_skb *skb, bool peek)
{
    for (int i = 0; i < skb->nfp && scm->nfp < SCM_MAX_FD; i++) {
        if (peek)
            skb->fp[i]->refs++;
        scm->fp[scm->nfp++] = skb->fp[i];
    }
    if (!peek) {
        kfree(skb->fp);
        skb->fp = NULL;
        skb->nfp = 0;
    }
}

/* Wait for something to read: 0 when there is, else the error to return (0 at EOF: *eof). */
static long wait_data(struct socket *s, struct unix_sock *u, int flags, u64 deadline, bool *eof)
{
    for (;;) {
        if (u->rq_head)
            return 0;
        if (s->so_error)
            return -sock_take_error(s);
        if (u->shutdown & RCV_SHUTDOWN) {
            *eof = true;
            return 0;
        }
        if (u->type == SOCK_SEQPACKET && u->state != US_CONNECTED)
            return -ENOTCONN;
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = sock_wait(&u->wq, deadline);
        if (r < 0)
            return r;
    }
}

static long dgram_recv(struct socket *s, struct unix_sock *u, struct kmsg *m, int flags, struct scm *scm)
{
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    bool eof = false;
    long r = wait_data(s, u, flags, sock_deadline(s->rcvtimeo_ns), &eof);
    if (r < 0 || eof)
        return r;
    bool peek = flags & MSG_PEEK;
    struct unix_skb *skb = peek ? u->rq_head : dequeue(u);
    sender_name(m, skb);
    u64 size = iov_total(m);
    if (size < skb->len)
        m->flags |= MSG_TRUNC;
    u64 n = MIN(size, (u64)skb->len);
    struct cursor c = {m, 0, 0};
    if (n && iov_move(&c, skb->data, n, true) != (long)n) {
        if (!peek)
            unix_skb_free(skb); /* Linux loses the message too */
        return -EFAULT;
    }
    scm->pid = skb->pid;
    scm->uid = skb->uid;
    scm->gid = skb->gid;
    take_fds(scm, skb, peek);
    r = (flags & MSG_TRUNC) ? (long)skb->len : (long)n;
    if (!peek) {
        unix_skb_free(skb);
        unix_wake(u); /* senders waiting for room in our queue */
    }
    scm_recv(s, m, scm, flags);
    return r;
}

static bool same_creds(const struct unix_skb *skb, const struct scm *scm)
{
    return skb->pid == scm->pid && skb->uid == scm->uid && skb->gid == scm->gid;
}

static long stream_recv(struct socket *s, struct unix_sock *u, struct kmsg *m, int flags, struct scm *scm)
{
    if (u->state != US_CONNECTED)
        return -EINVAL;
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    u64 size = iov_total(m);
    u64 target = (flags & MSG_WAITALL) ? size : MIN((u64)s->rcvlowat, size);
    if (!target)
        target = 1;
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    bool peek = flags & MSG_PEEK, check_creds = false, named = false;
    struct cursor c = {m, 0, 0};
    u64 copied = 0;
    long err = 0;
    for (;;) {
        /* The buffer to read next; a peek skips what it has already copied. */
        struct unix_skb *skb = u->rq_head;
        u64 skip = peek ? copied : 0;
        while (skb && skip >= skb->len - skb->off) {
            skip -= skb->len - skb->off;
            skb = skb->next;
        }
        if (!skb) {
            if (copied >= target || (peek && copied))
                break;
            bool eof = false;
            err = wait_data(s, u, flags, deadline, &eof);
            if (err < 0 || eof)
                break;
            continue;
        }
        if (check_creds) {
            if (!same_creds(skb, scm))
                break; /* never glue data of different writers */
        } else if (s->passcred) {
            scm->pid = skb->pid;
            scm->uid = skb->uid;
            scm->gid = skb->gid;
            check_creds = true;
        }
        if (!named) {
            sender_name(m, skb);
            named = true;
        }
        u64 chunk = MIN((u64)(skb->len - skb->off) - skip, size - copied);
        long n = iov_move(&c, skb->data + skb->off + skip, chunk, true);
        if (n < (long)chunk) {
            if (n > 0)
                copied += (u64)n;
            if (!copied)
                err = -EFAULT;
            break;
        }
        copied += chunk;
        if (!peek) {
            skb->off += (u32)chunk;
            u->rq_bytes -= chunk;
            if (skb->nfp)
                take_fds(scm, skb, false);
            if (skb->off < skb->len)
                break; /* the caller's buffer is full */
            dequeue(u);
            unix_skb_free(skb);
            if (scm->nfp)
                break;
        } else {
            if (skb->nfp) {
                take_fds(scm, skb, true);
                break;
            }
        }
        if (copied >= size)
            break;
    }
    if (copied || !err)
        scm_recv(s, m, scm, flags);
    else
        scm_destroy(scm);
    return copied ? (long)copied : err;
}

long unix_recvmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    struct scm *scm = kzalloc(sizeof(*scm));
    if (!scm)
        return -ENOMEM;
    m->namelen = 0;
    long r = u->type == SOCK_STREAM ? stream_recv(s, u, m, flags, scm) : dgram_recv(s, u, m, flags, scm);
    scm_destroy(scm);
    kfree(scm);
    return r;
}
