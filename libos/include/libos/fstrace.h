/* SPDX-License-Identifier: Apache-2.0 */
/* fstrace.h: the file-access tracer (d2u.fstrace=1): which image paths the guest touches.
 *
 * Interface (each hook is one line at its call site; all are no-ops unless enabled):
 *   fstrace_enable()                      d2u.fstrace=1 on the kernel command line.
 *   fstrace_lookup(dir, name, len, node, last)  path lookup met name in dir (node NULL:
 *                                         not there); fs/path.c and fs/namei.c call it.
 *   fstrace_readdir(dir)                  getdents on a directory (fs/file.c).
 * Each (kind, absolute path) is reported once on the log port as
 *   D2U:FSTRACE <kind> <path>
 * kind: open, stat, exec, readlink, readdir, link (a symlink traversed), missing (a
 * lookup that found nothing), lookup (any other call). The kind comes from the syscall
 * in progress; lookups the kernel makes itself (starting the program) are exec. Bytes
 * outside printable ASCII, and '\', are written \xHH. docs/slim.md has the host side.
 */
#ifndef LIBOS_FSTRACE_H
#define LIBOS_FSTRACE_H

#include <libos/types.h>

struct vnode;

extern bool fstrace_on;

void fstrace_enable(void);
void fstrace_note(struct vnode *dir, const char *name, size_t len, struct vnode *node, bool last);
void fstrace_dir(struct vnode *dir);

/* The hooks: a predictable branch when tracing is off. */
#define fstrace_lookup(dir, name, len, node, last) \
    do { if (unlikely(fstrace_on)) fstrace_note(dir, name, len, node, last); } while (0)
#define fstrace_readdir(dir) \
    do { if (unlikely(fstrace_on)) fstrace_dir(dir); } while (0)

#endif /* LIBOS_FSTRACE_H */
