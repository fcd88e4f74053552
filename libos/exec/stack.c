/* SPDX-License-Identifier: Apache-2.0 */
/* stack.c: the Linux initial process stack: strings, argv, envp, auxv (binfmt_elf create_elf_tables). */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/exec.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/random.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define MAX_AUXV 20
/* The callers apply Linux's limit (args.c, at most 3/4 of _STK_LIM); this only keeps
 * the strings inside the stack mapping whatever they did. */
#define STRINGS_MAX (USER_STACK_SIZE / 4 * 3)

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

/* Push a string below *sp; returns its user address. */
static u64 push_string(u64 *sp, const char *s)
{
    size_t len = strlen(s) + 1;
    *sp -= len;
    uaccess_copy((void *)*sp, s, len);
    return *sp;
}

long stack_build(const struct exec_stack_args *a)
{
    size_t argc = count(a->argv), envc = count(a->envp), strings = strlen(a->execfn) + 1;
    for (size_t i = 0; i < argc; i++)
        strings += strlen(a->argv[i]) + 1;
    for (size_t i = 0; i < envc; i++)
        strings += strlen(a->envp[i]) + 1;
    if (strings > STRINGS_MAX)
        return -E2BIG;

    u64 sp = USER_STACK_TOP - sizeof(u64); /* 8 zero bytes end the stack */
    uaccess_zero((void *)sp, sizeof(u64));
    u64 execfn = push_string(&sp, a->execfn);
    /* Strings go downwards from the last envp to argv[0], so argv[0] is lowest. */
    u64 *envp_addr = kmalloc((envc + 1) * sizeof(u64));
    u64 *argv_addr = kmalloc((argc + 1) * sizeof(u64));
    if (!envp_addr || !argv_addr) {
        kfree(envp_addr);
        kfree(argv_addr);
        return -ENOMEM;
    }
    for (size_t i = envc; i-- > 0;)
        envp_addr[i] = push_string(&sp, a->envp[i]);
    for (size_t i = argc; i-- > 0;)
        argv_addr[i] = push_string(&sp, a->argv[i]);
    envp_addr[envc] = argv_addr[argc] = 0;
    /* /proc/[pid]/cmdline and environ read these ranges (fs/procfs_pid.c). */
    current_process()->arg_start = sp;
    current_process()->arg_end = current_process()->env_start = envc ? envp_addr[0] : execfn;
    current_process()->env_end = execfn;

    u64 platform = push_string(&sp, "x86_64");
    sp = ALIGN_DOWN(sp, 16);
    u8 rnd[16];
    random_bytes(rnd, sizeof(rnd));
    sp -= sizeof(rnd);
    uaccess_copy((void *)sp, rnd, sizeof(rnd));
    u64 random_addr = sp;

    const struct elf_image *m = a->main;
    u64 auxv[MAX_AUXV * 2];
    size_t na = 0;
#define AUX(k, v) (auxv[na++] = (k), auxv[na++] = (u64)(v))
    AUX(AT_HWCAP, cpu_features.hwcap);
    AUX(AT_PAGESZ, PAGE_SIZE);
    AUX(AT_CLKTCK, 100);
    AUX(AT_PHDR, m->phdr);
    AUX(AT_PHENT, 56);
    AUX(AT_PHNUM, m->phnum);
    AUX(AT_BASE, a->interp ? a->interp->bias : 0);
    AUX(AT_FLAGS, 0);
    AUX(AT_ENTRY, m->entry);
    AUX(AT_UID, current_process()->uid);
    AUX(AT_EUID, current_process()->euid);
    AUX(AT_GID, current_process()->gid);
    AUX(AT_EGID, current_process()->egid);
    AUX(AT_SECURE, 0);
    AUX(AT_RANDOM, random_addr);
    AUX(AT_HWCAP2, cpu_features.hwcap2);
    AUX(AT_EXECFN, execfn);
    AUX(AT_PLATFORM, platform);
    AUX(AT_NULL, 0);
#undef AUX

    /* argc, argv[], NULL, envp[], NULL, auxv[]: %rsp must be 16-byte aligned at argc. */
    size_t words = 1 + (argc + 1) + (envc + 1) + na;
    sp = ALIGN_DOWN(sp - words * sizeof(u64), 16);
    u64 at = sp;
    u64 argc64 = argc;
    uaccess_copy((void *)at, &argc64, 8);
    at += 8;
    uaccess_copy((void *)at, argv_addr, (argc + 1) * 8);
    at += (argc + 1) * 8;
    uaccess_copy((void *)at, envp_addr, (envc + 1) * 8);
    at += (envc + 1) * 8;
    uaccess_copy((void *)at, auxv, na * 8);
    kfree(envp_addr);
    kfree(argv_addr);
    current_process()->start_stack = sp;
    return (long)sp;
}
