/* SPDX-License-Identifier: Apache-2.0 */
/* fstrace.c: the file-access tracer behind `convert --slim`: each touched path, once, on the log port.
 *
 * The converter boots an image with d2u.fstrace=1, runs a workload and keeps what the
 * guest touched (docs/slim.md). A lookup reports the paths it meets by their absolute
 * name after symlink resolution (the directory's path, built from its entries, plus the
 * component), and every symlink it traverses, so the slim image keeps the links too.
 * A busy program looks the same paths up again and again: a bounded set of hashes of
 * (kind, path) reports each pair once; once the set is full, everything is reported
 * (more lines, never fewer paths).
 */
#include <libos/fstrace.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define SEEN_SLOTS 16384             /* a power of two: 128 KiB, only when tracing */
#define SEEN_MAX (SEEN_SLOTS / 4 * 3) /* then report everything */
#define LINE_MAX (16 + 4 * PATH_MAX)  /* "D2U:FSTRACE kind " + an escaped path */

bool fstrace_on;
static u64 *seen;
static u32 nseen;
static char *path;  /* PATH_MAX + NAME_MAX + 2 */
static char *line;  /* LINE_MAX */

void fstrace_enable(void)
{
    seen = kzalloc(SEEN_SLOTS * sizeof(u64));
    path = kmalloc(PATH_MAX + NAME_MAX + 2);
    line = kmalloc(LINE_MAX);
    if (!seen || !path || !line) {
        kinfo("d2u.fstrace=1 ignored: out of memory for the tracer");
        return;
    }
    fstrace_on = true;
}

/* The syscall in progress says what the lookup is for (x86-64 numbers, fixed by the ABI).
 * Lookups outside a syscall are the kernel starting the program. */
static const char *kind_of(const struct vnode *node)
{
    int nr = current ? current->syscall_nr : -1;
    switch (nr) {
    case 2: case 85: case 257: case 437: /* open, creat, openat, openat2 */
        return "open";
    case 4: case 6: case 21: case 137: case 262: case 269: case 332: case 439:
        return "stat"; /* stat, lstat, access, statfs, newfstatat, faccessat, statx, faccessat2 */
    case 59: case 322: /* execve, execveat */
        return "exec";
    case 89: case 267: /* readlink, readlinkat */
        return "readlink";
    case -1:
        return S_ISDIR(node->mode) ? "lookup" : "exec";
    default:
        return "lookup";
    }
}

static u64 fnv(u64 h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (u8)s[i]) * 0x100000001b3ull;
    return h;
}

/* First time for (kind, path)? Past SEEN_MAX the answer is always yes. */
static bool first_time(const char *kind, const char *p, size_t n)
{
    u64 h = fnv(fnv(0xcbf29ce484222325ull, kind, strlen(kind) + 1), p, n);
    if (!h)
        h = 1; /* 0 marks a free slot */
    if (nseen >= SEEN_MAX)
        return true;
    for (u32 i = (u32)h & (SEEN_SLOTS - 1);; i = (i + 1) & (SEEN_SLOTS - 1)) {
        if (seen[i] == h)
            return false;
        if (!seen[i]) {
            seen[i] = h;
            nseen++;
            return true;
        }
    }
}

/* Kernel-made trees are not the image's files: nothing to keep there. */
static bool synthetic(const char *p, size_t n)
{
    static const char *const tops[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
        size_t t = strlen(tops[i]);
        if (n >= t && memcmp(p, tops[i], t) == 0 && (n == t || p[t] == '/'))
            return true;
    }
    return false;
}

static void report(const char *kind, const char *p, size_t n)
{
    if (synthetic(p, n) || !first_time(kind, p, n))
        return;
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (const char *s = "D2U:FSTRACE "; *s; s++)
        line[k++] = *s;
    for (const char *s = kind; *s; s++)
        line[k++] = *s;
    line[k++] = ' ';
    for (size_t i = 0; i < n && k + 5 < LINE_MAX; i++) {
        u8 c = (u8)p[i];
        if (c > 0x20 && c < 0x7f && c != '\\') {
            line[k++] = (char)c;
        } else { /* a newline in a name must not start a line of its own */
            line[k++] = '\\', line[k++] = 'x', line[k++] = hex[c >> 4], line[k++] = hex[c & 15];
        }
    }
    line[k++] = '\n';
    klog("%.*s", (int)k, line);
}

/* dir's absolute path + "/" + name[0..len) into `path`; its length, or 0 if dir was removed. */
static size_t join(struct vnode *dir, const char *name, size_t len)
{
    long r = vfs_dir_path(dir, path, PATH_MAX);
    if (r < 0)
        return 0;
    size_t n = (size_t)r - 1;
    if (!len)
        return n;
    if (path[n - 1] != '/')
        path[n++] = '/';
    memcpy(path + n, name, len);
    return n + len;
}

void fstrace_note(struct vnode *dir, const char *name, size_t len, struct vnode *node, bool last)
{
    /* Directories on the way are kept as parents anyway; a non-directory in the middle
     * ("/etc/passwd/x": ENOTDIR) was still found, and must stay what it is. */
    if (node && !S_ISLNK(node->mode) && !last && S_ISDIR(node->mode))
        return;
    size_t n = join(dir, name, len);
    if (!n)
        return;
    if (!node)
        report("missing", path, n);
    else if (S_ISLNK(node->mode))
        report(last && !strcmp(kind_of(node), "readlink") ? "readlink" : "link", path, n);
    else
        report(kind_of(node), path, n);
}

void fstrace_dir(struct vnode *dir)
{
    if (!S_ISDIR(dir->mode))
        return;
    size_t n = join(dir, "", 0);
    if (n)
        report("readdir", path, n);
}
