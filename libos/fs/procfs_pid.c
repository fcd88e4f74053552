/* SPDX-License-Identifier: Apache-2.0 */
/* procfs_pid.c: /proc/[pid] and /proc/[pid]/task/[tid]: stat, status, statm, cmdline, environ, comm, limits, maps, exe/cwd/root links, fd/ and fdinfo/, in Linux's formats. */
#include <libos/cmdline.h>
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uvm.h>

#include "procfs_internal.h"


#define CLK_TCK 100
#define PF_RANDOMIZE 0x00400000u
#define PF_FORKNOEXEC 0x00000040u
#define SIGCHLD 17

static const struct file_ops task_dir_ops;

/* --- helpers ------------------------------------------------------------------------ */

/* The thread whose tid is the pid (the group leader), or the first one left. */
static struct task *leader(struct process *p)
{
    for (struct task *t = p->threads; t; t = t->thread_next)
        if (t->tid == p->pid)
            return t;
    return p->threads;
}

static char state_char(const struct process *p, const struct task *t)
{
    if (p->state == PROC_ZOMBIE || !t || t->state == TASK_DEAD)
        return 'Z';
    return t == current || t->state == TASK_RUNNABLE ? 'R' : 'S';
}

static const char *state_name(char c)
{
    return c == 'R' ? "R (running)" : c == 'S' ? "S (sleeping)" : "Z (zombie)";
}

struct vm_sum {
    u64 size, stack, exec, data, code_start, code_end, brk_start, data_start, data_end;
};

/* A mapping of a file: a file mapping (node), or an ELF segment mapped from the archive
 * bytes, which carries the program's path as its name. */
static bool file_backed(const struct uvm_vma_info *v) { return v->node || (v->name && v->name[0] == '/'); }

static void sum_vma(const struct uvm_vma_info *v, void *ctx)
{
    struct vm_sum *s = ctx;
    u64 len = v->end - v->start;
    bool file = file_backed(v);
    s->size += len;
    if (v->stack)
        s->stack += len;
    else if ((v->prot & PROT_EXEC) && file)
        s->exec += len;
    else if ((v->prot & PROT_WRITE) && !v->shared)
        s->data += len;
    if ((v->prot & PROT_EXEC) && file && !s->code_start) {
        s->code_start = v->start;
        s->code_end = v->end;
    } else if (s->code_start && !s->data_start && file && (v->prot & PROT_WRITE)) {
        s->data_start = v->start;
        s->data_end = v->end;
    }
    if (v->heap && !s->brk_start)
        s->brk_start = v->start;
}

static struct vm_sum vm_summary(struct process *p)
{
    struct vm_sum s = {0};
    uvm_for_each_vma(p, sum_vma, &s);
    return s;
}

/* A signal mask as Linux's /proc shows it: bit n-1 for signal n. */
static void sig_sets(const struct process *p, u64 *ign, u64 *cgt)
{
    *ign = *cgt = 0;
    for (int s = 1; s <= NSIG; s++) {
        u64 h = p->sig.actions[s].handler;
        if (h == SIG_IGN)
            *ign |= 1ul << (s - 1);
        else if (h != SIG_DFL)
            *cgt |= 1ul << (s - 1);
    }
}

static bool has_tty(void) { return kopts.stdio == STDIO_TTY; }

/* A /proc/<pid> or task/<tid> text file: gen gets the process and, for a task/<tid> file,
 * its thread (else NULL); a process gone since the open reads as ESRCH. */
