/* SPDX-License-Identifier: Apache-2.0 */
/* socket_opt.c: the SOL_SOCKET options every family shares, with Linux's checks and values (sk_setsockopt/sk_getsockopt). */
#include <libos/errno.h>
#include <libos/socket.h>
#include <libos/string.h>
#include <libos/vfs.h>

#define SO_NO_CHECK 11
#define SO_PRIORITY 12
#define SO_SNDBUFFORCE 32
#define SO_RCVBUFFORCE 33
#define SO_MARK 36
#define SO_COOKIE 57
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67

#define SYSCTL_BUF_MAX 212992u /* net.core.wmem_max and rmem_max */
#define SOCK_MIN_SNDBUF 4608u  /* 2 * (2048 + SKB_TRUESIZE(256)) on x86-64 */
#define SOCK_MIN_RCVBUF 2304u
#define INT_MAX 0x7fffffff
#define TICK_NS 4000000ul /* Debian's HZ=250: Linux keeps socket timeouts in jiffies */

struct k_linger {
    s32 l_onoff, l_linger;
};
struct k_timeval {
    s64 tv_sec, tv_usec;
};
struct k_ucred {
    s32 pid;
    u32 uid, gid;
};

/* Linux's sock_set_timeout: EDOM for a bad usec, a negative time means "do not wait"
 * (kept as the shortest timeout here), zero means forever; rounded up to a tick. */
static long set_timeout(u64 *out, const void *val, u32 len)
{
    struct k_timeval tv;
    if (len < sizeof(tv))
        return -EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return -EDOM;
    if (tv.tv_sec < 0) {
        *out = 1;
        return 0;
    }
    if (tv.tv_sec == 0 && tv.tv_usec == 0) {
        *out = 0;
        return 0;
    }
    if ((u64)tv.tv_sec > 100000000ul) { /* beyond MAX_SCHEDULE_TIMEOUT / HZ: forever */
        *out = 0;
        return 0;
    }
    u64 ticks = (u64)tv.tv_sec * (1000000000ul / TICK_NS) + ((u64)tv.tv_usec * 1000 + TICK_NS - 1) / TICK_NS;
    *out = ticks * TICK_NS;
    return 0;
}

static u32 buf_size(int val, u32 min, bool force)
{
    u32 v = force ? (val < 0 ? 0u : (u32)val) : MIN((u32)val, SYSCTL_BUF_MAX);
    u64 d = (u64)v * 2;
    return (u32)MAX(MIN(d, (u64)INT_MAX), (u64)min);
}

