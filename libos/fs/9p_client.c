/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_client.c: 9P2000.L requests over virtio-9p: Tversion/Tattach and one function per request, Rlerror -> -errno.
 *
 * One request is in flight per session (the transport has one pair of buffers): a
 * caller that finds the session busy sleeps until it is free. The reply is parsed
 * before the session is released. Data for user memory goes through a bounce buffer
 * copied outside the session: a fault on the user buffer may itself need the volume
 * (a mapping of a volume file), and must not find the session held by its own task.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/p9.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/virtio.h>

enum {
    Tlerror = 6, Rlerror, Tstatfs = 8, Rstatfs, Tlopen = 12, Rlopen, Tlcreate = 14, Rlcreate,
    Tsymlink = 16, Rsymlink, Tmknod = 18, Rmknod, Treadlink = 22, Rreadlink, Tgetattr = 24, Rgetattr,
    Tsetattr = 26, Rsetattr, Txattrwalk = 30, Rxattrwalk, Txattrcreate = 32, Rxattrcreate, Treaddir = 40, Rreaddir, Tfsync = 50, Rfsync, Tlink = 70, Rlink,
    Tmkdir = 72, Rmkdir, Trenameat = 74, Rrenameat, Tunlinkat = 76, Runlinkat, Tversion = 100,
    Rversion, Tattach = 104, Rattach, Twalk = 110, Rwalk, Tread = 116, Rread, Twrite = 118, Rwrite,
    Tclunk = 120, Rclunk,
};

#define HDR 7            /* size[4] type[1] tag[2] */
#define IOHDR 24         /* room kept for a Tread/Twrite header, as Linux's P9_IOHDRSZ */
#define TAG 1
#define NOTAG 0xffff
#define GETATTR_BASIC 0x7ffull

static void lock(struct p9_session *s)
{
    s->users++;
    while (s->busy)
        waitq_wait(&s->wq, ~0ul, 0);
    s->busy = true;
}

static void unlock(struct p9_session *s)
{
    s->users--;
    s->busy = false;
    waitq_wake(&s->wq, 1);
}

/* Start a request of type in the transport's buffer (the session is locked). */
static struct p9_buf begin(struct p9_session *s, u8 type)
{
    struct p9_buf b = {.p = virtio_9p_req_buf(s->dev), .cap = s->msize};
    p9_put32(&b, 0); /* size, set by call() */
    p9_put8(&b, type);
    p9_put16(&b, type == Tversion ? NOTAG : TAG);
    return b;
}

/* Send b, wait, and check the reply: rtype, or Rlerror's errno; r reads the body. */
static long call(struct p9_session *s, struct p9_buf *b, u8 rtype, struct p9_buf *r)
{
    if (b->bad)
        return -ENAMETOOLONG; /* only names can overflow a request */
    u32 len = b->len;
    b->len = 0;
    p9_put32(b, len);
    const u8 *rep;
    long n = virtio_9p_rpc(s->dev, len, &rep);
    if (n < 0)
        return n;
    *r = (struct p9_buf){.q = rep, .len = (u32)n};
    u32 size = p9_get32(r);
    u8 type = p9_get8(r);
    p9_get16(r); /* tag: one request in flight */
    if (size < HDR || size > (u32)n)
        return -EIO;
    r->len = size;
    if (type == Rlerror) {
        u32 e = p9_get32(r);
        return r->bad || e == 0 || e > 4095 ? -EIO : -(long)e;
    }
    return type == rtype ? 0 : -EIO;
}

/* The end of a request with no reply body. */
static long simple(struct p9_session *s, struct p9_buf *b, u8 rtype)
{
    struct p9_buf r;
    long e = call(s, b, rtype, &r);
    unlock(s);
    return e;
}

/* A reply whose body is one qid (Rmkdir, Rsymlink, Rmknod). */
static long qid_reply(struct p9_session *s, struct p9_buf *b, u8 rtype, struct p9_qid *qid)
{
    struct p9_buf r;
    long e = call(s, b, rtype, &r);
    if (e == 0) {
        p9_getqid(&r, qid);
        e = r.bad ? -EIO : 0;
    }
    unlock(s);
    return e;
}

u32 p9_iounit(const struct p9_session *s) { return s->msize - IOHDR; }

