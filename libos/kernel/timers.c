/* SPDX-License-Identifier: Apache-2.0 */
/* timers.c: the interval timers (alarm, setitimer) and POSIX timers (timer_create...) as kernel timers that send signals.
 *
 * ITIMER_PROF and ITIMER_VIRTUAL count the process's CPU time (process_cpu_ns()).
 * On one CPU that time never runs ahead of the wall clock, so a kernel timer at
 * "now + CPU time still to go" can never be early: when it fires it checks the
 * CPU time used and either sends the signal or waits again for the rest.
 * A POSIX timer has at most one signal queued; expirations while it waits are
 * counted as overruns and reported in si_overrun when the signal is dequeued,
 * and by timer_getoverrun afterwards (Linux's rules).
 * Interval timers are per process (process->timers, made on first use; a fork child
 * starts without any, as Linux); POSIX timers belong to the process that created
 * them; both end with it (timers_process_exit()).
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/timers.h>

#include "signal_internal.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define MAX_TIMERS 64
#define OVERRUN_MAX 0x7fffffff
#define ITIMER_PROF_ 2

struct ptimer {
    struct ktimer kt;
    bool used, queued;
    int clock, notify, signo, tid;
    u64 value;       /* sigev_value */
    u64 interval;
    s32 overrun;      /* expirations since the queued signal was sent */
    s32 last_overrun; /* timer_getoverrun */
    struct process *owner;
};

static struct ptimer timers[MAX_TIMERS];

struct cpu_itimer {
    struct ktimer kt;
    u64 expires;  /* process CPU time (ns) at which it fires */
    u64 interval;
    int signo;
    struct process *owner;
};

/* A process's interval timers (process->timers). */
struct proc_timers {
    struct ktimer real_kt;
    u64 real_interval;
    struct process *owner;
    struct cpu_itimer cpu[2]; /* ITIMER_VIRTUAL, ITIMER_PROF */
};

/* The caller's interval timers, made on first use; NULL when memory is exhausted
 * (then there is nothing armed to read either). */
static struct proc_timers *my_timers(bool create)
{
    struct process *p = current_process();
    if (!p->timers && create) {
        struct proc_timers *pt = kzalloc(sizeof(*pt));
        if (!pt)
            return NULL;
        pt->owner = p;
        pt->cpu[0] = (struct cpu_itimer){.signo = SIGVTALRM, .owner = p};
        pt->cpu[1] = (struct cpu_itimer){.signo = SIGPROF, .owner = p};
        p->timers = pt;
    }
    return p->timers;
}

void timers_process_exit(struct process *p)
{
    struct proc_timers *pt = p->timers;
    if (pt) {
        ktimer_cancel(&pt->real_kt);
        ktimer_cancel(&pt->cpu[0].kt);
        ktimer_cancel(&pt->cpu[1].kt);
        kfree(pt);
        p->timers = NULL;
    }
    for (int i = 0; i < MAX_TIMERS; i++)
        if (timers[i].used && timers[i].owner == p) {
            ktimer_cancel(&timers[i].kt);
            memset(&timers[i], 0, sizeof(timers[i]));
        }
}

/* ---- ITIMER_REAL ---- */

static void itreal_fire(struct ktimer *kt)
{
    struct proc_timers *pt = (struct proc_timers *)kt; /* real_kt is the first member */
    struct ksiginfo info = {.si_signo = SIGALRM, .si_code = SI_KERNEL};
    if (pt->real_interval) {
        u64 now = time_mono_ns(), next = kt->deadline + pt->real_interval;
        if (next <= now) /* skipped periods are lost, as on Linux */
            next = now + pt->real_interval - (now - kt->deadline) % pt->real_interval;
        ktimer_arm(kt, next, itreal_fire);
    }
    signal_send_process(pt->owner, &info);
}

static u64 remaining(const struct ktimer *kt)
{
    if (!kt->armed)
        return 0;
    u64 now = time_mono_ns();
    return kt->deadline > now ? kt->deadline - now : 1; /* due: still "armed" for a moment */
}