long sock_setsockopt(struct socket *s, int level, int name, const void *val, u32 len)
{
    if (level != SOL_SOCKET)
        return s->ops->setsockopt ? s->ops->setsockopt(s, level, name, val, len) : -EOPNOTSUPP;
    if (len < sizeof(int))
        return -EINVAL;
    int v;
    memcpy(&v, val, sizeof(v));
    bool on = v != 0;
    switch (name) {
    case SO_DEBUG:
        s->debug = on;
        return 0;
    case SO_REUSEADDR:
        s->reuseaddr = on;
        return 0;
    case SO_REUSEPORT:
        s->reuseport = on;
        return 0;
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_ERROR:
    case SO_ACCEPTCONN:
    case SO_PEERCRED:
    case SO_SNDLOWAT:
        return -ENOPROTOOPT;
    case SO_DONTROUTE:
        s->dontroute = on;
        return 0;
    case SO_BROADCAST:
        s->broadcast = on;
        return 0;
    case SO_SNDBUF:
    case SO_SNDBUFFORCE: /* root has CAP_NET_ADMIN */
        s->sndbuf = buf_size(v, SOCK_MIN_SNDBUF, name == SO_SNDBUFFORCE);
        break;
    case SO_RCVBUF:
    case SO_RCVBUFFORCE:
        s->rcvbuf = buf_size(v, SOCK_MIN_RCVBUF, name == SO_RCVBUFFORCE);
        break;
    case SO_KEEPALIVE:
        s->keepalive = on;
        break;
    case SO_OOBINLINE:
        s->oobinline = on;
        return 0;
    case SO_PRIORITY:
        s->priority = v; /* root may set any priority */
        return 0;
    case SO_MARK:
        s->mark = (u32)v;
        return 0;
    case SO_LINGER: {
        struct k_linger l;
        if (len < sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        s->linger_onoff = l.l_onoff != 0;
        s->linger_secs = l.l_onoff ? (l.l_linger < 0 ? 0 : l.l_linger) : s->linger_secs;
        return 0;
    }
    case SO_PASSCRED:
        s->passcred = on;
        return 0;
    case SO_RCVLOWAT:
        s->rcvlowat = v < 0 ? INT_MAX : (v ? v : 1);
        return 0;
    case SO_RCVTIMEO:
    case SO_RCVTIMEO_NEW:
        return set_timeout(&s->rcvtimeo_ns, val, len);
    case SO_SNDTIMEO:
    case SO_SNDTIMEO_NEW:
        return set_timeout(&s->sndtimeo_ns, val, len);
    default:
        return s->ops->setsockopt ? s->ops->setsockopt(s, level, name, val, len) : -ENOPROTOOPT;
    }
    /* Options the family may also act on (buffer sizes, TCP keepalive): tell it, and
     * an unknown answer from it is fine. */
    if (s->ops->setsockopt) {
        long r = s->ops->setsockopt(s, level, name, val, len);
        if (r < 0 && r != -ENOPROTOOPT)
            return r;
    }
    return 0;
}

long sock_getsockopt(struct socket *s, int level, int name, void *val, u32 *len)
{
    if (level != SOL_SOCKET)
        return s->ops->getsockopt ? s->ops->getsockopt(s, level, name, val, len) : -EOPNOTSUPP;
    union {
        int i;
        struct k_linger l;
        struct k_timeval tv;
        struct k_ucred cred;
        u64 u;
    } o;
    u32 olen = sizeof(int);
    memset(&o, 0, sizeof(o));
    switch (name) {
    case SO_DEBUG:
        o.i = s->debug;
        break;
    case SO_REUSEADDR:
        o.i = s->reuseaddr;
        break;
    case SO_REUSEPORT:
        o.i = s->reuseport;
        break;
    case SO_TYPE:
        o.i = s->type;
        break;
    case SO_PROTOCOL:
        o.i = s->protocol;
        break;
    case SO_DOMAIN:
        o.i = s->family;
        break;
    case SO_ERROR:
        o.i = sock_take_error(s); /* read and cleared */
        break;
    case SO_DONTROUTE:
        o.i = s->dontroute;
        break;
    case SO_BROADCAST:
        o.i = s->broadcast;
        break;
    case SO_SNDBUF:
        o.i = (int)s->sndbuf;
        break;
    case SO_RCVBUF:
        o.i = (int)s->rcvbuf;
        break;
    case SO_KEEPALIVE:
        o.i = s->keepalive;
        break;
    case SO_OOBINLINE:
        o.i = s->oobinline;
        break;
    case SO_NO_CHECK:
        o.i = 0;
        break;
    case SO_PRIORITY:
        o.i = s->priority;
        break;
    case SO_MARK:
        o.i = (int)s->mark;
        break;
    case SO_LINGER:
        o.l.l_onoff = s->linger_onoff;
        o.l.l_linger = s->linger_secs;
        olen = sizeof(o.l);
        break;
    case SO_PASSCRED:
        o.i = s->passcred;
        break;
    case SO_PEERCRED:
        o.cred.pid = s->peer_pid;
        o.cred.uid = s->peer_uid;
        o.cred.gid = s->peer_gid;
        olen = sizeof(o.cred);
        break;
    case SO_RCVLOWAT:
        o.i = s->rcvlowat;
        break;
    case SO_SNDLOWAT:
        o.i = 1;
        break;
    case SO_RCVTIMEO:
    case SO_RCVTIMEO_NEW:
    case SO_SNDTIMEO:
    case SO_SNDTIMEO_NEW: {
        u64 ns = name == SO_RCVTIMEO || name == SO_RCVTIMEO_NEW ? s->rcvtimeo_ns : s->sndtimeo_ns;
        o.tv.tv_sec = (s64)(ns / 1000000000ul);
        o.tv.tv_usec = (s64)(ns % 1000000000ul / 1000);
        olen = sizeof(o.tv);
        break;
    }
    case SO_ACCEPTCONN:
        o.i = s->listening;
        break;
    case SO_COOKIE:
        if (*len < sizeof(u64))
            return -EINVAL;
        o.u = s->file ? s->file->node->ino : 0; /* unique per socket while it lives */
        olen = sizeof(o.u);
        break;
    default:
        return s->ops->getsockopt ? s->ops->getsockopt(s, level, name, val, len) : -ENOPROTOOPT;
    }
    *len = MIN(*len, olen);
    memcpy(val, &o, *len);
    return 0;
}
