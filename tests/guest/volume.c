/* volume.c: a host directory mounted as a volume (docs/volumes.md), exercised as a program uses one: volume MODE DIR.
 *
 * MODE main: reads, writes, renames, directories, a large directory and a 20 MiB file,
 * hard links, "..", symlinks, attributes; runs natively on a real directory and in the
 * unikernel on a volume, and the outputs are compared ("STAT" lines are left out:
 * tests/boot/test_volumes.py checks them against the host's os.stat).
 * MODE guestonly: what only a separate mount shows (EXDEV, st_dev, no shared writable mmap).
 * MODE stress: four processes race on the same names.
 * MODE fsync: 1 MiB written and fsync'ed, "synced" printed, then wait to be killed.
 * MODE user: as a non-root user: a root-only file is EACCES, new files are the user's.
 * MODE ro: a read-only volume: every change is EROFS, reads work.
 * MODE walk: a tree of many files (tree/dNN/eNNNN, made by the test) walked twice with
 * one file open and the cwd inside: every st_ino the same both times, the open file and
 * the cwd still work, and MemFree before and after ("MEM" line) for the test to compare.
 * MODE deep: renames and links between a shallow directory and one 16 levels down
 * (made by the test, untouched before): a kernel with a small node cache must not drop
 * the first path's directory while it walks the second.
 */
#include "guest.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define BIG (20u << 20)
#define MANY 3000

static char dir[512];

static const char *at(const char *name)
{
    static char bufs[4][1024];
    static int i;
    char *b = bufs[i++ & 3];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

static int put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    return close(fd) == 0 && n == (ssize_t)strlen(text) ? 0 : -1;
}

static int has(const char *path, const char *text)
{
    char buf[4096];
    return guest_read_file(path, buf, sizeof(buf)) >= 0 && strcmp(buf, text) == 0;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void pattern(unsigned char *buf, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t o = off + i;
        buf[i] = (unsigned char)(o * 7 + (o >> 12) + (o >> 20));
    }
}

static void stat_line(const char *name)
{
    struct stat st;
    if (lstat(at(name), &st) < 0) {
        printf("STAT %s missing\n", name);
        return;
    }
    printf("STAT %s ino=%llu nlink=%llu mode=%o uid=%u gid=%u size=%lld mtime=%lld\n", name,
           (unsigned long long)st.st_ino, (unsigned long long)st.st_nlink, st.st_mode, st.st_uid, st.st_gid,
           (long long)st.st_size, (long long)st.st_mtime);
}

static void large_file(void)
{
    static unsigned char buf[1 << 20];
    int fd = open(at("big.bin"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint64_t h = 1469598103934665603ull, h2 = h;
    int ok = fd >= 0;
    for (uint64_t off = 0; ok && off < BIG; off += sizeof(buf)) {
        pattern(buf, sizeof(buf), off);
        h = fnv(h, buf, sizeof(buf));
        ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
    }
    ok = ok && close(fd) == 0;
    CHECK("large-file-write", ok);
    fd = open(at("big.bin"), O_RDONLY);
    uint64_t total = 0;
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, 256 << 10)) > 0) {
        h2 = fnv(h2, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (fd >= 0)
        close(fd);
    CHECK("large-file-read-back", total == BIG && h == h2);
    printf("big.bin fnv %016llx\n", (unsigned long long)h2);
}

static void large_dir(void)
{
    static unsigned char seen[MANY];
    DIR *d = opendir(at("many"));
    int count = 0, dup = 0, dots = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int i;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            dots++;
            continue;
        }
        if (sscanf(e->d_name, "entry-%d-", &i) == 1 && i >= 0 && i < MANY && e->d_type == DT_REG) {
            dup += seen[i]++;
            count++;
        }
    }
    if (d)
        closedir(d);
    CHECK("readdir-large", count == MANY && dup == 0 && dots == 2);
}