void itimer_real_get(u64 *value, u64 *interval)
{
    struct proc_timers *pt = my_timers(false);
    *value = pt ? remaining(&pt->real_kt) : 0;
    *interval = pt ? pt->real_interval : 0;
}

void itimer_real_set(u64 value, u64 interval, u64 *old_value, u64 *old_interval)
{
    if (old_value)
        itimer_real_get(old_value, old_interval);
    struct proc_timers *pt = my_timers(value || interval);
    if (!pt)
        return; /* nothing to disarm, or no memory for a timer (not reported by Linux either) */
    ktimer_cancel(&pt->real_kt);
    pt->real_interval = interval;
    if (value)
        ktimer_arm(&pt->real_kt, time_mono_ns() + value, itreal_fire);
}

/* ---- ITIMER_VIRTUAL, ITIMER_PROF ---- */

static void cpu_itimer_fire(struct ktimer *kt)
{
    struct cpu_itimer *c = (struct cpu_itimer *)kt; /* kt is the first member */
    u64 used = process_cpu_ns(c->owner);
    if (used >= c->expires) {
        struct ksiginfo info = {.si_signo = c->signo, .si_code = SI_KERNEL};
        signal_send_process(c->owner, &info);
        if (!c->interval)
            return;
        c->expires += c->interval;
        if (c->expires <= used) /* periods that went by while it could not fire */
            c->expires = used + c->interval - (used - c->expires) % c->interval;
    }
    ktimer_arm(kt, time_mono_ns() + (c->expires - used), cpu_itimer_fire);
}

void itimer_cpu_get(int which, u64 *value, u64 *interval)
{
    struct proc_timers *pt = my_timers(false);
    if (!pt) {
        *value = *interval = 0;
        return;
    }
    struct cpu_itimer *c = &pt->cpu[which == ITIMER_PROF_];
    u64 used = process_cpu_ns(c->owner);
    *value = !c->kt.armed ? 0 : c->expires > used ? c->expires - used : 1;
    *interval = c->interval;
}

void itimer_cpu_set(int which, u64 value, u64 interval)
{
    struct proc_timers *pt = my_timers(value || interval);
    if (!pt)
        return;
    struct cpu_itimer *c = &pt->cpu[which == ITIMER_PROF_];
    ktimer_cancel(&c->kt);
    c->interval = interval;
    if (!value)
        return;
    c->expires = process_cpu_ns(c->owner) + value;
    ktimer_arm(&c->kt, time_mono_ns() + value, cpu_itimer_fire);
}

/* ---- POSIX timers ---- */

static struct ptimer *lookup(int id)
{
    return id >= 0 && id < MAX_TIMERS && timers[id].used && timers[id].owner == current_process()
               ? &timers[id] : NULL;
}

/* A timer's queued signal leaves a queue: any owner (signal delivery may run in another process's context). */
static struct ptimer *lookup_any(int id) { return id >= 0 && id < MAX_TIMERS && timers[id].used ? &timers[id] : NULL; }

static void ptimer_fire(struct ktimer *kt)
{
    struct ptimer *t = (struct ptimer *)kt; /* kt is the first member */
    if (t->interval) {
        u64 now = time_mono_ns(), next = kt->deadline + t->interval;
        if (next <= now) {
            u64 missed = (now - kt->deadline) / t->interval;
            next = kt->deadline + (missed + 1) * t->interval;
            if (t->queued || t->notify != SIGEV_NONE)
                t->overrun = (s32)MIN((u64)t->overrun + missed, (u64)OVERRUN_MAX);
        }
        ktimer_arm(kt, next, ptimer_fire);
    }
    if (t->notify == SIGEV_NONE)
        return;
    if (t->queued) {
        if (t->overrun < OVERRUN_MAX)
            t->overrun++;
        return;
    }
    struct ksiginfo info = {.si_signo = t->signo, .si_code = SI_TIMER};
    info.u.timer.tid = (s32)(t - timers);
    info.u.timer.value = t->value;
    struct task *target = t->notify == SIGEV_THREAD_ID ? task_find_any(t->tid) : NULL;
    if (target && target->process != t->owner)
        target = NULL;
    long r = target ? signal_send_thread(target, &info) : signal_send_process(t->owner, &info);
    /* A signal ignored at sending is not queued: nothing to count against. */
    t->queued = r == 0 && ((target ? target->sig.pending : t->owner->sig.pending) & SIGBIT(t->signo));
}

