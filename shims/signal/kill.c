/* SPDX-License-Identifier: Apache-2.0 */
/* kill.c: kill, tkill and tgkill, which can only reach ourselves. */
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <shim/util.h>

/* sys_kill: PARTIAL: pid 0, -1 or our pid; else ESRCH. */
long sys_kill(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    if (pid != 0 && pid != -1 && pid != proc.pid && pid != -proc.pgid)
        return -ESRCH;
    return signal_send_self(arg_int(a, 1));
}

/* sys_tkill: PARTIAL: our thread only. */
long sys_tkill(const struct shim_args *a)
{
    int tid = arg_int(a, 0);
    if (tid <= 0)
        return -EINVAL;
    return task_find(tid) ? signal_send_self(arg_int(a, 1)) : -ESRCH;
}

/* sys_tgkill: PARTIAL: our thread only. */
long sys_tgkill(const struct shim_args *a)
{
    int tgid = arg_int(a, 0), tid = arg_int(a, 1);
    if (tgid <= 0 || tid <= 0)
        return -EINVAL;
    return tgid == proc.pid && task_find(tid) ? signal_send_self(arg_int(a, 2)) : -ESRCH;
}
