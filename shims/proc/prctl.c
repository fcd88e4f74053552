/* SPDX-License-Identifier: Apache-2.0 */
/* prctl.c: prctl(2): the process name and the options libraries set at startup. */
#include <libos/task.h>
#include <libos/string.h>
#include <shim/util.h>

#define PR_SET_PDEATHSIG 1
#define PR_GET_PDEATHSIG 2
#define PR_GET_DUMPABLE 3
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_GET_SECCOMP 21
#define PR_CAPBSET_READ 23
#define PR_SET_TIMERSLACK 29
#define PR_GET_TIMERSLACK 30
#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37
#define PR_SET_NO_NEW_PRIVS 38
#define PR_GET_NO_NEW_PRIVS 39
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#define PR_SET_VMA 0x53564d41
#define CAP_LAST_CAP 40

static int dumpable = 1, no_new_privs, thp_disable;

/* sys_prctl: PARTIAL: names stored and returned; the common flags remembered; others EINVAL. */
long sys_prctl(const struct shim_args *a)
{
    int opt = arg_int(a, 0);
    u64 arg2 = arg_u64(a, 1);
    switch (opt) {
    case PR_SET_NAME: {
        char name[16];
        memset(name, 0, sizeof(name));
        long n = copy_string_from_user(name, arg2, sizeof(name));
        if (n == -ENAMETOOLONG) /* Linux truncates to 15 bytes */
            n = copy_from_user(name, arg2, sizeof(name) - 1);
        if (n < 0)
            return -EFAULT;
        memcpy(current->comm, name, sizeof(name)); /* per thread, as on Linux */
        current->comm[15] = 0;
        return 0;
    }
    case PR_GET_NAME:
        return copy_to_user(arg2, current->comm, sizeof(current->comm));
    case PR_SET_PDEATHSIG:
        if (arg2 > 64)
            return -EINVAL;
        current_process()->pdeath_signal = (int)arg2; /* sent when the parent exits (kernel/proc.c) */
        return 0;
    case PR_GET_PDEATHSIG:
        return shim_put_int(arg2, current_process()->pdeath_signal);
    case PR_GET_DUMPABLE:
        return dumpable;
    case PR_SET_DUMPABLE:
        if (arg2 > 1)
            return -EINVAL;
        dumpable = (int)arg2;
        return 0;
    case PR_GET_SECCOMP:
        return 0;
    case PR_CAPBSET_READ:
        return arg2 <= CAP_LAST_CAP ? (int)((DOCKER_CAPS >> arg2) & 1) : -EINVAL; /* Docker's bounding set */
    case PR_SET_TIMERSLACK:
        return 0;
    case PR_GET_TIMERSLACK:
        return 50000;
    case PR_SET_CHILD_SUBREAPER:
        current_process()->subreaper = arg2 != 0; /* orphans below come to us (kernel/proc.c) */
        return 0;
    case PR_GET_CHILD_SUBREAPER:
        return shim_put_int(arg2, current_process()->subreaper);
    case PR_SET_NO_NEW_PRIVS:
        if (arg2 != 1)
            return -EINVAL;
        no_new_privs = 1;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        return no_new_privs;
    case PR_SET_THP_DISABLE:
        thp_disable = arg2 != 0;
        return 0;
    case PR_GET_THP_DISABLE:
        return thp_disable;
    case PR_SET_VMA:
        return 0; /* anonymous VMA names are cosmetic */
    default:
        return -EINVAL;
    }
}
