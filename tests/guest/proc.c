/* proc.c: guest tests of the proc family: ids, uname, limits, prctl names, sysinfo, umask, times. */
#include "guest.h"
#include <grp.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>

static void test_ids(void)
{
    CHECK("getpid_positive", getpid() > 0);
    CHECK("gettid_is_pid", syscall(SYS_gettid) == getpid());
    CHECK("getppid_not_negative", getppid() >= 0);
    CHECK("getpgrp_matches_getpgid", getpgrp() == getpgid(0));
    /* >= 0: under a CI runner the session leader may sit outside our PID namespace, so Linux reports 0. */
    CHECK("getsid_not_negative", getsid(0) >= 0);
    EXPECT_ERR("getpgid_other", getpgid(0x7ffffff0), ESRCH);
    CHECK("uid_matches_euid", getuid() == geteuid());
    CHECK("gid_matches_egid", getgid() == getegid());
    uid_t r, e, s;
    CHECK("getresuid", getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid());
    gid_t gr, ge, gs;
    CHECK("getresgid", getresgid(&gr, &ge, &gs) == 0 && gr == getgid());
    CHECK("setuid_same", setuid(getuid()) == 0);
    CHECK("getgroups_count", getgroups(0, NULL) >= 0);
    /* Supplementary groups are kept (root may set them, as with CAP_SETGID), inherited by fork. */
    gid_t saved[64], set[2] = {5, 6}, got[4];
    int nsaved = getgroups(64, saved);
    CHECK("getgroups_saved", nsaved >= 0);
    CHECK("getgroups_primary_first", nsaved < 1 || getuid() != 0 || saved[0] == getgid());
    if (getuid() == 0) {
        CHECK("setgroups", setgroups(2, set) == 0);
        CHECK("getgroups_after_set", getgroups(4, got) == 2 && got[0] == 5 && got[1] == 6);
        CHECK("getgroups_too_small", getgroups(1, got) == -1 && errno == EINVAL);
        CHECK("setgroups_restore", setgroups((size_t)(nsaved > 0 ? nsaved : 0), saved) == 0);
    }
}

static void test_uname(void)
{
    struct utsname u;
    CHECK("uname", uname(&u) == 0);
    CHECK("uname_sysname", strcmp(u.sysname, "Linux") == 0);
    CHECK("uname_machine", strcmp(u.machine, "x86_64") == 0);
    CHECK("uname_release_major", u.release[0] >= '3' && u.release[0] <= '9' && u.release[1] == '.');
    CHECK("uname_nodename", u.nodename[0] != 0);
}

static void test_limits(void)
{
    struct rlimit rl, old;
    CHECK("getrlimit_stack", getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur >= 1024 * 1024);
    CHECK("getrlimit_nofile", getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur >= 64);
    rl = old;
    rl.rlim_cur = 100;
    CHECK("setrlimit_lower_soft", setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK("getrlimit_sees_new", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 100);
    CHECK("setrlimit_restore", setrlimit(RLIMIT_NOFILE, &old) == 0);
    rl.rlim_cur = 10;
    rl.rlim_max = 5;
    EXPECT_ERR("setrlimit_cur_above_max", setrlimit(RLIMIT_NOFILE, &rl), EINVAL);
    EXPECT_ERR("getrlimit_bad_resource", syscall(SYS_getrlimit, 999, &rl), EINVAL);
    struct rlimit pr;
    CHECK("prlimit_self", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &pr) == 0 && pr.rlim_cur >= 1024 * 1024);
    EXPECT_ERR("prlimit_bad_resource", syscall(SYS_prlimit64, 0, 999, NULL, &pr), EINVAL);
}

/* Past 1024 fds: redis asks RLIMIT_NOFILE maxclients + 32 = 10032 (root, or under a hard
 * limit that high), then its fds go there; the table grows. Above fs.nr_open (1048576 by
 * default) even root gets EPERM. */
static void test_many_fds(void)
{
    struct rlimit old, big, huge = {2u << 20, 2u << 20};
    getrlimit(RLIMIT_NOFILE, &old);
    /* Only the soft limit moves when the hard one allows it: root without
     * CAP_SYS_RESOURCE (a container) could not raise a lowered hard limit back. */
    big.rlim_cur = 10032;
    big.rlim_max = old.rlim_max > 10032 ? old.rlim_max : 10032;
    if (geteuid() != 0 && old.rlim_max < 10032) {
        printf("SKIP many_fds: not root and the hard limit is %lu\n", (unsigned long)old.rlim_max);
        return;
    }
    CHECK("setrlimit_nofile_10032", setrlimit(RLIMIT_NOFILE, &big) == 0);
    CHECK("dup2_to_fd_5000", dup2(1, 5000) == 5000);
    CHECK("f_dupfd_from_5000", fcntl(1, F_DUPFD, 5000) == 5001);
    CHECK("dup2_to_fd_10031", dup2(1, 10031) == 10031);
    CHECK("fd_10031_writes", write(10031, "", 0) == 0);
    EXPECT_ERR("dup2_at_the_limit_ebadf", dup2(1, 10032), EBADF);
    EXPECT_ERR("f_dupfd_at_the_limit_einval", fcntl(1, F_DUPFD, 10032), EINVAL);
    close(5000);
    close(5001);
    close(10031);
    EXPECT_ERR("setrlimit_above_nr_open_eperm", setrlimit(RLIMIT_NOFILE, &huge), EPERM);
    CHECK("setrlimit_nofile_restore", setrlimit(RLIMIT_NOFILE, &old) == 0);
}

static void test_prctl(void)
{
    char name[32];
    CHECK("prctl_set_name", prctl(PR_SET_NAME, "guest-proc") == 0);
    CHECK("prctl_get_name", prctl(PR_GET_NAME, name) == 0 && strcmp(name, "guest-proc") == 0);
    CHECK("prctl_name_truncated", prctl(PR_SET_NAME, "a-very-long-process-name") == 0 &&
                                      prctl(PR_GET_NAME, name) == 0 && strcmp(name, "a-very-long-pro") == 0);
    CHECK("prctl_get_dumpable", prctl(PR_GET_DUMPABLE) >= 0);
    CHECK("prctl_no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    EXPECT_ERR("prctl_bad_option", prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
}

static void test_system(void)
{
    struct sysinfo si;
    CHECK("sysinfo", sysinfo(&si) == 0 && si.totalram > 0 && si.mem_unit > 0 && si.procs >= 1);
    CHECK("sysinfo_free_le_total", si.freeram <= si.totalram);
    mode_t old = umask(027);
    CHECK("umask_returns_old", umask(old) == 027);
    struct tms t;
    CHECK("times", times(&t) != (clock_t)-1);
    struct rusage ru;
    CHECK("getrusage_self", getrusage(RUSAGE_SELF, &ru) == 0);
    EXPECT_ERR("getrusage_bad_who", getrusage(42, &ru), EINVAL);
}

int main(void)
{
    guest_begin();
    test_ids();
    test_uname();
    test_limits();
    test_many_fds();
    test_prctl();
    test_system();
    return guest_finish();
}
