/* SPDX-License-Identifier: Apache-2.0 */
/* p9.h: the 9P2000.L client (fs/9p_msg.c, fs/9p_fid.c, fs/9p_client.c) and the volumes it serves (fs/9p_vfs.c).
 *
 * Interface:
 *   p9_session_open()   Tversion + Tattach over a virtio-9p device (by mount tag).
 *   p9_walk() ...       one function per 9P2000.L request; each returns >= 0 or -errno
 *                       (Rlerror's errno, -EIO for a malformed reply or a dead device).
 *   volumes_mount()     mount every d2u.vol= volume before the program starts.
 * docs/volumes.md describes the design.
 */
#ifndef LIBOS_P9_H
#define LIBOS_P9_H

#include <libos/task.h>
#include <libos/types.h>

struct vnode;
struct virtio_9p;

struct p9_qid {
    u8 type;
    u32 version;
    u64 path;
};

/* Rgetattr's basic fields. */
struct p9_attr {
    struct p9_qid qid;
    u32 mode, uid, gid;
    u64 nlink, rdev, size, blksize, blocks;
    s64 atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/* Tsetattr's valid bits. */
#define P9_SETATTR_MODE 0x1
#define P9_SETATTR_UID 0x2
#define P9_SETATTR_GID 0x4
#define P9_SETATTR_SIZE 0x8
#define P9_SETATTR_ATIME 0x10
#define P9_SETATTR_MTIME 0x20
#define P9_SETATTR_CTIME 0x40
#define P9_SETATTR_ATIME_SET 0x80
#define P9_SETATTR_MTIME_SET 0x100

struct p9_setattr {
    u32 valid, mode, uid, gid;
    u64 size;
    s64 atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9_statfs {
    u32 type, bsize;
    u64 blocks, bfree, bavail, files, ffree, fsid;
    u32 namelen;
};

/* --- messages (fs/9p_msg.c): little-endian fields into and out of a buffer --- */
struct p9_buf {
    u8 *p;          /* NULL while decoding (q is used) */
    const u8 *q;
    u32 len, cap;   /* bytes used (encoding) or available (decoding) */
    u32 off;        /* decoding position */
    bool bad;       /* a field ran past the end: the message is malformed */
};
void p9_put8(struct p9_buf *b, u8 v);
void p9_put16(struct p9_buf *b, u16 v);
void p9_put32(struct p9_buf *b, u32 v);
void p9_put64(struct p9_buf *b, u64 v);
void p9_putstr(struct p9_buf *b, const char *s, u32 len);
u8 p9_get8(struct p9_buf *b);
u16 p9_get16(struct p9_buf *b);
u32 p9_get32(struct p9_buf *b);
u64 p9_get64(struct p9_buf *b);
/* A string field: its bytes in place (not NUL-terminated) and length. */
const char *p9_getstr(struct p9_buf *b, u16 *len);
void p9_getqid(struct p9_buf *b, struct p9_qid *q);
/* n bytes in place, or NULL (bad set) when fewer remain. */
const u8 *p9_getbytes(struct p9_buf *b, u32 n);

/* --- a session: one attach over one device (fs/9p_client.c) --- */
struct p9_session {
    struct virtio_9p *dev;
    u32 msize;
    u32 root_fid;
    bool busy;            /* a request is in flight: others wait on wq */
    u32 users;            /* tasks inside a request (sending or waiting for the session) */
    struct waitq wq;
    u32 next_fid;         /* fs/9p_fid.c */
    u32 *free_fids;
    u32 nfree, free_cap;
};

#define P9_NOFID 0xffffffffu

/* Tversion + Tattach as root (uid 0) on the device tagged tag; NULL with *err set. */
struct p9_session *p9_session_open(const char *tag, long *err);
u32 p9_fid_alloc(struct p9_session *s);
void p9_fid_free(struct p9_session *s, u32 fid);
/* The largest Tread/Twrite payload. */
u32 p9_iounit(const struct p9_session *s);

/* Walk nwname names (0: clone fid) from fid to a new fid; qid of the last. */
long p9_walk(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 *newfid, struct p9_qid *qid);
long p9_clone(struct p9_session *s, u32 fid, u32 *newfid);
long p9_clunk(struct p9_session *s, u32 fid);
long p9_getattr(struct p9_session *s, u32 fid, struct p9_attr *a);
long p9_setattr(struct p9_session *s, u32 fid, const struct p9_setattr *a);
long p9_lopen(struct p9_session *s, u32 fid, u32 flags);
/* Create name in the directory fid; fid becomes the open new file. */
long p9_lcreate(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 flags, u32 mode, u32 gid,
                struct p9_qid *qid);
long p9_mkdir(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 mode, u32 gid, struct p9_qid *qid);
long p9_symlink(struct p9_session *s, u32 dfid, const char *name, u32 namelen, const char *target, u32 tlen,
                u32 gid, struct p9_qid *qid);
long p9_mknod(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 mode, u32 major, u32 minor,
              u32 gid, struct p9_qid *qid);
/* The target into buf (a kernel buffer); its length (truncated to size). */
long p9_readlink(struct p9_session *s, u32 fid, char *buf, u32 size);
long p9_link(struct p9_session *s, u32 dfid, u32 fid, const char *name, u32 namelen);
long p9_unlinkat(struct p9_session *s, u32 dfid, const char *name, u32 namelen, u32 flags);
long p9_renameat(struct p9_session *s, u32 olddfid, const char *oldname, u32 oldlen, u32 newdfid,
                 const char *newname, u32 newlen);
long p9_fsync(struct p9_session *s, u32 fid, bool datasync);
long p9_statfs(struct p9_session *s, u32 fid, struct p9_statfs *st);
/* Txattrwalk: a new fid to read name's value (namelen 0: the list of names) and its size. */
long p9_xattrwalk(struct p9_session *s, u32 fid, const char *name, u32 namelen, u32 *newfid, u64 *size);
/* Txattrcreate: fid becomes the writer of name's value (size bytes, written with p9_write;
 * the clunk sets it; size 0 removes the attribute). */
long p9_xattrcreate(struct p9_session *s, u32 fid, const char *name, u32 namelen, u64 size, u32 flags);
/* Read/write at off through buf (user or kernel memory, uaccess_copy): bytes moved. */
long p9_read(struct p9_session *s, u32 fid, u64 off, void *buf, u32 n);
long p9_write(struct p9_session *s, u32 fid, u64 off, const void *buf, u32 n);
/* Treaddir: each entry goes to emit(ctx, ...) until it returns false (no room). Returns
 * the number of entries taken, 0 at the end of the directory. */
typedef bool (*p9_dirent_fn)(void *ctx, const struct p9_qid *qid, u64 next_off, u8 type, const char *name,
                             u16 namelen);
long p9_readdir(struct p9_session *s, u32 fid, u64 off, u32 count, p9_dirent_fn emit, void *ctx);

/* --- volumes (fs/9p_vfs.c, fs/volume.c) --- */
/* Mount every d2u.vol= volume (exec_start). Linked only into images with the fs shim
 * family, which references it (shims/fs/stat.c); exec_start calls it weakly and refuses
 * d2u.vol= in an image without it. */
void volumes_mount(void);

#endif /* LIBOS_P9_H */