static void mode_main(void)
{
    CHECK("read-host-file", has(at("hello.txt"), "hello from the host\n"));
    int fd = open(at("new.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK("create", fd >= 0 && write(fd, "written by the guest\n", 21) == 21 && close(fd) == 0);
    EXPECT_ERR("create-excl", open(at("new.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    CHECK("rename", rename(at("new.txt"), at("renamed.txt")) == 0);
    EXPECT_ERR("rename-old-gone", access(at("new.txt"), F_OK), ENOENT);
    CHECK("rename-content", has(at("renamed.txt"), "written by the guest\n"));
    CHECK("mkdir", mkdir(at("d"), 0755) == 0 && mkdir(at("d/e"), 0700) == 0);
    EXPECT_ERR("mkdir-exists", mkdir(at("d"), 0755), EEXIST);
    EXPECT_ERR("rmdir-not-empty", rmdir(at("d")), ENOTEMPTY);
    CHECK("rmdir", rmdir(at("d/e")) == 0 && rmdir(at("d")) == 0);
    EXPECT_ERR("rmdir-gone", rmdir(at("d")), ENOENT);
    CHECK("mkdir-kept", mkdir(at("keep"), 0750) == 0 && put(at("keep/inner.txt"), "inner\n") == 0);
    EXPECT_ERR("unlink-dir", unlink(at("keep")), EISDIR);
    EXPECT_ERR("open-missing", open(at("missing"), O_RDONLY), ENOENT);
    EXPECT_ERR("not-a-dir", open(at("hello.txt/x"), O_RDONLY), ENOTDIR);
    large_dir();
    large_file();

    struct stat a, b;
    CHECK("link", link(at("renamed.txt"), at("link.txt")) == 0);
    CHECK("link-same-inode", stat(at("renamed.txt"), &a) == 0 && stat(at("link.txt"), &b) == 0 &&
                                 a.st_ino == b.st_ino && a.st_nlink == 2 && b.st_nlink == 2);
    CHECK("unlink", unlink(at("link.txt")) == 0 && stat(at("renamed.txt"), &a) == 0 && a.st_nlink == 1);
    EXPECT_ERR("unlink-gone", unlink(at("link.txt")), ENOENT);

    /* ".." of the mount's root is the directory it is mounted in. */
    char parent[512];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    CHECK("dotdot", stat(at(".."), &a) == 0 && stat(parent, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    char cwd[512];
    CHECK("dotdot-chdir", chdir(dir) == 0 && chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, parent) == 0);
    CHECK("getcwd-in-volume", chdir(at("keep")) == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, at("keep")) == 0 &&
                                  has("inner.txt", "inner\n"));
    CHECK("relative-dotdot", has("../hello.txt", "hello from the host\n"));

    CHECK("symlink", symlink("renamed.txt", at("sl")) == 0);
    char target[64] = {0};
    CHECK("readlink", readlink(at("sl"), target, sizeof(target) - 1) == 11 && strcmp(target, "renamed.txt") == 0);
    CHECK("follow-symlink", has(at("sl"), "written by the guest\n"));
    CHECK("lstat-symlink", lstat(at("sl"), &a) == 0 && S_ISLNK(a.st_mode) && a.st_size == 11);

    CHECK("truncate", truncate(at("renamed.txt"), 7) == 0 && has(at("renamed.txt"), "written"));
    fd = open(at("renamed.txt"), O_RDWR | O_APPEND);
    CHECK("lseek-end", fd >= 0 && lseek(fd, 0, SEEK_END) == 7);
    CHECK("append", fd >= 0 && write(fd, "!", 1) == 1 && fstat(fd, &a) == 0 && a.st_size == 8);
    CHECK("pread", fd >= 0 && pread(fd, target, 4, 3) == 4 && memcmp(target, "tten", 4) == 0);
    CHECK("fsync", fd >= 0 && fsync(fd) == 0 && fdatasync(fd) == 0);
    char link[128], fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
    ssize_t ln = readlink(fdpath, link, sizeof(link) - 1);
    if (ln >= 0)
        link[ln] = 0;
    CHECK("proc-fd-link", ln > 0 && strcmp(link, at("renamed.txt")) == 0);
    if (fd >= 0)
        close(fd);
    CHECK("ftruncate-grow", (fd = open(at("renamed.txt"), O_RDWR)) >= 0 && ftruncate(fd, 4096) == 0 &&
                                fstat(fd, &a) == 0 && a.st_size == 4096 && close(fd) == 0);
    CHECK("chmod", chmod(at("renamed.txt"), 0600) == 0 && stat(at("renamed.txt"), &a) == 0 &&
                       (a.st_mode & 07777) == 0600);
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    CHECK("utimes", utimes(at("renamed.txt"), tv) == 0 && stat(at("renamed.txt"), &a) == 0 &&
                        a.st_mtime == 1000000000);
    char xv[32] = {0}, xl[256];
    CHECK("setxattr", setxattr(at("renamed.txt"), "user.k", "value1", 6, 0) == 0);
    CHECK("getxattr", getxattr(at("renamed.txt"), "user.k", xv, sizeof(xv)) == 6 && memcmp(xv, "value1", 6) == 0);
    CHECK("getxattr-size", getxattr(at("renamed.txt"), "user.k", NULL, 0) == 6);
    EXPECT_ERR("getxattr-small", getxattr(at("renamed.txt"), "user.k", xv, 2), ERANGE);
    ssize_t xn = listxattr(at("renamed.txt"), xl, sizeof(xl));
    CHECK("listxattr", xn == 7 && memcmp(xl, "user.k", 7) == 0);
    EXPECT_ERR("setxattr-create", setxattr(at("renamed.txt"), "user.k", "v", 1, XATTR_CREATE), EEXIST);
    EXPECT_ERR("setxattr-replace", setxattr(at("renamed.txt"), "user.none", "v", 1, XATTR_REPLACE), ENODATA);
    CHECK("removexattr", removexattr(at("renamed.txt"), "user.k") == 0);
    EXPECT_ERR("getxattr-gone", getxattr(at("renamed.txt"), "user.k", xv, sizeof(xv)), ENODATA);
    EXPECT_ERR("removexattr-gone", removexattr(at("renamed.txt"), "user.k"), ENODATA);
    EXPECT_ERR("xattr-bad-namespace", setxattr(at("renamed.txt"), "bogus.k", "v", 1, 0), EOPNOTSUPP);
    struct statfs sf;
    CHECK("statfs", statfs(dir, &sf) == 0 && sf.f_bsize > 0 && sf.f_blocks > 0);

    fd = open(at("doomed"), O_RDWR | O_CREAT, 0644);
    CHECK("unlink-open-file", fd >= 0 && unlink(at("doomed")) == 0 && write(fd, "still", 5) == 5 &&
                                  pread(fd, target, 5, 0) == 5 && memcmp(target, "still", 5) == 0);
    if (fd >= 0)
        close(fd);
    EXPECT_ERR("unlinked-gone", access(at("doomed"), F_OK), ENOENT);

    /* No mkfifo: QEMU 7.2's passthrough mknod fails special files with ENXIO (its
     * fchmodat_nofollow) and removes them, for Linux's 9p client as for ours. */
    fd = open(at("hello.txt"), O_RDONLY);
    char *p = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    CHECK("mmap-private", p != MAP_FAILED && memcmp(p, "hello from the host\n", 20) == 0);
    if (fd >= 0)
        close(fd);

    DIR *d = opendir(dir);
    int names = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        names += strcmp(e->d_name, "renamed.txt") == 0 || strcmp(e->d_name, "keep") == 0 ||
                 strcmp(e->d_name, "big.bin") == 0;
    if (d)
        closedir(d);
    CHECK("readdir-sees-new-names", names == 3);

    stat_line("hello.txt");
    stat_line("renamed.txt");
    stat_line("keep");
    stat_line("keep/inner.txt");
    stat_line("big.bin");
    stat_line("sl");
}

static void mode_guestonly(void)
{
    struct stat a, b;
    CHECK("own-st_dev", stat(dir, &a) == 0 && stat("/", &b) == 0 && a.st_dev != b.st_dev);
    CHECK("setup", put(at("x.txt"), "x\n") == 0);
    EXPECT_ERR("rename-exdev", rename(at("x.txt"), "/x.txt"), EXDEV);
    CHECK("setup-root-file", put("/xdev.txt", "x\n") == 0);
    EXPECT_ERR("rename-exdev-in", rename("/xdev.txt", at("h")), EXDEV);
    EXPECT_ERR("link-exdev", link(at("x.txt"), "/x.txt"), EXDEV);
    EXPECT_ERR("rmdir-mountpoint", rmdir(dir), EBUSY);
    int fd = open(at("x.txt"), O_RDWR);
    EXPECT_ERR("mmap-shared-writable", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EINVAL);
    close(fd);
    CHECK("chown", chown(at("x.txt"), 1234, 5678) == 0 && stat(at("x.txt"), &a) == 0 && a.st_uid == 1234 &&
                       a.st_gid == 5678);
    CHECK("chown-kept", put(at("owned.txt"), "o\n") == 0 && chown(at("owned.txt"), 4321, 8765) == 0);
    CHECK("cleanup", unlink(at("x.txt")) == 0);
}

static void mode_fsync(void)
{
    static unsigned char buf[1 << 20];
    pattern(buf, sizeof(buf), 0);
    int fd = open(at("synced.bin"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK("fsync-write", fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && fsync(fd) == 0);
    printf("synced\n");
    for (;;)
        pause(); /* killed here: the data must already be on the host */
}

/* Processes racing on the same names: each request sleeps for the host, so another
 * process runs between a lookup and its use; the kernel must survive and stay consistent. */
static void mode_stress(void)
{
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        if ((kids[k] = fork()) == 0) {
            char mine[32];
            snprintf(mine, sizeof(mine), "s-%d", k);
            for (int i = 0; i < 100; i++) {
                struct stat st;
                put(at(mine), "x");
                rename(at(mine), at("shared"));
                stat(at("shared"), &st);
                link(at("shared"), at(mine));
                unlink(at("shared"));
                unlink(at(mine));
                mkdir(at("sd"), 0755);
                put(at("sd/f"), "y");
                unlink(at("sd/f"));
                rmdir(at("sd"));
                int fd = open(at("shared"), O_RDONLY);
                if (fd >= 0)
                    close(fd);
            }
            _exit(0);
        }
    }
    int ok = 1;
    for (int k = 0; k < 4; k++) {
        int status = 0;
        ok &= kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k] && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK("stress-children", ok);
    unlink(at("shared"));
    DIR *d = opendir(dir);
    int left = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        left += strncmp(e->d_name, "s-", 2) == 0 || strcmp(e->d_name, "sd") == 0 || strcmp(e->d_name, "shared") == 0;
    if (d)
        closedir(d);
    CHECK("stress-names-gone", left == 0);
    CHECK("stress-then-work", put(at("after.txt"), "after\n") == 0 && has(at("after.txt"), "after\n"));
}

static void mode_user(void)
{
    CHECK("not-root", geteuid() != 0);
    EXPECT_ERR("root-only-file", open(at("secret"), O_RDONLY), EACCES);
    CHECK("read-public", has(at("hello.txt"), "hello from the host\n"));
    CHECK("create-as-user", put(at("userfile.txt"), "mine\n") == 0);
    CHECK("mkdir-as-user", mkdir(at("userdir"), 0755) == 0);
    struct stat st;
    CHECK("owned-by-user", stat(at("userfile.txt"), &st) == 0 && st.st_uid == geteuid() && st.st_gid == getegid());
    EXPECT_ERR("chown-away", chown(at("userfile.txt"), 0, 0), EPERM);
    EXPECT_ERR("write-root-dir", open(at("rootdir/f"), O_WRONLY | O_CREAT, 0644), EACCES);
}

static void mode_ro(void)
{
    CHECK("read", has(at("hello.txt"), "hello from the host\n"));
    EXPECT_ERR("open-write", open(at("hello.txt"), O_WRONLY), EROFS);
    EXPECT_ERR("create", open(at("new.txt"), O_WRONLY | O_CREAT, 0644), EROFS);
    EXPECT_ERR("unlink", unlink(at("hello.txt")), EROFS);
    EXPECT_ERR("mkdir", mkdir(at("d"), 0755), EROFS);
    EXPECT_ERR("chmod", chmod(at("hello.txt"), 0600), EROFS);
    EXPECT_ERR("truncate", truncate(at("hello.txt"), 0), EROFS);
    EXPECT_ERR("rename", rename(at("hello.txt"), at("x")), EROFS);
    EXPECT_ERR("setxattr", setxattr(at("hello.txt"), "user.k", "v", 1, 0), EROFS);
}

/* MemFree of /proc/meminfo in KiB, or -1 (natively it says nothing about the walk). */
static long mem_free_kb(void)
{
    char buf[4096];
    if (guest_read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
        return -1;
    const char *p = strstr(buf, "MemFree:");
    return p ? strtol(p + 8, NULL, 10) : -1;
}

/* stat every file of tree/dNN: the inode numbers into inos (in readdir order, which is
 * the host's and so the same both walks), a few files read; returns the count or -1. */
static long walk_tree(const char *tree, unsigned long *inos, long cap, unsigned long *sum)
{
    DIR *top = opendir(tree);
    if (!top)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[600];
        snprintf(sub, sizeof(sub), "%s/%s", tree, de->d_name);
        DIR *d = opendir(sub);
        if (!d)
            return -1;
        struct dirent *fe;
        while ((fe = readdir(d))) {
            if (fe->d_name[0] == '.')
                continue;
            struct stat st;
            if (fstatat(dirfd(d), fe->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || n >= cap) {
                closedir(d);
                closedir(top);
                return -1;
            }
            inos[n++] = st.st_ino;
            *sum += st.st_ino ^ (unsigned long)st.st_size;
            if (n % 997 == 0) { /* read a few: an open and a read of a node walked just now */
                char buf[64];
                int fd = openat(dirfd(d), fe->d_name, O_RDONLY);
                if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
                    n = -1000000;
                if (fd >= 0)
                    close(fd);
            }
        }
        closedir(d);
    }
    closedir(top);
    return n;
}

static void mode_walk(void)
{
    enum { CAP = 40000 };
    static unsigned long first[CAP], second[CAP];
    char tree[600], kept[700], cwd[700];
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    snprintf(kept, sizeof(kept), "%s/d00/keep", tree);
    int fd = open(kept, O_RDONLY);
    CHECK("open kept", fd >= 0);
    snprintf(cwd, sizeof(cwd), "%s/d05", tree);
    CHECK("chdir", chdir(cwd) == 0);
    struct stat link_a, link_b, tree_st;
    CHECK("stat tree", stat(tree, &tree_st) == 0);
    long before = mem_free_kb();
    unsigned long sum1 = 0, sum2 = 0;
    long n1 = walk_tree(tree, first, CAP, &sum1);
    long n2 = walk_tree(tree, second, CAP, &sum2);
    long after = mem_free_kb();
    printf("WALK %ld %ld\n", n1, n2);
    CHECK("walked", n1 > 0 && n1 == n2);
    CHECK("same inodes", n1 > 0 && memcmp(first, second, (size_t)n1 * sizeof(first[0])) == 0);
    printf("SUM %lu\n", sum1);
    char buf[64] = {0};
    CHECK("open file reads", pread(fd, buf, sizeof(buf) - 1, 0) == 5 && strcmp(buf, "keep\n") == 0);
    char here[700];
    CHECK("getcwd", getcwd(here, sizeof(here)) && strcmp(here, cwd) == 0);
    struct stat up, rel;
    CHECK("dotdot", stat("..", &up) == 0 && up.st_ino == tree_st.st_ino);
    CHECK("relative", stat("e0000", &rel) == 0 && S_ISREG(rel.st_mode));
    char la[700], lb[700];
    snprintf(la, sizeof(la), "%s/d00/hardlink", tree);
    snprintf(lb, sizeof(lb), "%s/d01/e0001", tree);
    CHECK("hard link", stat(la, &link_a) == 0 && stat(lb, &link_b) == 0 && link_a.st_ino == link_b.st_ino &&
                           link_a.st_nlink == 2);
    close(fd);
    printf("MEM %ld %ld\n", before, after);
}

static void mode_deep(void)
{
    char chain[600] = "", from[700], to[900], back[900];
    for (int i = 0; i < 16; i++)
        snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "/l%02d", i);
    snprintf(from, sizeof(from), "%s/s/file", dir);
    snprintf(to, sizeof(to), "%s/t%s/moved", dir, chain);
    snprintf(back, sizeof(back), "%s/s/again", dir);
    struct stat a, b;
    CHECK("stat before", stat(from, &a) == 0);
    CHECK("rename down", rename(from, to) == 0);
    CHECK("arrived", stat(to, &b) == 0 && b.st_ino == a.st_ino);
    EXPECT_ERR("left", stat(from, &b), ENOENT);
    CHECK("rename up", rename(to, back) == 0);
    CHECK("back", stat(back, &b) == 0 && b.st_ino == a.st_ino);
    CHECK("link down", link(back, to) == 0);
    CHECK("two names", stat(to, &b) == 0 && b.st_ino == a.st_ino && b.st_nlink == 2);
    char buf[16] = {0};
    int fd = open(to, O_RDONLY);
    CHECK("reads", fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 5 && strcmp(buf, "file\n") == 0);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    guest_begin();
    if (argc < 3) {
        fprintf(stderr, "usage: volume main|guestonly|stress|fsync|user|ro|walk|deep DIR\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s", argv[2]);
    if (strcmp(argv[1], "main") == 0)
        mode_main();
    else if (strcmp(argv[1], "guestonly") == 0)
        mode_guestonly();
    else if (strcmp(argv[1], "fsync") == 0)
        mode_fsync();
    else if (strcmp(argv[1], "stress") == 0)
        mode_stress();
    else if (strcmp(argv[1], "user") == 0)
        mode_user();
    else if (strcmp(argv[1], "ro") == 0)
        mode_ro();
    else if (strcmp(argv[1], "walk") == 0)
        mode_walk();
    else if (strcmp(argv[1], "deep") == 0)
        mode_deep();
    else
        return 2;
    return guest_finish();
}
