/* SPDX-License-Identifier: Apache-2.0 */
/* socket_ifreq.c: the interface ioctls any socket answers (SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFCONF...), as Linux's dev_ioctl, from net_ifaces(). */
#include <libos/errno.h>
#include <libos/socket.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#define SIOCGIFNAME 0x8910
#define SIOCGIFCONF 0x8912
#define SIOCGIFFLAGS 0x8913
#define SIOCGIFADDR 0x8915
#define SIOCGIFBRDADDR 0x8919
#define SIOCGIFNETMASK 0x891b
#define SIOCGIFMTU 0x8921
#define SIOCGIFHWADDR 0x8927
#define SIOCGIFINDEX 0x8933
#define SIOCGIFTXQLEN 0x8942
#define IFNAMSIZ 16
#define IFACES_MAX 8
#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772
#define IFF_LOOPBACK 0x8

struct k_ifreq {
    char name[IFNAMSIZ];
    union {
        struct {
            u16 family;
            u8 data[14];
        } addr;
        s16 flags;
        s32 ivalue;
        u8 pad[24];
    } u;
};
_Static_assert(sizeof(struct k_ifreq) == 40, "struct ifreq");

struct k_ifconf {
    s32 len;
    u32 pad;
    u64 buf;
};

/* The default when the network is not linked (no net family: kernel/main.c): lo only. */
__attribute__((weak)) int net_ifaces(struct net_iface *out, int max)
{
    if (max < 1)
        return 0;
    memset(out, 0, sizeof(*out));
    out->index = 1;
    memcpy(out->name, "lo", 3);
    out->flags = 0x1 | 0x8 | 0x40; /* IFF_UP | IFF_LOOPBACK | IFF_RUNNING */
    out->mtu = 65536;
    out->has_ipv4 = true;
    out->ipv4[0] = 127;
    out->ipv4[3] = 1;
    out->ipv4_prefix = 8;
    out->has_ipv6 = true;
    out->ipv6[15] = 1;
    out->ipv6_prefix = 128;
    return 1;
}

static void ipv4_sockaddr(struct k_ifreq *r, const u8 *a)
{
    memset(&r->u, 0, sizeof(r->u));
    r->u.addr.family = AF_INET;
    memcpy(r->u.addr.data + 2, a, 4); /* sin_port, then sin_addr */
}

static long ifconf(u64 arg, const struct net_iface *ifs, int n)
{
    struct k_ifconf c;
    if (copy_from_user(&c, arg, sizeof(c)) < 0)
        return -EFAULT;
    s32 used = 0;
    for (int i = 0; i < n; i++) {
        if (!ifs[i].has_ipv4)
            continue;
        if (c.buf) {
            if (used + (s32)sizeof(struct k_ifreq) > c.len)
                break;
            struct k_ifreq r;
            memset(&r, 0, sizeof(r));
            memcpy(r.name, ifs[i].name, IFNAMSIZ);
            ipv4_sockaddr(&r, ifs[i].ipv4);
            if (copy_to_user(c.buf + (u64)used, &r, sizeof(r)) < 0)
                return -EFAULT;
        }
        used += (s32)sizeof(struct k_ifreq);
    }
    c.len = used;
    return copy_to_user(arg, &c, sizeof(c));
}

long sock_ifreq_ioctl(unsigned cmd, u64 arg)
{
    struct net_iface ifs[IFACES_MAX];
    int n = net_ifaces(ifs, IFACES_MAX);
    if (cmd == SIOCGIFCONF)
        return ifconf(arg, ifs, n);
    if (cmd != SIOCGIFNAME && cmd != SIOCGIFFLAGS && cmd != SIOCGIFADDR && cmd != SIOCGIFBRDADDR &&
        cmd != SIOCGIFNETMASK && cmd != SIOCGIFMTU && cmd != SIOCGIFHWADDR && cmd != SIOCGIFINDEX &&
        cmd != SIOCGIFTXQLEN)
        return -ENOTTY;
    struct k_ifreq r;
    if (copy_from_user(&r, arg, sizeof(r)) < 0)
        return -EFAULT;
    const struct net_iface *f = NULL;
    for (int i = 0; i < n && !f; i++) {
        if (cmd == SIOCGIFNAME ? ifs[i].index == r.u.ivalue : strncmp(ifs[i].name, r.name, IFNAMSIZ) == 0)
            f = &ifs[i];
    }
    if (!f)
        return -ENODEV;
    switch (cmd) {
    case SIOCGIFNAME:
        memcpy(r.name, f->name, IFNAMSIZ);
        break;
    case SIOCGIFINDEX:
        r.u.ivalue = f->index;
        break;
    case SIOCGIFFLAGS:
        r.u.flags = (s16)f->flags;
        break;
    case SIOCGIFMTU:
        r.u.ivalue = (s32)f->mtu;
        break;
    case SIOCGIFTXQLEN:
        r.u.ivalue = 1000;
        break;
    case SIOCGIFHWADDR:
        memset(&r.u, 0, sizeof(r.u));
        r.u.addr.family = (f->flags & IFF_LOOPBACK) ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
        memcpy(r.u.addr.data, f->mac, 6);
        break;
    default: { /* the IPv4 address, netmask or broadcast */
        if (!f->has_ipv4)
            return -EADDRNOTAVAIL;
        u32 mask = f->ipv4_prefix ? ~0u << (32 - f->ipv4_prefix) : 0;
        u8 a[4];
        for (int k = 0; k < 4; k++) {
            u8 m = (u8)(mask >> (24 - 8 * k));
            a[k] = cmd == SIOCGIFADDR ? f->ipv4[k] : cmd == SIOCGIFNETMASK ? m : (u8)(f->ipv4[k] | ~m);
        }
        ipv4_sockaddr(&r, a);
        break;
    }
    }
    return copy_to_user(arg, &r, sizeof(r));
}
