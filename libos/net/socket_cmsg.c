/* SPDX-License-Identifier: Apache-2.0 */
/* socket_cmsg.c: control messages as Linux's net/core/scm.c: parse and check what a sender gives, write what a receiver gets. */
#include <libos/errno.h>
#include <libos/proc.h>
#include <libos/socket.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

struct k_cmsghdr {
    u64 cmsg_len;
    int cmsg_level, cmsg_type;
};
_Static_assert(sizeof(struct k_cmsghdr) == 16, "struct cmsghdr");

#define CMSG_ALIGN(n) (((n) + sizeof(u64) - 1) & ~(sizeof(u64) - 1))
#define CMSG_LEN(n) (sizeof(struct k_cmsghdr) + (n))
#define CMSG_SPACE(n) (sizeof(struct k_cmsghdr) + CMSG_ALIGN(n))

struct k_ucred {
    s32 pid;
    u32 uid, gid;
};

/* Linux's scm_check_creds: root may claim anything (CAP_SYS_ADMIN, CAP_SETUID,
 * CAP_SETGID); others only their own pid and one of their uids/gids. */
static long check_creds(const struct k_ucred *c)
{
    struct process *p = current_process();
    if (p->euid == 0)
        return 0;
    if (c->pid != p->pid)
        return -EPERM;
    if (c->uid != p->uid && c->uid != p->euid && c->uid != p->suid)
        return -EPERM;
    if (c->gid != p->gid && c->gid != p->egid && c->gid != p->sgid)
        return -EPERM;
    return 0;
}

/* Linux's scm_fp_copy: the fds of one SCM_RIGHTS message, references taken. */
static long fp_copy(const struct k_cmsghdr *c, struct scm *out)
{
    long num = ((long)c->cmsg_len - (long)CMSG_ALIGN(sizeof(*c))) / (long)sizeof(int);
    if (num <= 0)
        return 0;
    if (num > SCM_MAX_FD || out->nfp + num > SCM_MAX_FD)
        return -EINVAL;
    const int *fds = (const int *)(c + 1);
    for (long i = 0; i < num; i++) {
        int fd;
        memcpy(&fd, &fds[i], sizeof(fd));
        struct file *f = fd_get(fd);
        if (!f)
            return -EBADF;
        f->refs++;
        out->fp[out->nfp++] = f;
    }
    return 0;
}

long scm_send(struct socket *s, const struct kmsg *m, struct scm *out)
{
    struct process *p = current_process();
    out->nfp = 0;
    out->has_creds = false;
    out->pid = p->pid; /* the sender's, unless SCM_CREDENTIALS says otherwise */
    out->uid = p->uid; /* real ids, as Linux's scm_send (SO_PEERCRED has the effective ones) */
    out->gid = p->gid;
    const u8 *base = m->control;
    u64 size = m->control ? m->controllen : 0;
    long r = 0;
    for (u64 off = 0; size >= sizeof(struct k_cmsghdr) && off + sizeof(struct k_cmsghdr) <= size;) {
        struct k_cmsghdr c;
        memcpy(&c, base + off, sizeof(c));
        if (c.cmsg_len < sizeof(c) || c.cmsg_len > size - off) {
            r = -EINVAL;
            break;
        }
        if (c.cmsg_level == SOL_SOCKET) {
            if (c.cmsg_type == SCM_RIGHTS) {
                r = s->family == AF_UNIX ? fp_copy((const struct k_cmsghdr *)(base + off), out) : -EINVAL;
            } else if (c.cmsg_type == SCM_CREDENTIALS) {
                struct k_ucred cr;
                if (c.cmsg_len != CMSG_LEN(sizeof(cr))) {
                    r = -EINVAL;
                } else {
                    memcpy(&cr, base + off + sizeof(c), sizeof(cr));
                    r = check_creds(&cr);
                    if (r == 0) {
                        out->has_creds = true;
                        out->pid = cr.pid;
                        out->uid = cr.uid;
                        out->gid = cr.gid;
                    }
                }
            } else {
                r = -EINVAL;
            }
            if (r < 0)
                break;
        }
        off += CMSG_ALIGN(c.cmsg_len);
    }
    if (r < 0)
        scm_destroy(out);
    return r;
}

void scm_destroy(struct scm *scm)
{
    for (int i = 0; i < scm->nfp; i++)
        file_put(scm->fp[i]);
    scm->nfp = 0;
}

long scm_put(struct kmsg *m, int level, int type, const void *data, u32 len)
{
    u32 room = m->control && m->controllen > m->ctl_used ? m->controllen - m->ctl_used : 0;
    if (room < sizeof(struct k_cmsghdr)) {
        m->flags |= MSG_CTRUNC;
        return 0;
    }
    u64 cmlen = CMSG_LEN(len);
    if (room < cmlen) {
        m->flags |= MSG_CTRUNC;
        cmlen = room;
    }
    struct k_cmsghdr c = {cmlen, level, type};
    u8 *at = (u8 *)m->control + m->ctl_used;
    memcpy(at, &c, sizeof(c));
    memcpy(at + sizeof(c), data, cmlen - sizeof(c));
    m->ctl_used += (u32)MIN(CMSG_SPACE(len), (u64)room);
    return (long)(cmlen - sizeof(c));
}

/* Linux's scm_detach_fds: install as many passed files as the room holds. */
static void detach_fds(struct kmsg *m, struct scm *scm, int flags)
{
    u32 room = m->control && m->controllen > m->ctl_used ? m->controllen - m->ctl_used : 0;
    int fdmax = room > sizeof(struct k_cmsghdr) ? (int)((room - sizeof(struct k_cmsghdr)) / sizeof(int)) : 0;
    fdmax = MIN(fdmax, scm->nfp);
    int fds[SCM_MAX_FD];
    int i;
    for (i = 0; i < fdmax; i++) {
        long fd = fd_install(scm->fp[i], 0, flags & MSG_CMSG_CLOEXEC);
        if (fd < 0)
            break;
        fds[i] = (int)fd;
        scm->fp[i] = NULL; /* the reference now belongs to the fd */
    }
    if (i > 0)
        scm_put(m, SOL_SOCKET, SCM_RIGHTS, fds, (u32)(i * (int)sizeof(int)));
    if (i < scm->nfp)
        m->flags |= MSG_CTRUNC;
    for (int k = i; k < scm->nfp; k++)
        file_put(scm->fp[k]);
    scm->nfp = 0;
}

void scm_recv(struct socket *s, struct kmsg *m, struct scm *scm, int flags)
{
    if (!m->control) {
        if (s->passcred || scm->nfp)
            m->flags |= MSG_CTRUNC;
        scm_destroy(scm);
        return;
    }
    if (s->passcred) {
        struct k_ucred cr = {scm->pid, scm->uid, scm->gid};
        scm_put(m, SOL_SOCKET, SCM_CREDENTIALS, &cr, sizeof(cr));
    }
    if (scm->nfp)
        detach_fds(m, scm, flags);
}
