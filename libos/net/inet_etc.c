/* SPDX-License-Identifier: Apache-2.0 */
/* inet_etc.c: /etc/hostname, /etc/hosts and /etc/resolv.conf written at boot the way Docker provides them (docs/networking.md). */
#include <libos/cmdline.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/image_config.h>
#include <libos/log.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

#include "inet_internal.h"

#include "lwip/netif.h"

#define QEMU_USER_DNS "10.0.2.3"

/* The name the container answers to: d2u.hostname, else the image's configured
 * hostname, else "localhost" (uname(2) gives the same). */
const char *inet_hostname(void)
{
    if (kopts.hostname[0])
        return kopts.hostname;
    return image_hostname[0] ? image_hostname : "localhost";
}

static bool exists(const char *path)
{
    struct vnode *n;
    return vfs_lookup(AT_FDCWD, path, 0, &n) == 0;
}

/* Replace path (a file or a symlink the image has there) with a new file holding text. */
static void put(const char *path, const char *text)
{
    /* The runtime writes these files, as root (Docker's bind mounts are root's), not the
     * program: pid 1 already has the image's User (proc_init), which may neither unlink
     * nor create in /etc (a `User app` image got EACCES and kept the image's files). */
    struct process *p = current_process();
    u32 euid = p->euid, egid = p->egid;
    p->euid = p->egid = 0;
    vfs_unlinkat(AT_FDCWD, path, 0);
    struct vnode *n;
    long r = vfs_create(AT_FDCWD, path, O_CREAT | O_EXCL, 0644, &n);
    struct file *f = r >= 0 ? vfs_open_node(n, O_WRONLY, &r) : NULL;
    if (f) {
        r = vfs_write(f, text, strlen(text));
        file_put(f);
    }
    if (r < 0)
        kinfo("net: could not write %s (error %ld)", path, -r);
    p->euid = euid, p->egid = egid;
}

void inet_etc_write(struct netif *eth)
{
    /* dock2uni run says which network the container has (d2u.net=): then the files
     * are the runtime's, as Docker's bind mounts hide the image's. Booted without
     * it (by hand, by a test harness), the image's /etc stays exactly as it is. */
    if (kopts.net == NET_AUTO)
        return;
    if (!exists("/etc"))
        vfs_mkdirat(AT_FDCWD, "/etc", 0755);
    const char *host = inet_hostname();
    char buf[512];

    ksnprintf(buf, sizeof(buf), "%s\n", host);
    put("/etc/hostname", buf);

    size_t len = ksnprintf(buf, sizeof(buf),
                           "127.0.0.1\tlocalhost\n"
                           "::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "fe00::0\tip6-localnet\n"
                           "ff00::0\tip6-mcastprefix\n"
                           "ff02::1\tip6-allnodes\n"
                           "ff02::2\tip6-allrouters\n");
    u32 a = eth ? ip4_addr_get_u32(netif_ip4_addr(eth)) : 0;
    const u8 *b = (const u8 *)&a;
    if (a)
        len += ksnprintf(buf + len, sizeof(buf) - len, "%u.%u.%u.%u\t%s\n", b[0], b[1], b[2], b[3], host);
    /* run --add-host lines follow, as Docker appends them. */
    if (kopts.hosts) {
        size_t hl = strlen(kopts.hosts), all = len + hl + 1;
        char *text = kmalloc(all);
        if (text) {
            memcpy(text, buf, len);
            memcpy(text + len, kopts.hosts, hl + 1);
            put("/etc/hosts", text);
            kfree(text);
        } else {
            put("/etc/hosts", buf);
        }
    } else {
        put("/etc/hosts", buf);
    }

    if (eth) {
        len = 0;
        for (int i = 0; i < kopts.ndns; i++)
            len += ksnprintf(buf + len, sizeof(buf) - len, "nameserver %s\n", kopts.dns[i]);
        if (!kopts.ndns)
            ksnprintf(buf, sizeof(buf), "nameserver %s\n", QEMU_USER_DNS);
        put("/etc/resolv.conf", buf);
    }
}