struct p9_session *p9_session_open(const char *tag, long *err)
{
    struct virtio_9p *dev = virtio_9p_find(tag);
    if (!dev) {
        *err = -ENODEV;
        return NULL;
    }
    struct p9_session *s = kzalloc(sizeof(*s));
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    s->dev = dev;
    s->msize = virtio_9p_msize(dev);
    s->next_fid = 1;
    lock(s);
    struct p9_buf b = begin(s, Tversion), r;
    p9_put32(&b, s->msize);
    p9_putstr(&b, "9P2000.L", 8);
    long e = call(s, &b, Rversion, &r);
    u32 msize = p9_get32(&r);
    u16 vlen;
    const char *v = p9_getstr(&r, &vlen);
    if (e == 0 && (r.bad || vlen != 8 || memcmp(v, "9P2000.L", 8) != 0 || msize < 4096))
        e = -EPROTONOSUPPORT; /* the server speaks another dialect */
    if (e == 0)
        s->msize = MIN(msize, s->msize);
    unlock(s);
    if (e == 0) {
        /* One attach as root: the guest checks permissions itself (docs/volumes.md). */
        s->root_fid = p9_fid_alloc(s);
        lock(s);
        b = begin(s, Tattach);
        p9_put32(&b, s->root_fid);
        p9_put32(&b, P9_NOFID);
        p9_putstr(&b, "root", 4);
        p9_putstr(&b, "", 0);
        p9_put32(&b, 0);
        e = simple(s, &b, Rattach);
    }
    if (e < 0) {
        kfree(s);
        *err = e;
        return NULL;
    }
    return s;
}

long p9_walk(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 *newfid, struct p9_qid *qid)
{
    u32 nf = p9_fid_alloc(s);
    if (nf == P9_NOFID)
        return -ENFILE;
    lock(s);
    struct p9_buf b = begin(s, Twalk), r;
    p9_put32(&b, fid);
    p9_put32(&b, nf);
    p9_put16(&b, name ? 1 : 0);
    if (name)
        p9_putstr(&b, name, namelen);
    long e = call(s, &b, Rwalk, &r);
    if (e == 0) {
        u16 n = p9_get16(&r);
        if (name && n != 1)
            e = -ENOENT; /* a partial walk makes no fid */
        else if (n == 1 && qid)
            p9_getqid(&r, qid);
        if (r.bad)
            e = -EIO;
    }
    unlock(s);
    if (e < 0) {
        p9_fid_free(s, nf);
        return e;
    }
    *newfid = nf;
    return 0;
}

long p9_clone(struct p9_session *s, u32 fid, u32 *newfid) { return p9_walk(s, fid, NULL, 0, newfid, NULL); }

long p9_clunk(struct p9_session *s, u32 fid)
{
    lock(s);
    struct p9_buf b = begin(s, Tclunk);
    p9_put32(&b, fid);
    long e = simple(s, &b, Rclunk);
    p9_fid_free(s, fid); /* the fid is gone even when the server complains (9P: clunk always frees) */
    return e;
}

long p9_getattr(struct p9_session *s, u32 fid, struct p9_attr *a)
{
    lock(s);
    struct p9_buf b = begin(s, Tgetattr), r;
    p9_put32(&b, fid);
    p9_put64(&b, GETATTR_BASIC);
    long e = call(s, &b, Rgetattr, &r);
    if (e == 0) {
        p9_get64(&r); /* valid */
        p9_getqid(&r, &a->qid);
        a->mode = p9_get32(&r);
        a->uid = p9_get32(&r);
        a->gid = p9_get32(&r);
        a->nlink = p9_get64(&r);
        a->rdev = p9_get64(&r);
        a->size = p9_get64(&r);
        a->blksize = p9_get64(&r);
        a->blocks = p9_get64(&r);
        a->atime_sec = (s64)p9_get64(&r);
        a->atime_nsec = (s64)p9_get64(&r);
        a->mtime_sec = (s64)p9_get64(&r);
        a->mtime_nsec = (s64)p9_get64(&r);
        a->ctime_sec = (s64)p9_get64(&r);
        a->ctime_nsec = (s64)p9_get64(&r);
        e = r.bad ? -EIO : 0;
    }
    unlock(s);
    return e;
}

long p9_setattr(struct p9_session *s, u32 fid, const struct p9_setattr *a)
{
    lock(s);
    struct p9_buf b = begin(s, Tsetattr);
    p9_put32(&b, fid);
    p9_put32(&b, a->valid);
    p9_put32(&b, a->mode);
    p9_put32(&b, a->uid);
    p9_put32(&b, a->gid);
    p9_put64(&b, a->size);
    p9_put64(&b, (u64)a->atime_sec);
    p9_put64(&b, (u64)a->atime_nsec);
    p9_put64(&b, (u64)a->mtime_sec);
    p9_put64(&b, (u64)a->mtime_nsec);
    return simple(s, &b, Rsetattr);
}

