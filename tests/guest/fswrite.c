/* fswrite.c: guest tests of the writable filesystem: create, write, truncate, times, modes, owners, namespace changes, mmap. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

/* Image files (libos/scripts/guest-fstree.sh): written here and restored before exiting,
 * so a second native run finds them as the image has them. */
#define IMG_TEXT "image bytes\n"
#define BIG_SIZE 10000

static char tree[PATH_MAX / 4]; /* fswtree: the image part */
static char work[PATH_MAX / 2]; /* fswtree/work: everything this test creates */

static int find_tree(int argc, char **argv)
{
    if (guest_find_tree(argc, argv, "fswtree", tree, sizeof(tree)) < 0)
        return -1;
    snprintf(work, sizeof(work), "%s/work", tree);
    return 0;
}

/* Paths under the work directory (w) and the image tree (t). */
static const char *w(const char *rel)
{
    static char buf[8][PATH_MAX];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", work, rel);
    return buf[i];
}

static const char *t(const char *rel)
{
    static char buf[4][PATH_MAX];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tree, rel);
    return buf[i];
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f) { return remove(path); }

static void rm_rf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static int put(const char *path, const char *s)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int has(const char *path, const char *want)
{
    char buf[256];
    return guest_read_file(path, buf, sizeof(buf)) >= 0 && strcmp(buf, want) == 0;
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static long long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_create_write(void)
{
    char buf[64];
    int fd = open(w("f"), O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK("create_excl", fd >= 0);
    EXPECT_ERR("create_excl_exists", open(w("f"), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
    CHECK("write", write(fd, "hello world", 11) == 11);
    CHECK("read_back", lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, sizeof(buf)) == 11 && memcmp(buf, "hello world", 11) == 0);
    struct stat st;
    CHECK("fstat_after_write", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11 && st.st_nlink == 1 &&
                                   (st.st_mode & 07777) == 0644);
    CHECK("owner_is_caller", st.st_uid == geteuid() && st.st_gid == getegid());
    close(fd);
    EXPECT_ERR("write_readonly_fd", write(fd = open(w("f"), O_RDONLY), "x", 1), EBADF);
    close(fd);
    fd = open(w("f"), O_WRONLY | O_TRUNC);
    CHECK("o_trunc", fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    fd = open(w("f"), O_WRONLY | O_APPEND);
    CHECK("o_append", write(fd, "ab", 2) == 2 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "cd", 2) == 2 &&
                          lseek(fd, 0, SEEK_CUR) == 4 && has(w("f"), "abcd"));
    CHECK("pwrite_with_o_append_appends", pwrite(fd, "ef", 2, 0) == 2 && has(w("f"), "abcdef"));
    close(fd);
    int d = dup(fd = open(w("f"), O_WRONLY));
    CHECK("dup_shares_write_offset", write(fd, "12", 2) == 2 && write(d, "34", 2) == 2 && has(w("f"), "1234ef"));
    close(fd);
    close(d);
    CHECK("creat_existing_keeps", (fd = open(w("f"), O_CREAT | O_RDONLY, 0600)) >= 0 && has(w("f"), "1234ef") &&
                                      fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0644);
    close(fd);
    EXPECT_ERR("creat_trailing_slash", open(w("new/"), O_CREAT | O_WRONLY, 0644), EISDIR);
    EXPECT_ERR("creat_on_directory", open(work, O_CREAT | O_RDONLY, 0644), EISDIR);
    EXPECT_ERR("creat_with_o_directory", open(w("new-dir"), O_CREAT | O_DIRECTORY | O_RDONLY, 0644), EINVAL);
    EXPECT_ERR("creat_in_missing_dir", open(w("missing/x"), O_CREAT | O_WRONLY, 0644), ENOENT);
    EXPECT_ERR("creat_under_file", open(w("f/x"), O_CREAT | O_WRONLY, 0644), ENOTDIR);
    EXPECT_ERR("write_bad_fd", write(-1, "x", 1), EBADF);
    CHECK("symlink_dangling", symlink("made-through-link", w("dangling")) == 0);
    fd = open(w("dangling"), O_CREAT | O_WRONLY, 0644);
    CHECK("creat_through_dangling_link", fd >= 0 && write(fd, "via", 3) == 3 && has(w("made-through-link"), "via"));
    close(fd);
    EXPECT_ERR("creat_excl_on_link", open(w("dangling"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERR("creat_nofollow_on_link", open(w("dangling"), O_CREAT | O_NOFOLLOW | O_WRONLY, 0644), ELOOP);
    int dfd = open(work, O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "at", O_CREAT | O_RDWR, 0600);
    CHECK("openat_creat", fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    close(fd);
    close(dfd);
}

static void test_offsets(void)
{
    char buf[64];
    int fd = open(w("sparse"), O_CREAT | O_RDWR, 0644);
    CHECK("pwrite_past_eof", pwrite(fd, "end", 3, 10000) == 3 && size_of(w("sparse")) == 10003);
    CHECK("hole_reads_zero", pread(fd, buf, 16, 5000) == 16 && all_zero(buf, 16));
    CHECK("pread_after_hole", pread(fd, buf, 8, 10000) == 3 && memcmp(buf, "end", 3) == 0);
    CHECK("lseek_end", lseek(fd, 0, SEEK_END) == 10003);
    struct iovec iov[2] = {{"AB", 2}, {"CD", 2}};
    CHECK("pwritev", pwritev(fd, iov, 2, 4094) == 4 && pread(fd, buf, 4, 4094) == 4 && memcmp(buf, "ABCD", 4) == 0);
    CHECK("pwrite_keeps_position", lseek(fd, 0, SEEK_CUR) == 10003);
    EXPECT_ERR("pwrite_negative_offset", pwrite(fd, "x", 1, -1), EINVAL);
    close(fd);

    static char big[3 * 4096 + 100], back[sizeof(big)];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 23);
    fd = open(w("pages"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK("write_pages", write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
    CHECK("read_pages", pread(fd, back, sizeof(back), 0) == (ssize_t)sizeof(back) && memcmp(big, back, sizeof(big)) == 0);
    CHECK("ftruncate_shrink", ftruncate(fd, 3) == 0 && size_of(w("pages")) == 3);
    CHECK("ftruncate_grow_zeroes", ftruncate(fd, 6000) == 0 && pread(fd, back, 6000, 0) == 6000 &&
                                       memcmp(back, big, 3) == 0 && all_zero(back + 3, 5997));
    EXPECT_ERR("ftruncate_negative", ftruncate(fd, -1), EINVAL);
    close(fd);
    fd = open(w("pages"), O_RDONLY);
    EXPECT_ERR("ftruncate_readonly_fd", ftruncate(fd, 0), EINVAL);
    close(fd);
    EXPECT_ERR("ftruncate_bad_fd", ftruncate(-1, 0), EBADF);
    CHECK("truncate_path", truncate(w("pages"), 1) == 0 && size_of(w("pages")) == 1);
    EXPECT_ERR("truncate_directory", truncate(work, 0), EISDIR);
    EXPECT_ERR("truncate_missing", truncate(w("missing"), 0), ENOENT);
    fd = open(w("alloc"), O_CREAT | O_RDWR, 0644);
    CHECK("fallocate", fallocate(fd, 0, 0, 8192) == 0 && size_of(w("alloc")) == 8192);
    CHECK("fallocate_keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000) == 0 && size_of(w("alloc")) == 8192);
    EXPECT_ERR("fallocate_bad_len", fallocate(fd, 0, 0, 0), EINVAL);
    close(fd);
}

static int ts_is(struct timespec a, time_t sec, long nsec) { return a.tv_sec == sec && a.tv_nsec == nsec; }

static void test_times(void)
{
    struct stat st;
    int fd = open(w("timed"), O_CREAT | O_RDWR, 0644);
    struct timespec ts[2] = {{123456789, 500}, {987654321, 42}};
    CHECK("utimensat_explicit", utimensat(AT_FDCWD, w("timed"), ts, 0) == 0 && stat(w("timed"), &st) == 0 &&
                                    ts_is(st.st_atim, 123456789, 500) && ts_is(st.st_mtim, 987654321, 42));
    time_t before = time(NULL);
    CHECK("write_updates_mtime", write(fd, "x", 1) == 1 && fstat(fd, &st) == 0 && st.st_mtime >= before &&
                                     st.st_ctime >= before && ts_is(st.st_atim, 123456789, 500));
    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    CHECK("utime_omit_and_now", utimensat(AT_FDCWD, w("timed"), ts, 0) == 0 &&
                                    utimensat(AT_FDCWD, w("timed"), omit_now, 0) == 0 && stat(w("timed"), &st) == 0 &&
                                    ts_is(st.st_atim, 123456789, 500) && st.st_mtime >= before);
    CHECK("futimens_now", futimens(fd, NULL) == 0 && fstat(fd, &st) == 0 && st.st_atime >= before && st.st_mtime >= before);
    CHECK("ftruncate_updates_mtime", utimensat(AT_FDCWD, w("timed"), ts, 0) == 0 && ftruncate(fd, 0) == 0 &&
                                         fstat(fd, &st) == 0 && st.st_mtime >= before);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    EXPECT_ERR("utimensat_bad_nsec", utimensat(AT_FDCWD, w("timed"), bad, 0), EINVAL);
    EXPECT_ERR("utimensat_bad_flags", utimensat(AT_FDCWD, w("timed"), ts, 0x8000), EINVAL);
    EXPECT_ERR("utimensat_missing", utimensat(AT_FDCWD, w("missing"), ts, 0), ENOENT);
    CHECK("symlink_for_times", symlink("timed", w("timed-link")) == 0);
    CHECK("utimensat_nofollow", utimensat(AT_FDCWD, w("timed-link"), ts, AT_SYMLINK_NOFOLLOW) == 0 &&
                                    lstat(w("timed-link"), &st) == 0 && ts_is(st.st_mtim, 987654321, 42));
    struct timeval tv[2] = {{1000, 1}, {2000, 2}};
    CHECK("utimes", syscall(SYS_utimes, w("timed"), tv) == 0 && stat(w("timed"), &st) == 0 &&
                        ts_is(st.st_atim, 1000, 1000) && ts_is(st.st_mtim, 2000, 2000));
    struct stat dir_before, dir_after;
    stat(work, &dir_before);
    CHECK("create_updates_dir_mtime", utimensat(AT_FDCWD, work, ts, 0) == 0 && put(w("touch-dir"), "") == 0 &&
                                          stat(work, &dir_after) == 0 && dir_after.st_mtime >= before);
    close(fd);
}

static void test_modes_owners(void)
{
    struct stat st;
    int fd = open(w("moded"), O_CREAT | O_RDWR, 0644);
    CHECK("chmod", chmod(w("moded"), 0600) == 0 && stat(w("moded"), &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK("fchmod", fchmod(fd, 0640) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640);
    int dfd = open(work, O_RDONLY | O_DIRECTORY);
    CHECK("fchmodat", fchmodat(dfd, "moded", 04755, 0) == 0 && stat(w("moded"), &st) == 0 && (st.st_mode & 07777) == 04755);
    CHECK("chmod_keeps_type", S_ISREG(st.st_mode));
    EXPECT_ERR("chmod_missing", chmod(w("missing"), 0644), ENOENT);
    EXPECT_ERR("fchmod_bad_fd", fchmod(-1, 0644), EBADF);
    int opath = open(w("moded"), O_PATH);
    EXPECT_ERR("fchmod_opath", syscall(SYS_fchmod, opath, 0644), EBADF); /* musl retries via /proc/self/fd */
    close(opath);
    CHECK("symlink_for_modes", symlink("moded", w("moded-link")) == 0);
    CHECK("chmod_follows_link", chmod(w("moded-link"), 04755) == 0 && stat(w("moded"), &st) == 0 &&
                                    (st.st_mode & 07777) == 04755 && lstat(w("moded-link"), &st) == 0 &&
                                    (st.st_mode & 07777) == 0777);
    /* Run as root natively too (the harness needs root for fswrite), as in the unikernel. */
    CHECK("chown_records", chown(w("moded"), 1234, 5678) == 0 && stat(w("moded"), &st) == 0 && st.st_uid == 1234 &&
                               st.st_gid == 5678);
    CHECK("chown_clears_setuid", (st.st_mode & 07777) == 0755);
    CHECK("fchown_keeps_minus_one", fchown(fd, (uid_t)-1, 42) == 0 && fstat(fd, &st) == 0 && st.st_uid == 1234 &&
                                        st.st_gid == 42);
    CHECK("lchown_link_only", lchown(w("moded-link"), 7, 8) == 0 && lstat(w("moded-link"), &st) == 0 &&
                                  st.st_uid == 7 && stat(w("moded"), &st) == 0 && st.st_uid == 1234);
    CHECK("fchownat_nofollow", fchownat(dfd, "moded-link", 9, 9, AT_SYMLINK_NOFOLLOW) == 0 &&
                                   lstat(w("moded-link"), &st) == 0 && st.st_uid == 9 && st.st_gid == 9);
    EXPECT_ERR("chown_missing", chown(w("missing"), 0, 0), ENOENT);
    EXPECT_ERR("fchownat_bad_flags", fchownat(dfd, "moded", 0, 0, 0x8000), EINVAL);
    EXPECT_ERR("fchown_bad_fd", fchown(-1, 0, 0), EBADF);
    close(dfd);
    close(fd);
}

static void test_dirs(void)
{
    struct stat st, parent_before, parent_after;
    stat(work, &parent_before);
    CHECK("mkdir", mkdir(w("d"), 0777) == 0 && stat(w("d"), &st) == 0 && S_ISDIR(st.st_mode) &&
                       (st.st_mode & 07777) == 0755 && st.st_nlink == 2);
    CHECK("mkdir_counts_parent_link", stat(work, &parent_after) == 0 && parent_after.st_nlink == parent_before.st_nlink + 1);
    EXPECT_ERR("mkdir_exists", mkdir(w("d"), 0755), EEXIST);
    EXPECT_ERR("mkdir_over_file", mkdir(w("f"), 0755), EEXIST);
    EXPECT_ERR("mkdir_missing_parent", mkdir(w("missing/x"), 0755), ENOENT);
    EXPECT_ERR("mkdir_under_file", mkdir(w("f/x"), 0755), ENOTDIR);
    EXPECT_ERR("mkdir_dot", mkdir(w("d/."), 0755), EEXIST);
    CHECK("mkdir_trailing_slash", mkdir(w("d2/"), 0755) == 0);
    int dfd = open(work, O_RDONLY | O_DIRECTORY);
    CHECK("mkdirat", mkdirat(dfd, "d3", 0700) == 0 && stat(w("d3"), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK("create_in_new_dir", put(w("d/inner"), "in") == 0 && has(w("d/inner"), "in"));
    EXPECT_ERR("rmdir_not_empty", rmdir(w("d")), ENOTEMPTY);
    EXPECT_ERR("rmdir_file", rmdir(w("f")), ENOTDIR);
    EXPECT_ERR("rmdir_missing", rmdir(w("missing")), ENOENT);
    EXPECT_ERR("rmdir_dot", rmdir(w("d2/.")), EINVAL);
    EXPECT_ERR("rmdir_dotdot", rmdir(w("d2/..")), ENOTEMPTY);
    CHECK("rmdir", rmdir(w("d2")) == 0 && stat(w("d2"), &st) == -1 && errno == ENOENT);
    EXPECT_ERR("unlinkat_bad_flags", unlinkat(dfd, "d3", 0x1), EINVAL);
    CHECK("unlinkat_removedir", unlinkat(dfd, "d3", AT_REMOVEDIR) == 0);
    CHECK("rmdir_restores_parent_links", stat(work, &parent_after) == 0 && parent_after.st_nlink == parent_before.st_nlink + 1);
    close(dfd);

    /* A removed cwd: getcwd fails, nothing can be created in it, ".." still leads out. */
    char here[PATH_MAX], cwd[PATH_MAX];
    getcwd(here, sizeof(here));
    CHECK("mkdir_for_cwd", mkdir(w("gone"), 0755) == 0 && chdir(w("gone")) == 0);
    CHECK("rmdir_cwd", rmdir(w("gone")) == 0);
    EXPECT_ERR("getcwd_removed", syscall(SYS_getcwd, cwd, sizeof(cwd)), ENOENT);
    EXPECT_ERR("create_in_removed_dir", open("x", O_CREAT | O_WRONLY, 0644), ENOENT);
    CHECK("dotdot_from_removed_dir", chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, work) == 0);
    chdir(here);

    /* getdents64 over a directory that changed. */
    mkdir(w("ls"), 0755);
    put(w("ls/x"), "");
    put(w("ls/y"), "");
    put(w("ls/z"), "");
    unlink(w("ls/y"));
    mkdir(w("ls/w"), 0755);
    DIR *d = opendir(w("ls"));
    char joined[128] = "";
    struct dirent *e;
    int n = 0;
    char *names[16];
    while (d && (e = readdir(d)) && n < 16)
        names[n++] = strdup(e->d_name);
    for (int i = 0; i < n; i++) /* insertion sort: order is filesystem-specific */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    for (int i = 0; i < n; i++) {
        strcat(joined, names[i]);
        strcat(joined, " ");
        free(names[i]);
    }
    CHECK("getdents_after_changes", strcmp(joined, ". .. w x z ") == 0);
    if (strcmp(joined, ". .. w x z "))
        printf("  got: %s\n", joined);
    if (d)
        closedir(d);
}

static void test_unlink(void)
{
    char buf[64];
    struct stat st;
    put(w("victim"), "v");
    CHECK("unlink", unlink(w("victim")) == 0 && stat(w("victim"), &st) == -1 && errno == ENOENT);
    EXPECT_ERR("unlink_missing", unlink(w("victim")), ENOENT);
    EXPECT_ERR("unlink_directory", unlink(w("d")), EISDIR);
    EXPECT_ERR("unlink_trailing_slash", unlink(w("f/")), ENOTDIR);
    EXPECT_ERR("unlink_through_file", unlink(w("f/x")), ENOTDIR);
    int fd = open(w("open-victim"), O_CREAT | O_RDWR, 0644);
    write(fd, "keep", 4);
    CHECK("unlink_open_file", unlink(w("open-victim")) == 0 && access(w("open-victim"), F_OK) == -1);
    CHECK("unlinked_still_readable", pread(fd, buf, sizeof(buf), 0) == 4 && memcmp(buf, "keep", 4) == 0);
    CHECK("unlinked_nlink_zero", fstat(fd, &st) == 0 && st.st_nlink == 0);
    CHECK("unlinked_still_writable", pwrite(fd, "er", 2, 4) == 2 && pread(fd, buf, sizeof(buf), 0) == 6 &&
                                         memcmp(buf, "keeper", 6) == 0);
    EXPECT_ERR("link_unlinked_fd", linkat(fd, "", AT_FDCWD, w("revived"), AT_EMPTY_PATH), ENOENT);
    close(fd);
}

static ino_t ino_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static void test_rename(void)
{
    struct stat st;
    char buf[64];
    put(w("r1"), "one");
    CHECK("rename", rename(w("r1"), w("r2")) == 0 && access(w("r1"), F_OK) == -1 && has(w("r2"), "two") == 0 &&
                        has(w("r2"), "one"));
    put(w("r3"), "three");
    int fd = open(w("r3"), O_RDONLY);
    ino_t src = ino_of(w("r2"));
    CHECK("rename_over_file", rename(w("r2"), w("r3")) == 0 && ino_of(w("r3")) == src && has(w("r3"), "one"));
    CHECK("replaced_file_stays_open", pread(fd, buf, sizeof(buf), 0) == 5 && memcmp(buf, "three", 5) == 0);
    close(fd);
    CHECK("rename_same_name", rename(w("r3"), w("r3")) == 0 && has(w("r3"), "one"));
    CHECK("rename_hardlinks", link(w("r3"), w("r3-hard")) == 0 && rename(w("r3"), w("r3-hard")) == 0 &&
                                  access(w("r3"), F_OK) == 0 && access(w("r3-hard"), F_OK) == 0);
    EXPECT_ERR("rename_missing", rename(w("missing"), w("x")), ENOENT);
    EXPECT_ERR("rename_into_missing_dir", rename(w("r3"), w("missing/x")), ENOENT);
    EXPECT_ERR("rename_dot", rename(w("d/."), w("x")), EBUSY);

    mkdir(w("a"), 0755);
    mkdir(w("a/sub"), 0755);
    mkdir(w("b"), 0755);
    put(w("a/sub/file"), "deep");
    struct stat a0, b0, a1, b1;
    stat(w("a"), &a0);
    stat(w("b"), &b0);
    CHECK("rename_dir", rename(w("a/sub"), w("b/moved")) == 0 && has(w("b/moved/file"), "deep"));
    CHECK("moved_dir_dotdot", stat(w("b/moved/.."), &st) == 0 && st.st_ino == b0.st_ino);
    CHECK("rename_dir_links", stat(w("a"), &a1) == 0 && stat(w("b"), &b1) == 0 && a1.st_nlink == a0.st_nlink - 1 &&
                                  b1.st_nlink == b0.st_nlink + 1);
    EXPECT_ERR("rename_dir_into_itself", rename(w("b"), w("b/moved/inside")), EINVAL);
    EXPECT_ERR("rename_dir_over_nonempty", rename(w("a"), w("b")), ENOTEMPTY);
    EXPECT_ERR("rename_dir_over_file", rename(w("a"), w("r3")), ENOTDIR);
    EXPECT_ERR("rename_file_over_dir", rename(w("r3"), w("a")), EISDIR);
    EXPECT_ERR("rename_file_trailing_slash", rename(w("r3"), w("r4/")), ENOTDIR);
    mkdir(w("empty"), 0755);
    CHECK("rename_dir_over_empty_dir", rename(w("a"), w("empty")) == 0 && access(w("a"), F_OK) == -1 &&
                                           stat(w("empty"), &st) == 0 && S_ISDIR(st.st_mode));

    put(w("x1"), "x1");
    put(w("x2"), "x2");
    EXPECT_ERR("renameat2_noreplace_exists", syscall(SYS_renameat2, AT_FDCWD, w("x1"), AT_FDCWD, w("x2"), 1), EEXIST);
    CHECK("renameat2_noreplace", syscall(SYS_renameat2, AT_FDCWD, w("x1"), AT_FDCWD, w("x3"), 1) == 0 && has(w("x3"), "x1"));
    CHECK("renameat2_exchange", syscall(SYS_renameat2, AT_FDCWD, w("x2"), AT_FDCWD, w("x3"), 2) == 0 &&
                                    has(w("x2"), "x1") && has(w("x3"), "x2"));
    CHECK("renameat2_exchange_dir_and_file", syscall(SYS_renameat2, AT_FDCWD, w("x2"), AT_FDCWD, w("b"), 2) == 0 &&
                                                 has(w("b"), "x1") && has(w("x2/moved/file"), "deep"));
    EXPECT_ERR("renameat2_exchange_missing", syscall(SYS_renameat2, AT_FDCWD, w("x3"), AT_FDCWD, w("nope"), 2), ENOENT);
    EXPECT_ERR("renameat2_bad_flags", syscall(SYS_renameat2, AT_FDCWD, w("x3"), AT_FDCWD, w("x4"), 3), EINVAL);
    int dfd = open(work, O_RDONLY | O_DIRECTORY);
    CHECK("renameat", renameat(dfd, "x3", dfd, "x4") == 0 && has(w("x4"), "x2"));
    close(dfd);
}

static void test_links(void)
{
    struct stat st;
    char buf[64];
    put(w("l1"), "shared");
    CHECK("link", link(w("l1"), w("l2")) == 0 && ino_of(w("l1")) == ino_of(w("l2")) && stat(w("l1"), &st) == 0 &&
                      st.st_nlink == 2);
    int fd = open(w("l2"), O_WRONLY | O_APPEND);
    CHECK("link_shares_data", write(fd, "!", 1) == 1 && has(w("l1"), "shared!"));
    close(fd);
    EXPECT_ERR("link_exists", link(w("l1"), w("l2")), EEXIST);
    EXPECT_ERR("link_directory", link(w("d"), w("d-link")), EPERM);
    EXPECT_ERR("link_missing", link(w("missing"), w("x")), ENOENT);
    CHECK("unlink_one_link", unlink(w("l1")) == 0 && stat(w("l2"), &st) == 0 && st.st_nlink == 1);
    CHECK("symlink", symlink("l2", w("sl")) == 0 && readlink(w("sl"), buf, sizeof(buf)) == 2 && memcmp(buf, "l2", 2) == 0);
    CHECK("symlink_resolves", has(w("sl"), "shared!"));
    EXPECT_ERR("symlink_exists", symlink("x", w("sl")), EEXIST);
    EXPECT_ERR("symlink_empty_target", symlink("", w("sl-empty")), ENOENT);
    EXPECT_ERR("symlink_missing_dir", symlink("x", w("missing/sl")), ENOENT);
    int dfd = open(work, O_RDONLY | O_DIRECTORY);
    CHECK("symlinkat", symlinkat("/abs/target", dfd, "sl-abs") == 0 && readlink(w("sl-abs"), buf, sizeof(buf)) == 11);
    CHECK("linkat_nofollow_links_symlink", linkat(dfd, "sl", dfd, "sl-hard", 0) == 0 && lstat(w("sl-hard"), &st) == 0 &&
                                               S_ISLNK(st.st_mode));
    CHECK("linkat_follow_links_target", linkat(dfd, "sl", dfd, "l3", AT_SYMLINK_FOLLOW) == 0 &&
                                            ino_of(w("l3")) == ino_of(w("l2")));
    EXPECT_ERR("linkat_bad_flags", linkat(dfd, "l2", dfd, "l4", 0x8000), EINVAL);
    close(dfd);
}

static void test_mmap(void)
{
    static char page[3 * 4096];
    memset(page, 'p', sizeof(page));
    int fd = open(w("mapped"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, page, sizeof(page));
    pwrite(fd, "MARK", 4, 5000);
    char *m = mmap(NULL, sizeof(page), PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap_sees_writes", m != MAP_FAILED && m[0] == 'p' && memcmp(m + 5000, "MARK", 4) == 0);
    CHECK("mmap_untouched_page_sees_later_write", pwrite(fd, "LATE", 4, 9000) == 4 && m != MAP_FAILED &&
                                                      memcmp(m + 9000, "LATE", 4) == 0);
    if (m != MAP_FAILED)
        munmap(m, sizeof(page));
    m = mmap(NULL, sizeof(page), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char buf[4];
    CHECK("mmap_private_write_stays_private", m != MAP_FAILED && (m[0] = 'Q') == 'Q' && pread(fd, buf, 1, 0) == 1 &&
                                                  buf[0] == 'p');
    if (m != MAP_FAILED)
        munmap(m, sizeof(page));
    m = mmap(NULL, sizeof(page), PROT_READ, MAP_SHARED, fd, 0);
    CHECK("mmap_shared_readonly", m != MAP_FAILED && memcmp(m + 5000, "MARK", 4) == 0);
    if (m != MAP_FAILED)
        munmap(m, sizeof(page));
    /* Writable and shared (the file is open for writing): the mapping is the file. */
    m = mmap(NULL, sizeof(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap_shared_store_reaches_file", m != MAP_FAILED && memcpy(m + 6000, "SHRD", 4) &&
                                                pread(fd, buf, 4, 6000) == 4 && memcmp(buf, "SHRD", 4) == 0);
    CHECK("mmap_shared_sees_later_write", m != MAP_FAILED && m[100] == 'p' && pwrite(fd, "NEW", 3, 100) == 3 &&
                                              memcmp(m + 100, "NEW", 3) == 0);
    if (m != MAP_FAILED)
        munmap(m, sizeof(page));
    m = mmap(NULL, sizeof(page), PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    CHECK("mmap_survives_unlink", unlink(w("mapped")) == 0 && m != MAP_FAILED && memcmp(m + 5000, "MARK", 4) == 0 &&
                                      m[2 * 4096 + 10] == 'p');
    if (m != MAP_FAILED)
        munmap(m, sizeof(page));
}

/* Files that came with the image: written, renamed and removed, then put back. */
static void test_image_files(void)
{
    char buf[64];
    static char big[BIG_SIZE];
    int fd = open(t("img.txt"), O_RDWR);
    CHECK("image_file_writable", fd >= 0 && pwrite(fd, "IMAGE", 5, 0) == 5 && has(t("img.txt"), "IMAGE bytes\n"));
    CHECK("image_file_size_kept", size_of(t("img.txt")) == (long long)strlen(IMG_TEXT));
    CHECK("image_file_restored", pwrite(fd, IMG_TEXT, strlen(IMG_TEXT), 0) == (ssize_t)strlen(IMG_TEXT) &&
                                     has(t("img.txt"), IMG_TEXT));
    close(fd);

    fd = open(t("big.bin"), O_RDWR);
    CHECK("image_big_cow_middle", pwrite(fd, "XYZ", 3, 5000) == 3 && pread(fd, big, BIG_SIZE, 0) == BIG_SIZE &&
                                      big[4999] == 'a' && memcmp(big + 5000, "XYZ", 3) == 0 && big[5003] == 'a' &&
                                      big[BIG_SIZE - 1] == 'a');
    char *m = mmap(NULL, BIG_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("image_mmap_after_write", m != MAP_FAILED && memcmp(m + 5000, "XYZ", 3) == 0 && m[100] == 'a' &&
                                        m[BIG_SIZE - 1] == 'a');
    if (m != MAP_FAILED)
        munmap(m, BIG_SIZE);
    CHECK("image_truncate_then_grow", ftruncate(fd, 4100) == 0 && ftruncate(fd, BIG_SIZE) == 0 &&
                                          pread(fd, big, BIG_SIZE, 0) == BIG_SIZE && big[4099] == 'a' &&
                                          all_zero(big + 4100, BIG_SIZE - 4100));
    memset(big, 'a', BIG_SIZE);
    CHECK("image_big_restored", pwrite(fd, big, BIG_SIZE, 0) == BIG_SIZE && size_of(t("big.bin")) == BIG_SIZE);
    close(fd);

    CHECK("image_rename", rename(t("imgdir/a"), t("imgdir/a2")) == 0 && has(t("imgdir/a2"), "a\n") &&
                              rename(t("imgdir/a2"), t("imgdir/a")) == 0);
    CHECK("image_unlink", link(t("img.txt"), w("img-keep")) == 0 && unlink(t("img.txt")) == 0 &&
                              access(t("img.txt"), F_OK) == -1 && has(w("img-keep"), IMG_TEXT));
    CHECK("image_relink", rename(w("img-keep"), t("img.txt")) == 0 && has(t("img.txt"), IMG_TEXT));
    EXPECT_ERR("image_rmdir_not_empty", rmdir(t("imgdir")), ENOTEMPTY);
    CHECK("image_dir_new_entry", put(t("imgdir/new"), "n") == 0 && has(t("imgdir/new"), "n") &&
                                     unlink(t("imgdir/new")) == 0);

    int out = open(w("copy"), O_CREAT | O_WRONLY | O_TRUNC, 0644), in = open(t("img.txt"), O_RDONLY);
    CHECK("sendfile_into_new_file", sendfile(out, in, NULL, 100) == (ssize_t)strlen(IMG_TEXT) && has(w("copy"), IMG_TEXT));
    close(in);
    close(out);
    (void)buf;
}

static void test_statfs(void)
{
    struct statvfs sv;
    CHECK("statvfs_writable", statvfs(work, &sv) == 0 && !(sv.f_flag & ST_RDONLY));
    CHECK("statvfs_free_space", sv.f_bfree > 0 && sv.f_bavail > 0 && sv.f_blocks >= sv.f_bfree);
}

/* Search (x) permission on every directory a path walks through, for a user other
 * than root: the child works from inside the work directory with relative paths,
 * so the host directories above it (a 0700 temporary directory natively) play no
 * part. Each result is one bit of the child's exit status. */
static void test_search_permission(void)
{
    const char *dirs[][2] = {{"s700", "0700"}, {"s711", "0711"}, {"s744", "0744"}, {"s755", "0755"}};
    for (int i = 0; i < 4; i++) {
        mkdir(w(dirs[i][0]), (mode_t)strtol(dirs[i][1], NULL, 8));
        chmod(w(dirs[i][0]), (mode_t)strtol(dirs[i][1], NULL, 8));
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/f", dirs[i][0]);
        int fd = open(w(rel), O_WRONLY | O_CREAT, 0644);
        close(fd);
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(work) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(255);
        struct stat st;
        int bits = 0, fd;
        DIR *d;
        errno = 0;
        bits |= (stat("s700/f", &st) == -1 && errno == EACCES) << 0;      /* no x: no lookup */
        errno = 0;
        bits |= (open("s700/f", O_RDONLY) == -1 && errno == EACCES) << 1;
        errno = 0;
        bits |= (chdir("s700") == -1 && errno == EACCES) << 2;
        bits |= ((fd = open("s711/f", O_RDONLY)) >= 0) << 3;               /* x only: by name */
        if (fd >= 0)
            close(fd);
        errno = 0;
        bits |= ((d = opendir("s711")) == NULL && errno == EACCES) << 4;   /* ...but no listing */
        if (d)
            closedir(d);
        bits |= ((d = opendir("s744")) != NULL) << 5;                      /* r without x: names */
        if (d)
            closedir(d);
        errno = 0;
        bits |= (stat("s744/f", &st) == -1 && errno == EACCES) << 6;      /* ...but no lookup */
        errno = 0;
        bits |= (access("s700/.", F_OK) == -1 && errno == EACCES) << 7;   /* "." needs x too */
        _exit(bits);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    int bits = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK("search_denied_stat", bits >= 0 && (bits & 1));
    CHECK("search_denied_open", bits >= 0 && (bits & 2));
    CHECK("search_denied_chdir", bits >= 0 && (bits & 4));
    CHECK("search_x_only_opens_by_name", bits >= 0 && (bits & 8));
    CHECK("search_x_only_cannot_list", bits >= 0 && (bits & 16));
    CHECK("search_r_only_lists", bits >= 0 && (bits & 32));
    CHECK("search_r_only_no_lookup", bits >= 0 && (bits & 64));
    CHECK("search_dot_needs_x", bits >= 0 && (bits & 128));
}

int main(int argc, char **argv)
{
    guest_begin();
    if (find_tree(argc, argv) < 0) {
        printf("FAIL setup: cannot locate the fswtree fixture\n");
        return 1;
    }
    umask(022);
    rm_rf(work);
    CHECK("mkdir_work", mkdir(work, 0755) == 0);
    test_create_write();
    test_offsets();
    test_times();
    test_modes_owners();
    test_dirs();
    test_unlink();
    test_rename();
    test_links();
    test_mmap();
    test_image_files();
    test_statfs();
    test_search_permission();
    rm_rf(work);
    CHECK("cleanup", access(work, F_OK) == -1);
    return guest_finish();
}
