/* SPDX-License-Identifier: Apache-2.0 */
/* ipc.c: System V IPC: semaphores (libos/kernel/sem.c), message queues (libos/kernel/msg.c) and shared memory (libos/fs/sysvshm.c). */
#include <libos/heap.h>
#include <libos/msg.h>
#include <libos/sem.h>
#include <libos/shm.h>
#include <libos/time.h>
#include <shim/util.h>

#define SEMOPM 500

/* sys_semget: Linux semget(2). */
long sys_semget(const struct shim_args *a) { return sem_get((s32)arg_int(a, 0), arg_int(a, 1), arg_int(a, 2)); }

/* sys_semctl: Linux semctl(2); the fourth argument is the union semun, passed by value. */
long sys_semctl(const struct shim_args *a) { return sem_ctl(arg_int(a, 0), arg_int(a, 1), arg_int(a, 2), arg_u64(a, 3)); }

static long semop_common(int id, u64 usops, long nsops, u64 utimeout)
{
    if (nsops < 1 || id < 0)
        return -EINVAL;
    if (nsops > SEMOPM)
        return -E2BIG;
    u64 deadline = ~0ul;
    if (utimeout) {
        struct { s64 sec, nsec; } ts;
        if (copy_from_user(&ts, utimeout, sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
            return -EINVAL;
        deadline = time_mono_ns() + (u64)ts.sec * 1000000000ul + (u64)ts.nsec;
    }
    struct sembuf_k *sops = kmalloc((size_t)nsops * sizeof(*sops));
    if (!sops)
        return -ENOMEM;
    long r = copy_from_user(sops, usops, (size_t)nsops * sizeof(*sops)) < 0 ? -EFAULT : sem_timedop(id, sops, (u32)nsops, deadline);
    kfree(sops);
    return r;
}

/* sys_semop: Linux semop(2): semtimedop without a timeout. */
long sys_semop(const struct shim_args *a) { return semop_common(arg_int(a, 0), arg_uptr(a, 1), (long)arg_uint(a, 2), 0); }
/* sys_semtimedop: PARTIAL: Linux semtimedop(2); SEM_UNDO is accepted, not applied at exit. */
long sys_semtimedop(const struct shim_args *a) { return semop_common(arg_int(a, 0), arg_uptr(a, 1), (long)arg_uint(a, 2), arg_uptr(a, 3)); }

/* sys_shmget: PARTIAL: Linux shmget(2); at most 128 segments in the guest's one namespace. */
long sys_shmget(const struct shim_args *a) { return shm_get((s32)arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2)); }
/* sys_shmat: Linux shmat(2): SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC. */
long sys_shmat(const struct shim_args *a) { return shm_at(arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2)); }
/* sys_shmdt: Linux shmdt(2). */
long sys_shmdt(const struct shim_args *a) { return shm_dt(arg_u64(a, 0)); }
/* sys_shmctl: PARTIAL: Linux shmctl(2); SHM_LOCK only sets the flag (nothing is swapped). */
long sys_shmctl(const struct shim_args *a) { return shm_ctl(arg_int(a, 0), arg_int(a, 1), arg_uptr(a, 2)); }

/* sys_msgget: PARTIAL: Linux msgget(2); at most 128 queues in the guest's one namespace. */
long sys_msgget(const struct shim_args *a) { return msg_get((s32)arg_int(a, 0), arg_int(a, 1)); }
/* sys_msgsnd: Linux msgsnd(2). */
long sys_msgsnd(const struct shim_args *a) { return msg_snd(arg_int(a, 0), arg_uptr(a, 1), (long)arg_u64(a, 2), arg_int(a, 3)); }
/* sys_msgrcv: Linux msgrcv(2): MSG_NOERROR, MSG_EXCEPT, MSG_COPY. */
long sys_msgrcv(const struct shim_args *a) { return msg_rcv(arg_int(a, 0), arg_uptr(a, 1), (long)arg_u64(a, 2), (long)arg_u64(a, 3), arg_int(a, 4)); }
/* sys_msgctl: Linux msgctl(2). */
long sys_msgctl(const struct shim_args *a) { return msg_ctl(arg_int(a, 0), arg_int(a, 1), arg_uptr(a, 2)); }