long p9_lopen(struct p9_session *s, u32 fid, u32 flags)
{
    lock(s);
    struct p9_buf b = begin(s, Tlopen);
    p9_put32(&b, fid);
    p9_put32(&b, flags);
    return simple(s, &b, Rlopen);
}

long p9_lcreate(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 flags, u32 mode, u32 gid,
                struct p9_qid *qid)
{
    lock(s);
    struct p9_buf b = begin(s, Tlcreate);
    p9_put32(&b, fid);
    p9_putstr(&b, name, namelen);
    p9_put32(&b, flags);
    p9_put32(&b, mode);
    p9_put32(&b, gid);
    return qid_reply(s, &b, Rlcreate, qid);
}

long p9_mkdir(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 mode, u32 gid, struct p9_qid *qid)
{
    lock(s);
    struct p9_buf b = begin(s, Tmkdir);
    p9_put32(&b, dfid);
    p9_putstr(&b, name, namelen);
    p9_put32(&b, mode);
    p9_put32(&b, gid);
    return qid_reply(s, &b, Rmkdir, qid);
}

long p9_symlink(struct p9_session *s, u32 dfid, const char *name, u32 namelen, const char *target, u32 tlen,
                u32 gid, struct p9_qid *qid)
{
    lock(s);
    struct p9_buf b = begin(s, Tsymlink);
    p9_put32(&b, dfid);
    p9_putstr(&b, name, namelen);
    p9_putstr(&b, target, tlen);
    p9_put32(&b, gid);
    return qid_reply(s, &b, Rsymlink, qid);
}

long p9_mknod(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 mode, u32 major, u32 minor,
              u32 gid, struct p9_qid *qid)
{
    lock(s);
    struct p9_buf b = begin(s, Tmknod);
    p9_put32(&b, dfid);
    p9_putstr(&b, name, namelen);
    p9_put32(&b, mode);
    p9_put32(&b, major);
    p9_put32(&b, minor);
    p9_put32(&b, gid);
    return qid_reply(s, &b, Rmknod, qid);
}

long p9_readlink(struct p9_session *s, u32 fid, char *buf, u32 size)
{
    lock(s);
    struct p9_buf b = begin(s, Treadlink), r;
    p9_put32(&b, fid);
    long e = call(s, &b, Rreadlink, &r);
    if (e == 0) {
        u16 len;
        const char *t = p9_getstr(&r, &len);
        if (r.bad) {
            e = -EIO;
        } else {
            e = MIN((u32)len, size);
            memcpy(buf, t, (size_t)e);
        }
    }
    unlock(s);
    return e;
}

long p9_link(struct p9_session *s, u32 dfid, u32 fid, const char *name, u32 namelen)
{
    lock(s);
    struct p9_buf b = begin(s, Tlink);
    p9_put32(&b, dfid);
    p9_put32(&b, fid);
    p9_putstr(&b, name, namelen);
    return simple(s, &b, Rlink);
}

long p9_unlinkat(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 flags)
{
    lock(s);
    struct p9_buf b = begin(s, Tunlinkat);
    p9_put32(&b, dfid);
    p9_putstr(&b, name, namelen);
    p9_put32(&b, flags);
    return simple(s, &b, Runlinkat);
}

long p9_renameat(struct p9_session *s, u32 olddfid, const char *oldname, u32 oldlen, u32 newdfid,
                 const char *newname, u32 newlen)
{
    lock(s);
    struct p9_buf b = begin(s, Trenameat);
    p9_put32(&b, olddfid);
    p9_putstr(&b, oldname, oldlen);
    p9_put32(&b, newdfid);
    p9_putstr(&b, newname, newlen);
    return simple(s, &b, Rrenameat);
}

long p9_fsync(struct p9_session *s, u32 fid, bool datasync)
{
    lock(s);
    struct p9_buf b = begin(s, Tfsync);
    p9_put32(&b, fid);
    p9_put32(&b, datasync ? 1 : 0);
    return simple(s, &b, Rfsync);
}

long p9_statfs(struct p9_session *s, u32 fid, struct p9_statfs *st)
{
    lock(s);
    struct p9_buf b = begin(s, Tstatfs), r;
    p9_put32(&b, fid);
    long e = call(s, &b, Rstatfs, &r);
    if (e == 0) {
        st->type = p9_get32(&r);
        st->bsize = p9_get32(&r);
        st->blocks = p9_get64(&r);
        st->bfree = p9_get64(&r);
        st->bavail = p9_get64(&r);
        st->files = p9_get64(&r);
        st->ffree = p9_get64(&r);
        st->fsid = p9_get64(&r);
        st->namelen = p9_get32(&r);
        e = r.bad ? -EIO : 0;
    }
    unlock(s);
    return e;
}

