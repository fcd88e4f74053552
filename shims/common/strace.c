/* SPDX-License-Identifier: Apache-2.0 */
/* strace.c: strace=1 output, "[pid N] name(args) = result", one line per syscall on the log port. */
#include <asm/unistd_64.h>
#include <libos/fmt.h>
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <shim/shim.h>

/* Argument formats: d signed, u unsigned, x hex, o octal, s string, p pointer. Calls
 * not listed print six hex arguments. */
static const char *const formats[SHIM_TABLE_SIZE] = {
    [__NR_read] = "dpu", [__NR_write] = "dpu", [__NR_open] = "sxo", [__NR_close] = "d",
    [__NR_stat] = "sp", [__NR_fstat] = "dp", [__NR_lstat] = "sp", [__NR_lseek] = "ddd",
    [__NR_mmap] = "xuxxdx", [__NR_mprotect] = "xux", [__NR_munmap] = "xu", [__NR_brk] = "x",
    [__NR_rt_sigaction] = "dppu", [__NR_rt_sigprocmask] = "dppu", [__NR_ioctl] = "dxx",
    [__NR_pread64] = "dpud", [__NR_pwrite64] = "dpud", [__NR_readv] = "dpd", [__NR_writev] = "dpd",
    [__NR_access] = "so", [__NR_sched_yield] = "", [__NR_mremap] = "xuuxx", [__NR_madvise] = "xud",
    [__NR_dup] = "d", [__NR_dup2] = "dd", [__NR_nanosleep] = "pp", [__NR_getpid] = "",
    [__NR_sendfile] = "ddpu", [__NR_exit] = "d", [__NR_uname] = "p", [__NR_fcntl] = "ddx",
    [__NR_getcwd] = "pu", [__NR_chdir] = "s", [__NR_readlink] = "spu", [__NR_umask] = "o",
    [__NR_gettimeofday] = "pp", [__NR_getrlimit] = "dp", [__NR_sysinfo] = "p", [__NR_getuid] = "",
    [__NR_getgid] = "", [__NR_geteuid] = "", [__NR_getegid] = "", [__NR_getppid] = "",
    [__NR_sigaltstack] = "pp", [__NR_arch_prctl] = "xx", [__NR_prctl] = "dxxxx",
    [__NR_gettid] = "", [__NR_time] = "p", [__NR_futex] = "pdupxx", [__NR_set_tid_address] = "p",
    [__NR_getdents64] = "dpu", [__NR_clock_gettime] = "dp", [__NR_clock_getres] = "dp",
    [__NR_clock_nanosleep] = "ddpp", [__NR_exit_group] = "d", [__NR_tgkill] = "ddd",
    [__NR_openat] = "dsxo", [__NR_newfstatat] = "dspx", [__NR_readlinkat] = "dspu",
    [__NR_faccessat] = "dso", [__NR_set_robust_list] = "pu", [__NR_dup3] = "ddx",
    [__NR_prlimit64] = "ddpp", [__NR_getrandom] = "pux", [__NR_statx] = "dsxxp", [__NR_rseq] = "puxx",
    [__NR_kill] = "dd", [__NR_sched_getaffinity] = "dup", [__NR_faccessat2] = "dsox",
    [__NR_poll] = "pud", [__NR_ppoll] = "puppu", [__NR_select] = "dpppp", [__NR_pselect6] = "dppppp",
};

struct line {
    char buf[512];
    size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->len < sizeof(l->buf))
        l->len += kvsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (l->len > sizeof(l->buf) - 1)
        l->len = sizeof(l->buf) - 1;
}

/* Append s[0..n) quoted as strace does: control bytes, quotes, backslashes and
 * non-ASCII escaped, so a path holding "\nD2U:EXIT code=0\n" cannot start a
 * line of its own on the log port and forge a marker (docs/console-protocol.md). */
static void put_quoted(struct line *l, const char *s, size_t n, bool more)
{
    static const char named[] = {['\t'] = 't', ['\n'] = 'n', ['\v'] = 'v', ['\f'] = 'f', ['\r'] = 'r'};
    put(l, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < sizeof(named) && named[c])
            put(l, "\\%c", named[c]);
        else if (c == '"' || c == '\\')
            put(l, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            put(l, "\\%03o", c);
        else
            put(l, "%c", c);
    }
    put(l, more ? "\"..." : "\"");
}

static void put_string(struct line *l, u64 uaddr)
{
    char s[64];
    long n = copy_string_from_user(s, uaddr, sizeof(s));
    if (n == -ENAMETOOLONG) {
        if (uaccess_copy(s, (const void *)uaddr, sizeof(s) - 1) < 0)
            put(l, "0x%lx", uaddr);
        else
            put_quoted(l, s, sizeof(s) - 1, true);
    } else if (n < 0) {
        put(l, "0x%lx", uaddr);
    } else {
        put_quoted(l, s, (size_t)n, false);
    }
}

/* The kernel-internal restart codes, named as strace names them: the program never
 * sees them (signal delivery turns them into a restart or EINTR). */
static const char *restart_name(long ret)
{
    switch (-ret) {
    case ERESTARTSYS: return "ERESTARTSYS (To be restarted if SA_RESTART is set)";
    case ERESTARTNOINTR: return "ERESTARTNOINTR (To be restarted)";
    case ERESTARTNOHAND: return "ERESTARTNOHAND (To be restarted if no handler)";
    case ERESTART_RESTARTBLOCK: return "ERESTART_RESTARTBLOCK (Interrupted by signal)";
    default: return NULL;
    }
}

void strace_log(const struct shim_args *a, long ret, bool ret_known)
{
    struct line l = {.len = 0};
    /* Every line says which thread made the call, as `strace -f` does: a shell's
     * children and a server's threads interleave on the one log port. */
    put(&l, "[pid %d] ", current->tid);
    const char *name = shim_syscall_name(a->nr);
    if (name)
        put(&l, "%s(", name);
    else
        put(&l, "syscall_%lu(", a->nr);
    const char *f = a->nr < SHIM_TABLE_SIZE && formats[a->nr] ? formats[a->nr] : "xxxxxx";
    for (int i = 0; f[i] && i < 6; i++) {
        if (i)
            put(&l, ", ");
        u64 v = a->a[i];
        switch (f[i]) {
        case 'd':
            put(&l, "%d", (int)v);
            break;
        case 'u':
            put(&l, "%lu", v);
            break;
        case 'o':
            put(&l, "0%lo", v);
            break;
        case 's':
            put_string(&l, v);
            break;
        default:
            put(&l, "0x%lx", v);
        }
    }
    const char *restart = ret_known ? restart_name(ret) : NULL;
    if (!ret_known)
        put(&l, ") = ?\n");
    else if (restart)
        put(&l, ") = ? %s\n", restart);
    else if (ret < 0 && ret >= -4095)
        put(&l, ") = %ld\n", ret);
    else if ((u64)ret > 0xffff)
        put(&l, ") = 0x%lx\n", (u64)ret);
    else
        put(&l, ") = %ld\n", ret);
    if (l.len && l.buf[l.len - 1] != '\n')
        l.buf[l.len - 1] = '\n';
    klog("%.*s", (int)l.len, l.buf);
}
