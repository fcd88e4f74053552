/* attack_limits.c: resource-exhaustion probes: fds, directory entries, name and path lengths, symlink loops.
 *
 * A program may exhaust what the kernel gives it; it must then get Linux's errno
 * (EMFILE, ENAMETOOLONG, ELOOP, ...) and the kernel must go on working. Memory and
 * VMA exhaustion are in attack_mm.c and attack_trap.c (fill_ram_then_split).
 */
#include "guest.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define NFILES 50000

static void test_fds(void)
{
    struct rlimit rl = {256, 256};
    CHECK("setrlimit_nofile_256", setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int fds[300], n = 0, err = 0;
    for (; n < 300; n++) {
        fds[n] = open("/dev/null", O_RDONLY);
        if (fds[n] < 0) {
            err = errno;
            break;
        }
    }
    CHECK("open_until_emfile", err == EMFILE && n > 200 && n < 256);
    EXPECT_ERR("dup_at_limit_emfile", dup(0), EMFILE);
    EXPECT_ERR("dup2_past_limit_ebadf", dup2(0, 256), EBADF);
    EXPECT_ERR("fcntl_dupfd_past_limit_einval", fcntl(0, F_DUPFD, 256), EINVAL);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    int fd = open("/dev/null", O_RDONLY);
    CHECK("open_after_close_all", fd >= 0 && fd < 10);
    close(fd);
    CHECK("dup2_below_limit", dup2(0, 255) == 255 && close(255) == 0);
}

/* Many files in one directory: each creation must stay cheap (a hash per directory). */
static void test_many_files(void)
{
    CHECK("mkdir_many", mkdir("many", 0700) == 0);
    char name[64];
    int made = 0;
    for (; made < NFILES; made++) {
        snprintf(name, sizeof(name), "many/file%05d", made);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0)
            break;
        close(fd);
    }
    CHECK("create_50000_files", made == NFILES);
    struct stat st;
    CHECK("stat_middle_file", stat("many/file25000", &st) == 0 && S_ISREG(st.st_mode));
    EXPECT_ERR("create_existing_eexist", open("many/file49999", O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
    EXPECT_ERR("stat_absent_enoent", stat("many/file50000", &st), ENOENT);
    DIR *d = opendir("many");
    int seen = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        seen++;
    if (d)
        closedir(d);
    CHECK("readdir_sees_all", seen == NFILES + 2);
    EXPECT_ERR("rmdir_nonempty", rmdir("many"), ENOTEMPTY);
    int gone = 0;
    for (int i = 0; i < NFILES; i += 2, gone++) {
        snprintf(name, sizeof(name), "many/file%05d", i);
        if (unlink(name) != 0)
            break;
    }
    CHECK("unlink_every_other", gone == NFILES / 2);
    CHECK("odd_files_remain", stat("many/file00001", &st) == 0 && stat("many/file49999", &st) == 0);
    EXPECT_ERR("even_files_gone", stat("many/file24000", &st), ENOENT);
    for (int i = 1; i < NFILES; i += 2) {
        snprintf(name, sizeof(name), "many/file%05d", i);
        unlink(name);
    }
    CHECK("rmdir_after_unlink_all", rmdir("many") == 0);
}

static void test_names(void)
{
    char name[300];
    memset(name, 'n', 255);
    name[255] = 0;
    int fd = open(name, O_WRONLY | O_CREAT, 0600);
    CHECK("name_255_ok", fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK("unlink_name_255", unlink(name) == 0);
    memset(name, 'n', 256);
    name[256] = 0;
    EXPECT_ERR("name_256_enametoolong", open(name, O_WRONLY | O_CREAT, 0600), ENAMETOOLONG);
    EXPECT_ERR("mkdir_256_enametoolong", mkdir(name, 0700), ENAMETOOLONG);
    CHECK("symlink_a", symlink("loop_b", "loop_a") == 0);
    CHECK("symlink_b", symlink("loop_a", "loop_b") == 0);
    EXPECT_ERR("symlink_loop_eloop", open("loop_a", O_RDONLY), ELOOP);
    EXPECT_ERR("symlink_loop_stat_eloop", stat("loop_a/x", &(struct stat){0}), ELOOP);
    unlink("loop_a");
    unlink("loop_b");
    /* A chain of 41 symlinks: Linux follows at most 40. */
    char from[32], to[32];
    int ok = 1;
    for (int i = 0; i < 41 && ok; i++) {
        snprintf(from, sizeof(from), "chain%02d", i);
        snprintf(to, sizeof(to), "chain%02d", i + 1);
        ok = symlink(to, from) == 0;
    }
    ok = ok && close(open("chain41", O_WRONLY | O_CREAT, 0600)) == 0;
    CHECK("chain_made", ok);
    int c40 = open("chain01", O_RDONLY);
    CHECK("chain_40_follows", c40 >= 0);
    if (c40 >= 0)
        close(c40);
    EXPECT_ERR("chain_41_eloop", open("chain00", O_RDONLY), ELOOP);
    for (int i = 0; i <= 41; i++) {
        snprintf(from, sizeof(from), "chain%02d", i);
        unlink(from);
    }
}

/* Deep directories: 200 levels by relative paths, then a path longer than PATH_MAX. */
static void test_depth(void)
{
    int depth = 0;
    for (; depth < 200; depth++)
        if (mkdir("d", 0700) != 0 || chdir("d") != 0)
            break;
    CHECK("mkdir_200_deep", depth == 200);
    int fd = open("leaf", O_WRONLY | O_CREAT, 0600);
    CHECK("create_at_depth", fd >= 0);
    if (fd >= 0)
        close(fd);
    unlink("leaf");
    for (; depth > 0; depth--)
        if (chdir("..") != 0 || rmdir("d") != 0)
            break;
    CHECK("rmdir_200_deep", depth == 0);
    char path[5000];
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = 0;
    for (int i = 100; i < (int)sizeof(path) - 1; i += 101)
        path[i] = '/';
    EXPECT_ERR("path_over_path_max", open(path, O_RDONLY), ENAMETOOLONG);
}

int main(void)
{
    guest_begin();
    char dir[] = "attack_limits.XXXXXX";
    /* Work in a fresh directory next to the program (writable natively and booted). */
    if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
        printf("no work directory\n");
        return 1;
    }
    test_fds();
    test_many_files();
    test_names();
    test_depth();
    CHECK("cleanup", chdir("..") == 0 && rmdir(dir) == 0);
    return guest_finish();
}
