/* SPDX-License-Identifier: Apache-2.0 */
/* exit.c: exit and exit_group: with one thread both end the VM with the status. */
#include <libos/proc.h>
#include <shim/util.h>

/* sys_exit: Linux exit(2): the last thread leaving ends the process. */
long sys_exit(const struct shim_args *a)
{
    /* CLONE_CHILD_CLEARTID semantics: clear the tid word (no one can wait on it). */
    if (proc.clear_child_tid)
        shim_put_int(proc.clear_child_tid, 0);
    proc_exit_group(arg_int(a, 0) & 0xff);
}

/* sys_exit_group: Linux exit_group(2). */
long sys_exit_group(const struct shim_args *a) { proc_exit_group(arg_int(a, 0) & 0xff); }
