/* SPDX-License-Identifier: Apache-2.0 */
/* volume.c: d2u.vol= at boot: each "TAG:MODE:GUESTPATH" becomes a 9P mount over the image's directory GUESTPATH.
 *
 * The mount point is made as Docker makes one (missing directories root's, 0755); its
 * entry in the parent then names the volume's root vnode, so the image's own contents
 * there are hidden, ".." of the volume's root is the parent, and the entry cannot be
 * removed or renamed (EBUSY). A tag without a device or a path that cannot be mounted
 * stops the boot with a D2U:PANIC line naming both.
 */
#include <libos/cmdline.h>
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/virtio.h>
#include "9p_internal.h"

#define VOL_DEV_MINOR 0x40 /* st_dev of volume i: makedev(0, 0x40 + i), apart from the rootfs's */

static void mount_one(unsigned idx, const char *item)
{
    const char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c1 == item)
        panic("d2u.vol: %s is not TAG:MODE:GUESTPATH", item);
    char tag[65];
    size_t tlen = (size_t)(c1 - item);
    if (tlen >= sizeof(tag))
        panic("d2u.vol: %s: the tag is longer than 64 bytes", item);
    memcpy(tag, item, tlen);
    tag[tlen] = 0;
    bool ro = (size_t)(c2 - c1 - 1) == 2 && strncmp(c1 + 1, "ro", 2) == 0;
    bool rw = (size_t)(c2 - c1 - 1) == 2 && strncmp(c1 + 1, "rw", 2) == 0;
    const char *path = c2 + 1;
    if (!ro && !rw)
        panic("d2u.vol: %s at %s: the mode is neither rw nor ro", tag, path);
    if (path[0] != '/' || strlen(path) >= PATH_MAX)
        panic("d2u.vol: %s at %s: not an absolute path", tag, path);
    long err = 0;
    struct p9_session *s = p9_session_open(tag, &err);
    if (!s)
        panic(err == -ENODEV ? "d2u.vol: %s at %s: no virtio-9p device has this mount tag"
                             : "d2u.vol: %s at %s: the 9P server refused the session", tag, path);
    struct p9_mount *m = kzalloc(sizeof(*m));
    if (!m)
        panic("d2u.vol: %s at %s: out of memory", tag, path);
    m->s = s;
    m->ro = ro;
    m->cache_max = kopts.volcache ? kopts.volcache : P9_CACHE_MAX;
    m->dev = makedev(0, VOL_DEV_MINOR + idx);
    u32 fid;
    struct p9_attr a;
    if (p9_clone(s, s->root_fid, &fid) < 0 || p9_getattr(s, fid, &a) < 0 || !S_ISDIR(a.mode))
        panic("d2u.vol: %s at %s: the host directory cannot be read", tag, path);
    struct vnode *root = p9_node_get(m, fid, &a);
    if (!root)
        panic("d2u.vol: %s at %s: out of memory", tag, path);
    m->root = root;
    vfs_mkdir_p(path);
    struct vnode *dir;
    if (vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &dir) < 0)
        panic("d2u.vol: %s at %s: not a directory of the image", tag, path);
    if (dir == vfs_root() || !dir->self || (dir->flags & (VN_PINNED | VN_DYNDIR | VN_SYNTH)))
        panic("d2u.vol: %s at %s: cannot mount there", tag, path);
    if (dir->fs)
        panic("d2u.vol: %s at %s: a volume inside another volume is not supported", tag, path);
    /* The parent's entry names the volume from now on; the image's directory is hidden. */
    struct dentry *d = dir->self;
    root->parent = dir->parent;
    root->self = d;
    root->flags |= VN_MOUNT;
    d->node = root;
    dir->self = NULL;
    kinfo("volume %s mounted at %s (%s)", tag, path, ro ? "ro" : "rw");
}

void volumes_mount(void)
{
    if (!kopts.vol || !kopts.vol[0])
        return;
    virtio_probe();
    for (unsigned i = 0; kopts.vol[i]; i++)
        mount_one(i, kopts.vol[i]);
}
