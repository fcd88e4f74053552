/* SPDX-License-Identifier: Apache-2.0 */
/* procfs_sys.c: machine-wide /proc files: stat, uptime, loadavg, meminfo, version (what ps, top and free read). */
#include <libos/errno.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uvm.h>

#include "procfs_internal.h"

#define CLK_TCK 100
#define TICK_NS (NSEC_PER_SEC / CLK_TCK)

struct counts {
    u64 busy_ns;         /* CPU time of every process alive */
    int running, threads, procs, last_pid;
};

static struct counts count_all(void)
{
    struct counts c = {0};
    for (struct process *p = process_next(NULL); p; p = process_next(p)) {
        c.busy_ns += process_cpu_ns(p);
        c.procs++;
        if (p->pid > c.last_pid)
            c.last_pid = p->pid;
        for (struct task *t = p->threads; t; t = t->thread_next) {
            c.threads++;
            if (t->state == TASK_RUNNABLE)
                c.running++;
        }
    }
    return c;
}

/* One vCPU: idle is the uptime nothing ran in (the idle task's halts). */
static u64 idle_ns(const struct counts *c)
{
    u64 up = time_mono_ns();
    return up > c->busy_ns ? up - c->busy_ns : 0;
}

static long gen_stat(struct tbuf *t, struct vnode *node)
{
    (void)node;
    struct counts c = count_all();
    u64 user = c.busy_ns / TICK_NS, idle = idle_ns(&c) / TICK_NS;
    u64 boot = (time_real_ns() - time_mono_ns()) / NSEC_PER_SEC;
    for (int i = 0; i < 2; i++)
        tb_printf(t, i ? "cpu0 %lu 0 0 %lu 0 0 0 0 0 0\n" : "cpu  %lu 0 0 %lu 0 0 0 0 0 0\n", user, idle);
    tb_printf(t, "intr 0\nctxt 0\nbtime %lu\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n"
                 "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
              boot, c.last_pid, c.running ? c.running : 1);
    return 0;
}

static long gen_uptime(struct tbuf *t, struct vnode *node)
{
    (void)node;
    struct counts c = count_all();
    u64 up = time_mono_ns() / (NSEC_PER_SEC / 100), idle = idle_ns(&c) / (NSEC_PER_SEC / 100);
    tb_printf(t, "%lu.%02lu %lu.%02lu\n", up / 100, up % 100, idle / 100, idle % 100);
    return 0;
}

/* Linux's load averages are exponential moving averages of the runnable count sampled
 * every 5 s. Here the sample is taken at each read and weighted by the time since the
 * previous read (the count is assumed to have held in between): the same curves for a
 * steady load, without a periodic timer. Fixed point as Linux: 11 bits of fraction. */
#define FSHIFT 11
#define FIXED_1 (1ul << FSHIFT)
static u64 avenrun[3], last_sample_ns;
static const u64 exp_5s[3] = {1884, 2014, 2037}; /* Linux's EXP_1, EXP_5, EXP_15 */

static void sample_load(int running)
{
    u64 now = time_mono_ns(); /* the first period starts at boot, as Linux's */
    u64 periods = (now - last_sample_ns) / (5 * NSEC_PER_SEC);
    if (periods == 0)
        return;
    last_sample_ns += periods * 5 * NSEC_PER_SEC;
    if (periods > 1000)
        periods = 1000;
    for (u64 k = 0; k < periods; k++)
        for (int i = 0; i < 3; i++)
            avenrun[i] = (avenrun[i] * exp_5s[i] + (u64)running * FIXED_1 * (FIXED_1 - exp_5s[i])) >> FSHIFT;
}

static long gen_loadavg(struct tbuf *t, struct vnode *node)
{
    (void)node;
    struct counts c = count_all();
    sample_load(c.running);
    for (int i = 0; i < 3; i++) {
        u64 a = avenrun[i] + FIXED_1 / 200; /* Linux's LOAD_INT/LOAD_FRAC rounding */
        tb_printf(t, "%lu.%02lu ", a >> FSHIFT, ((a & (FIXED_1 - 1)) * 100) >> FSHIFT);
    }
    tb_printf(t, "%d/%d %d\n", c.running ? c.running : 1, c.threads, c.last_pid);
    return 0;
}

static void kb(struct tbuf *t, const char *key, u64 pages)
{
    tb_printf(t, "%s:", key);
    for (size_t n = strlen(key) + 1; n < 16; n++)
        tb_put(t, " ", 1);
    tb_printf(t, "%8lu kB\n", pages * (PAGE_SIZE / 1024));
}

/* The fields free, top and ps read, in Linux's order; file data is the page cache
 * (Cached, Shmem: the root filesystem lives in memory like a tmpfs). */
static long gen_meminfo(struct tbuf *t, struct vnode *node)
{
    (void)node;
    u64 total = pmm_total_pages(), free = pmm_free_pages(), files = fdata_used_pages();
    /* Resident pages of every address space (a frame shared after fork counts in each). */
    u64 anon = 0;
    for (struct process *p = process_next(NULL); p; p = process_next(p))
        anon += uvm_resident_pages_of(p);
    kb(t, "MemTotal", total);
    kb(t, "MemFree", free);
    kb(t, "MemAvailable", free);
    kb(t, "Buffers", 0);
    kb(t, "Cached", files);
    kb(t, "SwapCached", 0);
    kb(t, "Active", anon + files);
    kb(t, "Inactive", 0);
    kb(t, "SwapTotal", 0);
    kb(t, "SwapFree", 0);
    kb(t, "Dirty", 0);
    kb(t, "Writeback", 0);
    kb(t, "AnonPages", anon);
    kb(t, "Mapped", 0);
    kb(t, "Shmem", files);
    kb(t, "Slab", 0);
    kb(t, "SReclaimable", 0);
    kb(t, "SUnreclaim", 0);
    kb(t, "CommitLimit", total);
    kb(t, "Committed_AS", anon);
    return 0;
}

static long gen_version(struct tbuf *t, struct vnode *node)
{
    (void)node;
    tb_printf(t, "Linux version 6.1.0 (dock2uni) #1 SMP dock2uni\n"); /* uname -r and -v say the same */
    return 0;
}

PROCFS_TEXT_OPS(stat_ops, gen_stat);
PROCFS_TEXT_OPS(uptime_ops, gen_uptime);
PROCFS_TEXT_OPS(loadavg_ops, gen_loadavg);
PROCFS_TEXT_OPS(meminfo_ops, gen_meminfo);
PROCFS_TEXT_OPS(version_ops, gen_version);

void procfs_sys_init(struct vnode *proc)
{
    kfile_new(proc, "stat", &stat_ops, 0);
    kfile_new(proc, "uptime", &uptime_ops, 0);
    kfile_new(proc, "loadavg", &loadavg_ops, 0);
    kfile_new(proc, "meminfo", &meminfo_ops, 0);
    kfile_new(proc, "version", &version_ops, 0);
}