long p9_xattrwalk(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 *newfid, u64 *size)
{
    u32 nf = p9_fid_alloc(s);
    if (nf == P9_NOFID)
        return -ENFILE;
    lock(s);
    struct p9_buf b = begin(s, Txattrwalk), r;
    p9_put32(&b, fid);
    p9_put32(&b, nf);
    p9_putstr(&b, name, namelen);
    long e = call(s, &b, Rxattrwalk, &r);
    if (e == 0) {
        *size = p9_get64(&r);
        e = r.bad ? -EIO : 0;
    }
    unlock(s);
    if (e < 0) {
        p9_fid_free(s, nf);
        return e;
    }
    *newfid = nf;
    return 0;
}

long p9_xattrcreate(struct p9_session *s, u32 fid, const char *name, u32 namelen, u64 size, u32 flags)
{
    lock(s);
    struct p9_buf b = begin(s, Txattrcreate);
    p9_put32(&b, fid);
    p9_putstr(&b, name, namelen);
    p9_put64(&b, size);
    p9_put32(&b, flags);
    return simple(s, &b, Rxattrcreate);
}

static bool is_kernel(const void *p) { return (u64)p >= USER_TOP; }

long p9_read(struct p9_session *s, u32 fid, u64 off, void *buf, u32 n)
{
    n = MIN(n, p9_iounit(s));
    u8 *bounce = is_kernel(buf) ? NULL : kmalloc(n ? n : 1);
    if (!is_kernel(buf) && !bounce)
        return -ENOMEM;
    lock(s);
    struct p9_buf b = begin(s, Tread), r;
    p9_put32(&b, fid);
    p9_put64(&b, off);
    p9_put32(&b, n);
    long e = call(s, &b, Rread, &r);
    if (e == 0) {
        u32 got = p9_get32(&r);
        const u8 *data = got <= n ? p9_getbytes(&r, got) : NULL;
        if (!data) {
            e = -EIO;
        } else {
            memcpy(bounce ? bounce : buf, data, got);
            e = got;
        }
    }
    unlock(s);
    if (bounce && e > 0 && uaccess_copy(buf, bounce, (size_t)e) < 0)
        e = -EFAULT;
    kfree(bounce);
    return e;
}

long p9_write(struct p9_session *s, u32 fid, u64 off, const void *buf, u32 n)
{
    n = MIN(n, p9_iounit(s));
    u8 *bounce = is_kernel(buf) ? NULL : kmalloc(n ? n : 1);
    if (!is_kernel(buf) && !bounce)
        return -ENOMEM;
    if (bounce && uaccess_copy(bounce, buf, n) < 0) {
        kfree(bounce);
        return -EFAULT;
    }
    lock(s);
    struct p9_buf b = begin(s, Twrite), r;
    p9_put32(&b, fid);
    p9_put64(&b, off);
    p9_put32(&b, n);
    u8 *dst = b.cap - b.len >= n ? b.p + b.len : NULL;
    long e = -EIO;
    if (dst) {
        memcpy(dst, bounce ? bounce : buf, n);
        b.len += n;
        e = call(s, &b, Rwrite, &r);
        if (e == 0) {
            u32 done = p9_get32(&r);
            e = r.bad || done > n ? -EIO : (long)done;
        }
    }
    unlock(s);
    kfree(bounce);
    return e;
}

long p9_readdir(struct p9_session *s, u32 fid, u64 off, u32 count, p9_dirent_fn emit, void *ctx)
{
    count = MIN(count, p9_iounit(s));
    lock(s);
    struct p9_buf b = begin(s, Treaddir), r;
    p9_put32(&b, fid);
    p9_put64(&b, off);
    p9_put32(&b, count);
    long e = call(s, &b, Rreaddir, &r);
    if (e == 0) {
        u32 len = p9_get32(&r);
        const u8 *data = p9_getbytes(&r, len);
        struct p9_buf d = {.q = data, .len = data ? len : 0};
        e = data ? 0 : -EIO;
        while (e >= 0 && d.off < d.len) {
            struct p9_qid q;
            p9_getqid(&d, &q);
            u64 next = p9_get64(&d);
            u8 type = p9_get8(&d);
            u16 nlen;
            const char *name = p9_getstr(&d, &nlen);
            if (d.bad) {
                e = e ? e : -EIO;
                break;
            }
            if (!emit(ctx, &q, next, type, name, nlen))
                break;
            e++;
        }
    }
    unlock(s);
    return e;
}