void timers_dequeued(struct ksiginfo *info)
{
    struct ptimer *t = lookup_any(info->u.timer.tid);
    if (!t || !t->queued)
        return;
    info->u.timer.overrun = t->overrun;
    t->last_overrun = t->overrun;
    t->overrun = 0;
    t->queued = false;
}

long ptimer_create(int clock, const struct ksigevent *ev)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME &&
        clock != CLOCK_REALTIME_ALARM && clock != CLOCK_BOOTTIME_ALARM)
        return -EINVAL; /* CPU-time clocks: not supported (docs/signals.md) */
    /* As timerfd: the alarm clocks need CAP_WAKE_ALARM, outside Docker's default set. */
    if ((clock == CLOCK_REALTIME_ALARM || clock == CLOCK_BOOTTIME_ALARM) &&
        !(proc_cap_eff(current_process()) & (1ul << CAP_WAKE_ALARM)))
        return -EPERM;
    int id = 0;
    while (id < MAX_TIMERS && timers[id].used)
        id++;
    if (id == MAX_TIMERS)
        return -EAGAIN;
    struct ptimer t = {.used = true, .clock = clock, .notify = SIGEV_SIGNAL, .signo = SIGALRM,
                       .value = (u64)id, .owner = current_process()};
    if (ev) {
        t.notify = ev->notify;
        t.signo = ev->signo;
        t.value = ev->value;
        if (t.notify != SIGEV_NONE && t.notify != SIGEV_SIGNAL && t.notify != SIGEV_THREAD_ID)
            return -EINVAL; /* SIGEV_THREAD is libc's job (it asks for SIGEV_THREAD_ID) */
        if (t.notify != SIGEV_NONE && (t.signo < 1 || t.signo > NSIG))
            return -EINVAL;
        if (t.notify == SIGEV_THREAD_ID) {
            t.tid = ev->u.tid;
            if (!task_find(t.tid))
                return -EINVAL;
        }
    }
    timers[id] = t;
    return id;
}

long ptimer_gettime(int id, u64 *value, u64 *interval)
{
    struct ptimer *t = lookup(id);
    if (!t)
        return -EINVAL;
    *value = remaining(&t->kt);
    *interval = t->interval;
    return 0;
}

long ptimer_settime(int id, bool absolute, u64 value, u64 interval, u64 *old_value,
                    u64 *old_interval)
{
    struct ptimer *t = lookup(id);
    if (!t)
        return -EINVAL;
    if (old_value)
        ptimer_gettime(id, old_value, old_interval);
    ktimer_cancel(&t->kt);
    t->interval = interval;
    t->overrun = 0;
    if (!value)
        return 0;
    u64 mono = time_mono_ns(), deadline = mono + value;
    if (absolute) {
        bool real = t->clock == CLOCK_REALTIME || t->clock == CLOCK_REALTIME_ALARM;
        u64 now = real ? time_real_ns() : mono;
        deadline = value > now ? mono + (value - now) : mono;
    }
    ktimer_arm(&t->kt, deadline, ptimer_fire);
    return 0;
}

long ptimer_getoverrun(int id)
{
    struct ptimer *t = lookup(id);
    return t ? t->last_overrun : -EINVAL;
}

long ptimer_delete(int id)
{
    struct ptimer *t = lookup(id);
    if (!t)
        return -EINVAL;
    ktimer_cancel(&t->kt);
    memset(t, 0, sizeof(*t));
    return 0;
}

/* execve deletes the POSIX timers (Linux's exit_itimers); the itimers stay. */
void ptimers_exec_reset(void)
{
    for (int id = 0; id < MAX_TIMERS; id++)
        if (timers[id].used)
            ptimer_delete(id);
}