#define PID_TEXT_OPS(name, gen)                                                                    \
    static long name##_gen(struct tbuf *tb, struct vnode *node)                                    \
    {                                                                                              \
        struct process *p;                                                                         \
        struct task *t;                                                                            \
        long r = procfs_target(node, &p, &t);                                                      \
        return r < 0 ? r : gen(tb, p, t);                                                          \
    }                                                                                              \
    PROCFS_TEXT_OPS(name, name##_gen)

/* --- stat, status, statm --------------------------------------------------------------- */

/* Linux's do_task_stat: 52 fields. t is the thread of a task/N/stat, else NULL. */
static long gen_stat(struct tbuf *tb, struct process *p, struct task *t)
{
    bool whole = !t;
    struct task *th = t ? t : leader(p);
    struct vm_sum vm = vm_summary(p);
    u64 ign, cgt;
    sig_sets(p, &ign, &cgt);
    u64 pending = (p->sig.pending | (th ? th->sig.pending : 0)) & 0x7ffffffful;
    u64 blocked = th ? th->sig.blocked & 0x7ffffffful : 0;
    u64 cpu = whole ? process_cpu_ns(p) : task_cpu_ns(t);
    u64 now = time_mono_ns(), age = time_since_tsc_ns(p->start_tsc);
    u64 start = now > age ? (now - age) / (NSEC_PER_SEC / CLK_TCK) : 0;
    char st = state_char(p, th);
    int tty_nr = has_tty() ? (136 << 8) : 0, tpgid = has_tty() ? p->pgid : -1;
    u32 flags = PF_RANDOMIZE | (th && th->tid != p->pid ? PF_FORKNOEXEC : 0);
    bool leader_thread = !th || th->tid == p->pid;
    tb_printf(tb, "%d (%s) %c %d %d %d %d %d %u 0 0 0 0 %lu 0 0 0 20 0 %d 0 %lu %lu %lu %lu %lu %lu %lu 0 0 ",
              t ? t->tid : p->pid, th ? th->comm : p->comm, st, p->ppid, p->pgid, p->sid, tty_nr, tpgid,
              flags, cpu / (NSEC_PER_SEC / CLK_TCK), p->nthreads, start, vm.size,
              uvm_resident_pages_of(p), p->rlim[RLIMIT_RSS].cur, vm.code_start, vm.code_end, p->start_stack);
    tb_printf(tb, "%lu %lu %lu %lu %d 0 0 %d 0 0 0 0 0 0 %lu %lu %lu %lu %lu %lu %lu 0\n", pending, blocked,
              ign & 0x7ffffffful, cgt & 0x7ffffffful, st == 'S' && (!whole || p->nthreads < 2) ? 1 : 0,
              leader_thread ? SIGCHLD : -1, vm.data_start, vm.data_end, vm.brk_start, p->arg_start,
              p->arg_end, p->env_start, p->env_end);
    return 0;
}

/* The highest fd in use + 1, rounded as Linux's fd table grows (64, then powers of two). */
static int fd_size(struct process *p)
{
    int top = 0;
    for (int fd = 0; fd < fd_table_slots(p); fd++)
        if (fd_get_of(p, fd))
            top = fd + 1;
    int size = 64;
    while (size < top)
        size *= 2;
    return size;
}

static void kb_line(struct tbuf *tb, const char *key, u64 bytes) { tb_printf(tb, "%s:\t%8lu kB\n", key, bytes >> 10); }

/* Linux 6.1's proc_pid_status. */
static long gen_status(struct tbuf *tb, struct process *p, struct task *t)
{
    struct task *th = t ? t : leader(p);
    int id = t ? t->tid : p->pid;
    tb_printf(tb, "Name:\t%s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n",
              th ? th->comm : p->comm, vfs_umask_of(p), state_name(state_char(p, th)), p->pid, id, p->ppid);
    tb_printf(tb, "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t%d\nGroups:\t", p->uid, p->euid, p->suid,
              p->euid, p->gid, p->egid, p->sgid, p->egid, fd_size(p));
    for (u32 i = 0; i < p->ngroups; i++)
        tb_printf(tb, "%u ", p->groups[i]);
    tb_printf(tb, "%s\n", p->ngroups ? "" : " ");
    tb_printf(tb, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", p->pid, id, p->pgid, p->sid);
    struct vm_sum vm = vm_summary(p);
    u64 rss = uvm_resident_pages_of(p) * PAGE_SIZE;
    kb_line(tb, "VmPeak", vm.size);
    kb_line(tb, "VmSize", vm.size);
    kb_line(tb, "VmLck", 0);
    kb_line(tb, "VmPin", 0);
    kb_line(tb, "VmHWM", rss);
    kb_line(tb, "VmRSS", rss);
    kb_line(tb, "RssAnon", rss);
    kb_line(tb, "RssFile", 0);
    kb_line(tb, "RssShmem", 0);
    kb_line(tb, "VmData", vm.data);
    kb_line(tb, "VmStk", vm.stack);
    kb_line(tb, "VmExe", vm.exec);
    kb_line(tb, "VmLib", 0);
    kb_line(tb, "VmPTE", 0);
    kb_line(tb, "VmSwap", 0);
    u64 ign, cgt;
    sig_sets(p, &ign, &cgt);
    tb_printf(tb, "HugetlbPages:\t%8d kB\nCoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t%d\nSigQ:\t0/%lu\n", 0,
              p->nthreads, p->rlim[11].cur); /* RLIMIT_SIGPENDING */
    tb_printf(tb, "SigPnd:\t%016lx\nShdPnd:\t%016lx\nSigBlk:\t%016lx\nSigIgn:\t%016lx\nSigCgt:\t%016lx\n",
              th ? th->sig.pending : 0, p->sig.pending, th ? th->sig.blocked : 0, ign, cgt);
    tb_printf(tb, "CapInh:\t%016lx\nCapPrm:\t%016lx\nCapEff:\t%016lx\nCapBnd:\t%016lx\nCapAmb:\t%016lx\n", p->cap_inh,
              proc_cap_prm(p), proc_cap_eff(p), DOCKER_CAPS, 0ul);
    tb_printf(tb, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tvulnerable\n"
                  "SpeculationIndirectBranch:\talways enabled\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n"
                  "Mems_allowed:\t");
    for (int i = 0; i < 31; i++)
        tb_put(tb, "00000000,", 9);
    tb_printf(tb, "00000001\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
    return 0;
}

/* size resident shared text lib data dt, in pages. */
static long gen_statm(struct tbuf *tb, struct process *p, struct task *t)
{
    struct vm_sum vm = vm_summary(p);
    tb_printf(tb, "%lu %lu 0 %lu 0 %lu 0\n", vm.size / PAGE_SIZE, uvm_resident_pages_of(p), vm.exec / PAGE_SIZE,
              (vm.data + vm.stack) / PAGE_SIZE);
    return 0;
}

static long gen_comm(struct tbuf *tb, struct process *p, struct task *t)
{
    struct task *th = t ? t : leader(p);
    tb_printf(tb, "%s\n", th ? th->comm : p->comm);
    return 0;
}

/* --- cmdline, environ: the live bytes of the process --------------------------------- */

static long copy_range(struct tbuf *tb, struct process *p, u64 from, u64 to, bool stop_at_nul)
{
    char chunk[256];
    for (u64 a = from; a < to;) {
        size_t n = (size_t)MIN((u64)sizeof(chunk), to - a);
        long got = uvm_copy_from_process(p, a, chunk, n);
        if (got <= 0)
            break;
        if (stop_at_nul) {
            size_t len = strnlen(chunk, (size_t)got);
            tb_put(tb, chunk, len);
            if (len < (size_t)got)
                break;
        } else {
            tb_put(tb, chunk, (size_t)got);
        }
        a += (u64)got;
    }
    return 0;
}

/* Linux's get_mm_cmdline: the argument strings; when the program wrote over the final
 * NUL (setproctitle, as nginx's "master process"), the text runs on into the
 * environment area up to the first NUL. */
static long gen_cmdline(struct tbuf *tb, struct process *p, struct task *t)
{
    if (p->arg_end <= p->arg_start)
        return 0;
    copy_range(tb, p, p->arg_start, p->arg_end, false);
    char last = 0;
    if (uvm_copy_from_process(p, p->arg_end - 1, &last, 1) == 1 && last != 0) {
        /* only the first string counts, as Linux: up to its NUL, then the overflow */
        size_t len = strnlen(tb->buf ? tb->buf : "", tb->len);
        if (len < tb->len) {
            tb->len = len;
        } else {
            copy_range(tb, p, p->arg_end, p->env_end, true);
        }
    }
    return 0;
}

static long gen_environ(struct tbuf *tb, struct process *p, struct task *t)
{
    return copy_range(tb, p, p->env_start, p->env_end, false);
}

/* --- maps --------------------------------------------------------------------------------- */

static void map_line(const struct uvm_vma_info *v, void *ctx)
{
    struct tbuf *tb = ctx;
    struct vnode *n = v->node;
    if (!n && file_backed(v) && vfs_lookup(AT_FDCWD, v->name, LOOKUP_FOLLOW, &n) < 0)
        n = NULL;
    u64 dev = n ? n->dev : 0, ino = n ? n->ino : 0;
    size_t before = tb->len;
    tb_printf(tb, "%08lx-%08lx %c%c%c%c %08lx %02x:%02x %lu ", v->start, v->end, (v->prot & PROT_READ) ? 'r' : '-',
              (v->prot & PROT_WRITE) ? 'w' : '-', (v->prot & PROT_EXEC) ? 'x' : '-', v->shared ? 's' : 'p',
              n ? v->off : 0, dev_major(dev), dev_minor(dev), ino);
    struct tbuf name = {0};
    if (v->node)
        procfs_file_name(&name, &(struct file){.node = v->node, .ops = v->node->ops});
    else if (file_backed(v))
        tb_printf(&name, "%s", v->name);
    else if (v->heap)
        tb_printf(&name, "[heap]");
    else if (v->stack)
        tb_printf(&name, "[stack]");
    else if (v->name && v->name[0] == '[')
        tb_printf(&name, "%s", v->name);
    if (name.len) {
        size_t width = 25 + sizeof(void *) * 6 - 1, used = tb->len - before; /* Linux's seq_pad */
        for (; used < width; used++)
            tb_put(tb, " ", 1);
        tb_put(tb, " ", 1);
        tb_put(tb, name.buf, name.len);
    }
    kfree(name.buf);
    tb_put(tb, "\n", 1);
}

static long gen_maps(struct tbuf *tb, struct process *p, struct task *t)
{
    uvm_for_each_vma(p, map_line, tb);
    return 0;
}

/* --- limits -------------------------------------------------------------------------------- */

static const struct {
    const char *name, *unit;
} limit_names[RLIM_NLIMITS] = {
    {"Max cpu time", "seconds"}, {"Max file size", "bytes"}, {"Max data size", "bytes"},
    {"Max stack size", "bytes"}, {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
    {"Max processes", "processes"}, {"Max open files", "files"}, {"Max locked memory", "bytes"},
    {"Max address space", "bytes"}, {"Max file locks", "locks"}, {"Max pending signals", "signals"},
    {"Max msgqueue size", "bytes"}, {"Max nice priority", NULL}, {"Max realtime priority", NULL},
    {"Max realtime timeout", "us"},
};

static void limit_value(struct tbuf *tb, u64 v)
{
    if (v == RLIM_INFINITY)
        tb_printf(tb, "%-20s ", "unlimited");
    else
        tb_printf(tb, "%-20lu ", v);
}

/* Linux's proc_pid_limits. */
static long gen_limits(struct tbuf *tb, struct process *p, struct task *t)
{
    tb_printf(tb, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (int i = 0; i < RLIM_NLIMITS; i++) {
        tb_printf(tb, "%-25s ", limit_names[i].name);
        limit_value(tb, p->rlim[i].cur);
        limit_value(tb, p->rlim[i].max);
        if (limit_names[i].unit)
            tb_printf(tb, "%-10s\n", limit_names[i].unit);
        else
            tb_put(tb, "\n", 1);
    }
    return 0;
}

PID_TEXT_OPS(stat_ops, gen_stat);
PID_TEXT_OPS(status_ops, gen_status);
PID_TEXT_OPS(statm_ops, gen_statm);
PID_TEXT_OPS(comm_ops, gen_comm);
PID_TEXT_OPS(cmdline_ops, gen_cmdline);
PID_TEXT_OPS(environ_ops, gen_environ);
PID_TEXT_OPS(maps_ops, gen_maps);
PID_TEXT_OPS(limits_ops, gen_limits);

/* --- directories --------------------------------------------------------------------------- */

static void fill_task(struct vnode *d, int pid, int tid)
{
    u64 id = procfs_id(pid, tid);
    procfs_file(d, "stat", &stat_ops, id);
    procfs_file(d, "status", &status_ops, id);
    procfs_file(d, "comm", &comm_ops, id);
    procfs_file(d, "cmdline", &cmdline_ops, id);
    procfs_file(d, "statm", &statm_ops, id);
}

static struct vnode *dyn_dir(struct vnode *dir, const char *name, u64 id, int kind, const struct file_ops *ops)
{
    struct vnode *d = procfs_dir(dir, name, (u32)strlen(name), id, procfs_ino(procfs_id_pid(id), 0, kind));
    if (d) {
        d->flags |= VN_DYNDIR;
        d->ops = ops;
    }
    return d;
}

/* Build /proc/<pid>; NULL when memory ran out (what was made is removed again). */
static struct vnode *build_pid_dir(struct vnode *proc, int pid, const char *name, u32 len)
{
    u64 id = procfs_id(pid, 0);
    struct vnode *d = procfs_dir(proc, name, len, id, procfs_ino(pid, 0, K_DIR));
    if (!d)
        return NULL;
    d->flags |= VN_DYNDIR; /* exe, cwd and root are refreshed at lookup */
    bool ok = dyn_dir(d, "task", id, K_TASKDIR, &task_dir_ops) && dyn_dir(d, "fd", id, K_FDDIR, &procfs_fd_dir_ops) &&
              dyn_dir(d, "fdinfo", id, K_FDINFODIR, &procfs_fdinfo_dir_ops) &&
              procfs_file(d, "environ", &environ_ops, id) && procfs_file(d, "status", &status_ops, id) &&
              procfs_file(d, "limits", &limits_ops, id) &&
              procfs_file(d, "comm", &comm_ops, id) && procfs_file(d, "cmdline", &cmdline_ops, id) &&
              procfs_file(d, "stat", &stat_ops, id) && procfs_file(d, "statm", &statm_ops, id) &&
              procfs_file(d, "maps", &maps_ops, id) && procfs_link(d, "cwd", 3, id, procfs_ino(pid, 0, K_CWD)) &&
              procfs_link(d, "root", 4, id, procfs_ino(pid, 0, K_ROOT)) &&
              procfs_link(d, "exe", 3, id, procfs_ino(pid, 0, K_EXE));
    if (!ok) {
        procfs_prune(proc, ramfs_find_entry(proc, name, len));
        return NULL;
    }
    struct vnode *environ = ramfs_child(d, "environ", 7);
    environ->mode = S_IFREG | 0400; /* as Linux: only the owner reads the environment */
    return d;
}

struct dentry *procfs_pid_lookup(struct vnode *proc, int pid)
{
    char name[16];
    u32 len = (u32)ksnprintf(name, sizeof(name), "%d", pid);
    struct dentry *d = ramfs_find_entry(proc, name, len);
    if (!process_find(pid)) {
        if (d)
            procfs_prune(proc, d); /* the process is gone: so is its directory */
        return NULL;
    }
    if (d || !build_pid_dir(proc, pid, name, len))
        return d;
    return ramfs_find_entry(proc, name, len);
}

/* exe, cwd, root: their text follows the process (exec, chdir) at every lookup. */
static void refresh_link(struct vnode *link, struct process *p, const char *name)
{
    char path[PATH_MAX];
    if (name[0] == 'e') {
        const char *exe = p->exec_path ? p->exec_path : "";
        procfs_set_link(link, exe, strlen(exe));
    } else if (name[0] == 'c') {
        long r = vfs_dir_path(vfs_cwd_of(p), path, sizeof(path));
        if (r > 0)
            procfs_set_link(link, path, (size_t)r - 1);
    } else {
        procfs_set_link(link, "/", 1);
    }
}

static struct dentry *tid_lookup(struct vnode *dir, struct process *p, const char *name, u32 len)
{
    struct dentry *d = ramfs_find_entry(dir, name, len);
    int tid;
    struct task *t = NULL;
    if (procfs_parse_num(name, len, &tid))
        for (struct task *x = p->threads; x; x = x->thread_next)
            if (x->tid == tid)
                t = x;
    if (!t) {
        if (d)
            procfs_prune(dir, d);
        return NULL;
    }
    if (d)
        return d;
    struct vnode *td = procfs_dir(dir, name, len, procfs_id(p->pid, tid), procfs_ino(p->pid, tid, K_TID));
    if (!td)
        return NULL;
    fill_task(td, p->pid, tid);
    return ramfs_find_entry(dir, name, len);
}

struct dentry *procfs_piddir_lookup(struct vnode *dir, const char *name, u32 namelen)
{
    struct process *p = process_find(procfs_id_pid(dir->synth_id));
    if (!p)
        return NULL;
    if (dir->ops == &procfs_fd_dir_ops || dir->ops == &procfs_fdinfo_dir_ops)
        return procfs_fd_lookup(dir, p, name, namelen, dir->ops == &procfs_fdinfo_dir_ops);
    if (dir->ops == &task_dir_ops)
        return tid_lookup(dir, p, name, namelen);
    struct dentry *d = ramfs_find_entry(dir, name, namelen);
    if (d && S_ISLNK(d->node->mode))
        refresh_link(d->node, p, d->name);
    return d;
}

static long task_next(struct vnode *dir, u64 pos, struct procfs_dirent *out)
{
    struct process *p = process_find(procfs_id_pid(dir->synth_id));
    struct task *best = NULL;
    for (struct task *t = p ? p->threads : NULL; t; t = t->thread_next)
        if ((u64)t->tid + 2 >= pos && (!best || t->tid < best->tid))
            best = t;
    if (!best)
        return -1;
    ksnprintf(out->name, sizeof(out->name), "%d", best->tid);
    out->ino = procfs_ino(p->pid, best->tid, K_TID);
    out->type = DT_DIR;
    return (long)best->tid + 2;
}

static long task_getdents(struct file *f, void *buf, size_t n) { return procfs_getdents(f, buf, n, task_next); }
static long eisdir(struct file *f, void *buf, size_t n) { return -EISDIR; }

static const struct file_ops task_dir_ops = {.read = eisdir, .getdents = task_getdents, .seekable = true};
