/* SPDX-License-Identifier: Apache-2.0 */
/* timers.h: the process's interval timer (ITIMER_REAL) and POSIX timers, which send signals from kernel timers (kernel/timers.c).
 *
 * Times are nanoseconds. Deadlines live on the monotonic clock; a timer set on
 * CLOCK_REALTIME with an absolute time is converted when it is set (a later
 * change of the wall clock does not move it: the guest cannot set its clock).
 */
#ifndef LIBOS_TIMERS_H
#define LIBOS_TIMERS_H

#include <libos/types.h>

#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4

/* Linux's struct sigevent (64 bytes). */
struct ksigevent {
    u64 value;
    s32 signo, notify;
    union {
        s32 tid;
        s32 pad[12];
    } u;
};
_Static_assert(sizeof(struct ksigevent) == 64, "struct sigevent");

/* ITIMER_REAL: SIGALRM to the process. old_* may be NULL. */
void itimer_real_get(u64 *value, u64 *interval);
void itimer_real_set(u64 value, u64 interval, u64 *old_value, u64 *old_interval);

/* ITIMER_VIRTUAL (1) and ITIMER_PROF (2): SIGVTALRM / SIGPROF after the process
 * used value ns of CPU time (both count user and kernel time). */
void itimer_cpu_get(int which, u64 *value, u64 *interval);
void itimer_cpu_set(int which, u64 value, u64 interval);

/* POSIX timers. ev NULL = SIGEV_SIGNAL with SIGALRM and the id as value. Returns
 * the timer id, or -EINVAL/-EAGAIN. */
long ptimer_create(int clock, const struct ksigevent *ev);
long ptimer_settime(int id, bool absolute, u64 value, u64 interval, u64 *old_value,
                    u64 *old_interval);
long ptimer_gettime(int id, u64 *value, u64 *interval);
long ptimer_getoverrun(int id);
long ptimer_delete(int id);
/* execve: every POSIX timer deleted (itimers stay). */
void ptimers_exec_reset(void);

struct process;
/* The process ends: its interval timers and POSIX timers go with it. */
void timers_process_exit(struct process *p);

#endif /* LIBOS_TIMERS_H */
