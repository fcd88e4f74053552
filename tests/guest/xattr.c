/* xattr.c: guest tests of extended attributes: the user, trusted and security namespaces, sizes, flags, permissions and the errno values of Linux on ext4. */
#include "guest.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

static char dir[64];

static const char *at(const char *rel)
{
    static char buf[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
    return buf[i];
}

static int make_file(const char *rel, mode_t mode)
{
    int fd = open(at(rel), O_CREAT | O_RDWR | O_TRUNC, mode);
    if (fd >= 0)
        fchmod(fd, mode);
    return fd;
}

/* The NUL-separated list as one line, sorted (ext4 keeps its own order). */
static void list_line(char *buf, ssize_t n, char *out, size_t size)
{
    if (n < 0) {
        snprintf(out, size, "error %s", strerror(errno));
        return;
    }
    const char *names[16];
    int count = 0;
    for (ssize_t i = 0; i < n && count < 16; i += (ssize_t)strlen(buf + i) + 1)
        names[count++] = buf + i;
    for (int a = 0; a < count; a++)
        for (int b = a + 1; b < count; b++)
            if (strcmp(names[a], names[b]) > 0) {
                const char *t = names[a];
                names[a] = names[b];
                names[b] = t;
            }
    out[0] = 0;
    for (int a = 0; a < count; a++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", a ? "," : "", names[a]);
}

static void test_basic(void)
{
    int fd = make_file("f", 0644);
    CHECK("create", fd >= 0);
    CHECK("set user.a", setxattr(at("f"), "user.a", "hello", 5, 0) == 0);
    char buf[256];
    CHECK("get size", getxattr(at("f"), "user.a", NULL, 0) == 5);
    ssize_t n = getxattr(at("f"), "user.a", buf, sizeof(buf));
    CHECK("get value", n == 5 && !memcmp(buf, "hello", 5));
    EXPECT_ERR("get short buffer", getxattr(at("f"), "user.a", buf, 3), ERANGE);
    EXPECT_ERR("get missing", getxattr(at("f"), "user.none", buf, sizeof(buf)), ENODATA);
    CHECK("replace", setxattr(at("f"), "user.a", "bye", 3, XATTR_REPLACE) == 0 &&
                         getxattr(at("f"), "user.a", buf, sizeof(buf)) == 3 && !memcmp(buf, "bye", 3));
    EXPECT_ERR("create existing", setxattr(at("f"), "user.a", "x", 1, XATTR_CREATE), EEXIST);
    EXPECT_ERR("replace missing", setxattr(at("f"), "user.b", "x", 1, XATTR_REPLACE), ENODATA);
    EXPECT_ERR("bad flags", setxattr(at("f"), "user.b", "x", 1, 4), EINVAL);
    CHECK("empty value", fsetxattr(fd, "user.empty", "", 0, XATTR_CREATE) == 0 &&
                             fgetxattr(fd, "user.empty", buf, sizeof(buf)) == 0);
    char line[256];
    n = flistxattr(fd, buf, sizeof(buf));
    list_line(buf, n, line, sizeof(line));
    printf("list: %s\n", line);
    CHECK("list size", listxattr(at("f"), NULL, 0) == n);
    EXPECT_ERR("list short buffer", listxattr(at("f"), buf, 4), ERANGE);
    CHECK("remove", fremovexattr(fd, "user.empty") == 0);
    EXPECT_ERR("remove missing", removexattr(at("f"), "user.empty"), ENODATA);
    struct stat before, after;
    fstat(fd, &before);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    setxattr(at("f"), "user.t", "1", 1, 0);
    fstat(fd, &after);
    CHECK("set changes ctime", after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
                                   after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
    CHECK("set leaves mtime", after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                                  after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    close(fd);
}

static void test_names_and_sizes(void)
{
    char name[300], buf[16];
    memset(name, 'n', sizeof(name));
    memcpy(name, "user.", 5);
    name[255] = 0; /* 255 bytes: the longest name */
    CHECK("name of 255 bytes", setxattr(at("f"), name, "v", 1, 0) == 0 && getxattr(at("f"), name, buf, sizeof(buf)) == 1);
    CHECK("remove the long name", removexattr(at("f"), name) == 0);
    name[255] = 'n';
    name[256] = 0;
    EXPECT_ERR("name of 256 bytes", setxattr(at("f"), name, "v", 1, 0), ERANGE);
    EXPECT_ERR("get name of 256 bytes", getxattr(at("f"), name, buf, sizeof(buf)), ERANGE);
    EXPECT_ERR("empty name", setxattr(at("f"), "", "v", 1, 0), ERANGE);
    EXPECT_ERR("prefix only", setxattr(at("f"), "user.", "v", 1, 0), EINVAL);
    EXPECT_ERR("unknown namespace", setxattr(at("f"), "bogus.a", "v", 1, 0), EOPNOTSUPP);
    EXPECT_ERR("unknown namespace get", getxattr(at("f"), "bogus.a", buf, sizeof(buf)), EOPNOTSUPP);
    static char big[65537];
    EXPECT_ERR("value over 64 KiB", setxattr(at("f"), "user.big", big, sizeof(big), 0), E2BIG);
    volatile uintptr_t bad = 8; /* hidden from the compiler's access checks */
    EXPECT_ERR("bad name pointer", setxattr(at("f"), (const char *)bad, "v", 1, 0), EFAULT);
    EXPECT_ERR("bad value pointer", setxattr(at("f"), "user.p", (const void *)bad, 4, 0), EFAULT);
    EXPECT_ERR("missing file", setxattr(at("nosuch"), "user.a", "v", 1, 0), ENOENT);
    EXPECT_ERR("bad fd", fsetxattr(-1, "user.a", "v", 1, 0), EBADF);
    int pfd = open(at("f"), O_PATH);
    EXPECT_ERR("O_PATH fd", fgetxattr(pfd, "user.a", buf, sizeof(buf)), EBADF);
    close(pfd);
}

static void test_kinds(void)
{
    CHECK("mkdir", mkdir(at("d"), 0755) == 0);
    CHECK("user on a directory", setxattr(at("d"), "user.d", "1", 1, 0) == 0);
    CHECK("symlink", symlink("f", at("l")) == 0);
    char buf[16];
    CHECK("get through the link", getxattr(at("l"), "user.a", buf, sizeof(buf)) == 3);
    EXPECT_ERR("user on the link itself", lsetxattr(at("l"), "user.l", "1", 1, 0), EPERM);
    EXPECT_ERR("get user of the link itself", lgetxattr(at("l"), "user.a", buf, sizeof(buf)), ENODATA);
    CHECK("trusted as root", setxattr(at("f"), "trusted.t", "1", 1, 0) == 0);
    CHECK("security as root", setxattr(at("f"), "security.s", "1", 1, 0) == 0);
    CHECK("trusted on the link", lsetxattr(at("l"), "trusted.l", "1", 1, 0) == 0);
}

static void test_permissions(void)
{
    int fd = make_file("private", 0600);
    setxattr(at("private"), "user.p", "1", 1, 0);
    make_file("open", 0666);
    chmod(dir, 0755);
    close(fd);
    char buf[256], line[256];
    CHECK("seteuid 1000", seteuid(1000) == 0);
    EXPECT_ERR("read user of a 0600 file", getxattr(at("private"), "user.p", buf, sizeof(buf)), EACCES);
    EXPECT_ERR("write user of a 0600 file", setxattr(at("private"), "user.q", "1", 1, 0), EACCES);
    CHECK("write user of a 0666 file", setxattr(at("open"), "user.o", "1", 1, 0) == 0);
    EXPECT_ERR("write trusted", setxattr(at("open"), "trusted.o", "1", 1, 0), EPERM);
    EXPECT_ERR("read trusted", getxattr(at("f"), "trusted.t", buf, sizeof(buf)), ENODATA);
    EXPECT_ERR("write security", setxattr(at("open"), "security.o", "1", 1, 0), EPERM);
    CHECK("read security", getxattr(at("f"), "security.s", buf, sizeof(buf)) == 1);
    ssize_t n = listxattr(at("f"), buf, sizeof(buf));
    list_line(buf, n, line, sizeof(line));
    printf("list as uid 1000: %s\n", line);
    CHECK("seteuid 0", seteuid(0) == 0);
    n = listxattr(at("f"), buf, sizeof(buf));
    list_line(buf, n, line, sizeof(line));
    printf("list as root: %s\n", line);
}

static void cleanup(void)
{
    static const char *const files[] = {"f", "l", "private", "open"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(at(files[i]));
    rmdir(at("d"));
    rmdir(dir);
}

int main(void)
{
    guest_begin();
    snprintf(dir, sizeof(dir), "xattr.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_basic();
    test_names_and_sizes();
    test_kinds();
    test_permissions();
    cleanup();
    return guest_finish();
}
