/* SPDX-License-Identifier: Apache-2.0 */
/* exit.c: exit (one thread) and exit_group (every thread, the VM). */
#include <libos/task.h>
#include <shim/util.h>

/* sys_exit: Linux exit(2): ends the calling thread (CLEARTID, robust list); the last one ends the process. */
long sys_exit(const struct shim_args *a) { task_exit(arg_int(a, 0) & 0xff); }

/* sys_exit_group: Linux exit_group(2), from any thread. */
long sys_exit_group(const struct shim_args *a) { process_exit_group(arg_int(a, 0) & 0xff); }
