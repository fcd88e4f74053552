/* fs.c: guest tests of the fs family: open/openat, stat family, symlinks, hardlinks, dirs, cwd, fcntl, dup. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

static char tree[PATH_MAX / 2];

static int find_tree(int argc, char **argv)
{
    return guest_find_tree(argc, argv, "fstree", tree, sizeof(tree));
}

static const char *p(const char *rel)
{
    static char buf[4][PATH_MAX + 8];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tree, rel);
    return buf[i];
}

static void test_open_read(void)
{
    char buf[64];
    CHECK("read_file", guest_read_file(p("file.txt"), buf, sizeof(buf)) == 13 && strcmp(buf, "hello fstree\n") == 0);
    CHECK("read_empty_file", guest_read_file(p("empty"), buf, sizeof(buf)) == 0);
    CHECK("read_dotdot_path", guest_read_file(p("sub/deeper/../../file.txt"), buf, sizeof(buf)) == 13);
    CHECK("read_dot_path", guest_read_file(p("./sub/./inner.txt"), buf, sizeof(buf)) == 6);
    CHECK("read_double_slash", guest_read_file(p("sub//inner.txt"), buf, sizeof(buf)) == 6);
    EXPECT_ERR("open_missing", open(p("missing"), O_RDONLY), ENOENT);
    EXPECT_ERR("open_missing_dir", open(p("missing/x"), O_RDONLY), ENOENT);
    EXPECT_ERR("open_file_as_dir", open(p("file.txt/x"), O_RDONLY), ENOTDIR);
    EXPECT_ERR("open_trailing_slash_on_file", open(p("file.txt/"), O_RDONLY), ENOTDIR);
    EXPECT_ERR("open_directory_flag_on_file", open(p("file.txt"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERR("open_empty_path", open("", O_RDONLY), ENOENT);
    EXPECT_ERR("open_dir_for_writing", open(p("sub"), O_WRONLY), EISDIR);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    EXPECT_ERR("open_name_too_long", open(p(longname), O_RDONLY), ENAMETOOLONG);
    int d = open(p("sub"), O_RDONLY | O_DIRECTORY);
    CHECK("open_directory", d >= 0);
    EXPECT_ERR("read_directory", read(d, buf, sizeof(buf)), EISDIR);
    int f = openat(d, "inner.txt", O_RDONLY);
    CHECK("openat_dirfd", f >= 0 && read(f, buf, sizeof(buf)) == 6);
    close(f);
    EXPECT_ERR("openat_file_as_dirfd", openat(open(p("file.txt"), O_RDONLY), "x", O_RDONLY), ENOTDIR);
    close(d);
    CHECK("open_dev_null", guest_read_file("/dev/null", buf, sizeof(buf)) == 0);
}

static void test_symlinks(void)
{
    char buf[PATH_MAX];
    CHECK("follow_relative_link", guest_read_file(p("link-rel"), buf, sizeof(buf)) == 13);
    CHECK("follow_link_chain", guest_read_file(p("link-chain"), buf, sizeof(buf)) == 13);
    CHECK("follow_dotdot_link", guest_read_file(p("link-up"), buf, sizeof(buf)) == 13);
    CHECK("link_to_dir_in_path", guest_read_file(p("link-dir/inner.txt"), buf, sizeof(buf)) == 6);
    EXPECT_ERR("link_loop", open(p("link-loop"), O_RDONLY), ELOOP);
    EXPECT_ERR("link_dangling", open(p("link-dangling"), O_RDONLY), ENOENT);
    EXPECT_ERR("nofollow_on_link", open(p("link-rel"), O_RDONLY | O_NOFOLLOW), ELOOP);
    int fd = open(p("link-rel"), O_PATH | O_NOFOLLOW);
    struct stat st;
    CHECK("opath_nofollow_opens_link", fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
    EXPECT_ERR("opath_cannot_read", read(fd, buf, 1), EBADF);
    close(fd);
    ssize_t n = readlink(p("link-rel"), buf, sizeof(buf));
    CHECK("readlink", n == 8 && memcmp(buf, "file.txt", 8) == 0);
    CHECK("readlink_truncates", readlink(p("link-rel"), buf, 4) == 4 && memcmp(buf, "file", 4) == 0);
    EXPECT_ERR("readlink_not_a_link", readlink(p("file.txt"), buf, sizeof(buf)), EINVAL);
    EXPECT_ERR("readlink_missing", readlink(p("missing"), buf, sizeof(buf)), ENOENT);
    int dfd = open(tree, O_RDONLY | O_DIRECTORY);
    CHECK("readlinkat", readlinkat(dfd, "link-dir", buf, sizeof(buf)) == 3 && memcmp(buf, "sub", 3) == 0);
    close(dfd);
    n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    CHECK("readlink_proc_self_exe", n > 1 && buf[0] == '/');
    if (n > 0) {
        buf[n] = 0;
        char magic[8];
        CHECK("open_proc_self_exe_target", guest_read_file(buf, magic, sizeof(magic)) > 4 && memcmp(magic, "\177ELF", 4) == 0);
    }
}

static void test_stat(void)
{
    struct stat st, st2;
    CHECK("stat_file", stat(p("file.txt"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 13 && st.st_nlink == 1);
    CHECK("stat_mode_bits", stat(p("empty"), &st) == 0 && (st.st_mode & 07777) == 0755);
    CHECK("stat_mtime", st.st_mtime == 1704164645);
    CHECK("stat_dir", stat(p("sub"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK("stat_follows_link", stat(p("link-rel"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 13);
    CHECK("lstat_link", lstat(p("link-rel"), &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 8);
    EXPECT_ERR("stat_missing", stat(p("missing"), &st), ENOENT);
    CHECK("hardlinks_share_inode", stat(p("hard1"), &st) == 0 && stat(p("hard2"), &st2) == 0 &&
                                      st.st_ino == st2.st_ino && st.st_nlink == 2);
    char buf[16];
    CHECK("hardlink_content", guest_read_file(p("hard2"), buf, sizeof(buf)) == 5 && strcmp(buf, "hard\n") == 0);
    int dfd = open(tree, O_RDONLY | O_DIRECTORY);
    CHECK("fstatat_relative", fstatat(dfd, "sub/inner.txt", &st, 0) == 0 && st.st_size == 6);
    CHECK("fstatat_nofollow", fstatat(dfd, "link-dir", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
    CHECK("fstatat_empty_path", fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
    EXPECT_ERR("fstatat_empty_without_flag", fstatat(dfd, "", &st, 0), ENOENT);
    EXPECT_ERR("fstatat_bad_flags", fstatat(dfd, "sub", &st, 0x40000000), EINVAL);
    CHECK("fstat_same_inode", stat(p("file.txt"), &st) == 0 && fstatat(dfd, "file.txt", &st2, 0) == 0 &&
                                  st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
    unsigned char sx[256];
    memset(sx, 0, sizeof(sx));
    long r = syscall(SYS_statx, dfd, "file.txt", 0, 0x7ff, sx);
    unsigned long long size;
    memcpy(&size, sx + 40, 8);
    CHECK("statx_size", r == 0 && size == 13);
    close(dfd);
    struct statfs sf;
    CHECK("statfs", statfs(tree, &sf) == 0 && sf.f_bsize > 0);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_dirs(void)
{
    DIR *d = opendir(tree);
    CHECK("opendir", d != NULL);
    char *names[32];
    int n = 0, types_ok = 1;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 32) {
        names[n++] = strdup(e->d_name);
        if (strcmp(e->d_name, "file.txt") == 0 && e->d_type != DT_REG)
            types_ok = 0;
        if (strcmp(e->d_name, "sub") == 0 && e->d_type != DT_DIR)
            types_ok = 0;
        if (strcmp(e->d_name, "link-rel") == 0 && e->d_type != DT_LNK)
            types_ok = 0;
    }
    qsort(names, (size_t)n, sizeof(names[0]), cmp);
    char joined[512] = "";
    for (int i = 0; i < n; i++) {
        strcat(joined, names[i]);
        strcat(joined, " ");
        free(names[i]);
    }
    CHECK("readdir_names", strcmp(joined, ". .. empty file.txt hard1 hard2 link-chain link-dangling "
                                          "link-dir link-loop link-rel link-up sub ") == 0);
    if (strcmp(joined, ". .. empty file.txt hard1 hard2 link-chain link-dangling link-dir link-loop link-rel link-up sub "))
        printf("  got: %s\n", joined);
    CHECK("readdir_types", types_ok);
    if (d) {
        rewinddir(d);
        CHECK("rewinddir", (e = readdir(d)) != NULL);
        closedir(d);
    }
    int fd = open(p("sub"), O_RDONLY | O_DIRECTORY);
    char buf[16];
    EXPECT_ERR("getdents_tiny_buffer", syscall(SYS_getdents64, fd, buf, 8), EINVAL);
    close(fd);
    fd = open(p("file.txt"), O_RDONLY);
    char big[512];
    EXPECT_ERR("getdents_on_file", syscall(SYS_getdents64, fd, big, sizeof(big)), ENOTDIR);
    close(fd);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_cwd(void)
{
    char old[PATH_MAX], cwd[PATH_MAX];
    CHECK("getcwd", getcwd(old, sizeof(old)) != NULL && old[0] == '/');
    CHECK("chdir", chdir(p("sub")) == 0 && getcwd(cwd, sizeof(cwd)) && ends_with(cwd, "/fstree/sub"));
    char buf[16];
    CHECK("relative_open_after_chdir", guest_read_file("inner.txt", buf, sizeof(buf)) == 6);
    CHECK("chdir_dotdot", chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && ends_with(cwd, "/fstree"));
    CHECK("chdir_through_link", chdir("link-dir") == 0 && getcwd(cwd, sizeof(cwd)) && ends_with(cwd, "/fstree/sub"));
    EXPECT_ERR("chdir_to_file", chdir(p("file.txt")), ENOTDIR);
    EXPECT_ERR("chdir_missing", chdir(p("missing")), ENOENT);
    EXPECT_ERR("getcwd_small_buffer", syscall(SYS_getcwd, cwd, 2), ERANGE);
    int fd = open(tree, O_RDONLY | O_DIRECTORY);
    CHECK("fchdir", fchdir(fd) == 0 && getcwd(cwd, sizeof(cwd)) && ends_with(cwd, "/fstree"));
    close(fd);
    CHECK("chdir_root", chdir("/") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0);
    CHECK("dotdot_at_root", chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0);
    CHECK("chdir_back", chdir(old) == 0);
}

static void test_access(void)
{
    CHECK("access_exists", access(p("file.txt"), F_OK) == 0);
    CHECK("access_read", access(p("file.txt"), R_OK) == 0);
    CHECK("access_exec_dir", access(p("sub"), X_OK) == 0);
    EXPECT_ERR("access_exec_plain_file", access(p("file.txt"), X_OK), EACCES);
    CHECK("access_exec_file", access(p("empty"), X_OK) == 0);
    EXPECT_ERR("access_missing", access(p("missing"), F_OK), ENOENT);
    EXPECT_ERR("access_bad_mode", access(p("file.txt"), 0x40), EINVAL);
    int dfd = open(tree, O_RDONLY | O_DIRECTORY);
    CHECK("faccessat", faccessat(dfd, "sub/inner.txt", R_OK, 0) == 0);
    close(dfd);
}

static void test_fds(void)
{
    int fd = open(p("file.txt"), O_RDONLY);
    CHECK("fcntl_getfl", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    int d = fcntl(fd, F_DUPFD, 20);
    CHECK("fcntl_dupfd_min", d >= 20);
    CHECK("dup_shares_offset", lseek(fd, 5, SEEK_SET) == 5 && lseek(d, 0, SEEK_CUR) == 5);
    close(d);
    d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    CHECK("fcntl_dupfd_cloexec", d >= 0 && fcntl(d, F_GETFD) == FD_CLOEXEC);
    CHECK("fcntl_setfd", fcntl(d, F_SETFD, 0) == 0 && fcntl(d, F_GETFD) == 0);
    close(d);
    CHECK("fcntl_setfl_nonblock", fcntl(fd, F_SETFL, O_NONBLOCK) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    CHECK("fcntl_setlk", fcntl(fd, F_SETLK, &fl) == 0);
    EXPECT_ERR("fcntl_bad_cmd", fcntl(fd, 12345), EINVAL);
    CHECK("dup", (d = dup(fd)) >= 0 && close(d) == 0);
    CHECK("dup2", dup2(fd, 30) == 30 && lseek(30, 0, SEEK_CUR) == 5);
    CHECK("dup2_same", dup2(30, 30) == 30);
    CHECK("dup3_cloexec", dup3(fd, 31, O_CLOEXEC) == 31 && fcntl(31, F_GETFD) == FD_CLOEXEC);
    EXPECT_ERR("dup3_same", dup3(31, 31, 0), EINVAL);
    EXPECT_ERR("dup_bad_fd", dup(-1), EBADF);
    EXPECT_ERR("dup2_bad_fd", dup2(99, 40), EBADF);
    close(30);
    close(31);
    CHECK("fsync_readonly_file", fsync(fd) == 0 || errno == EINVAL);
    close(fd);
    EXPECT_ERR("fcntl_bad_fd", fcntl(fd, F_GETFD), EBADF);
}

int main(int argc, char **argv)
{
    guest_begin();
    if (find_tree(argc, argv) < 0) {
        printf("FAIL setup: cannot locate the fstree fixture\n");
        return 1;
    }
    test_open_read();
    test_symlinks();
    test_stat();
    test_dirs();
    test_cwd();
    test_access();
    test_fds();
    return guest_finish();
}
