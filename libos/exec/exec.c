/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c: start the application: argv/env from image_config and the command line, load, enter. */
#include <libos/cmdline.h>
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/exec.h>
#include <libos/heap.h>
#include <libos/image_config.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <libos/x86.h>

static size_t vlen(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* argv = the image's Entrypoint part + (d2u.cmd if given, else the image's Cmd). */
static const char **build_argv(void)
{
    size_t ep = image_entrypoint_argc, total = vlen(image_argv);
    if (ep > total)
        ep = total;
    const char *const *cmd = kopts.have_cmd ? (const char *const *)kopts.cmd : image_argv + ep;
    size_t ncmd = vlen(cmd);
    const char **argv = kzalloc((ep + ncmd + 1) * sizeof(char *));
    if (!argv)
        panic("exec: out of memory for argv");
    for (size_t i = 0; i < ep; i++)
        argv[i] = image_argv[i];
    for (size_t i = 0; i < ncmd; i++)
        argv[ep + i] = cmd[i];
    return argv;
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* envp = the image's Env, with d2u.env entries replacing same-named keys or appended. */
static const char **build_envp(void)
{
    size_t ni = vlen(image_envp), nx = vlen((const char *const *)kopts.env);
    const char **envp = kzalloc((ni + nx + 1) * sizeof(char *));
    if (!envp)
        panic("exec: out of memory for envp");
    size_t n = 0;
    for (size_t i = 0; i < ni; i++)
        envp[n++] = image_envp[i];
    for (size_t j = 0; j < nx; j++) {
        const char *e = kopts.env[j];
        size_t k = key_len(e), i;
        for (i = 0; i < n; i++)
            if (key_len(envp[i]) == k && strncmp(envp[i], e, k) == 0)
                break;
        envp[i] = e;
        if (i == n)
            n++;
    }
    return envp;
}

static const char *env_get(const char *const *envp, const char *key)
{
    size_t k = strlen(key);
    for (; *envp; envp++)
        if (strncmp(*envp, key, k) == 0 && (*envp)[k] == '=')
            return *envp + k + 1;
    return NULL;
}

/* The program to run: image_exec_path, unless d2u.cmd replaced argv[0] (no Entrypoint):
 * then argv[0] itself, searched in PATH when it has no slash (as docker run does). */
static const char *program_path(const char **argv, const char **envp)
{
    if (image_entrypoint_argc > 0 || !kopts.have_cmd)
        return image_exec_path;
    const char *name = argv[0];
    if (!name || !*name || strchr(name, '/'))
        return name ? name : "";
    const char *path = env_get(envp, "PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    static char buf[PATH_MAX];
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        if (dl + 1 + strlen(name) < sizeof(buf)) {
            memcpy(buf, p, dl);
            buf[dl] = '/';
            strlcpy(buf + dl + 1, name, sizeof(buf) - dl - 1);
            struct vnode *n;
            if (vfs_lookup(AT_FDCWD, buf, LOOKUP_FOLLOW, &n) == 0 && S_ISREG(n->mode))
                return buf;
        }
        p += dl + (colon ? 1 : 0);
    }
    return name;
}

/* AT_EXECFN and /proc/self/exe name the program by an absolute path (glibc relies on it). */
static const char *absolute_path(const char *p)
{
    if (p[0] == '/' || !p[0])
        return kstrdup(p);
    static char buf[PATH_MAX];
    long n = vfs_dir_path(vfs_cwd(), buf, sizeof(buf));
    if (n < 0 || (size_t)n + strlen(p) + 1 > sizeof(buf))
        return kstrdup(p);
    if (buf[n - 2] != '/')
        buf[n - 1] = '/', buf[n] = 0;
    else
        n--;
    strlcpy(buf + strlen(buf), p, sizeof(buf) - strlen(buf));
    return kstrdup(buf);
}

static long open_executable(const char *path, const struct vnode **out)
{
    struct vnode *n;
    long r = vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW, &n);
    if (r < 0)
        return r;
    if (!S_ISREG(n->mode) || !(n->mode & 0111))
        return -EACCES;
    const u8 *bytes = fdata_flat(n);
    if (bytes && n->size >= 2 && bytes[0] == '#' && bytes[1] == '!') {
        kinfo("exec: %s is a script; '#!' interpreters are not supported yet", path);
        return -ENOEXEC;
    }
    *out = n;
    return 0;
}

__noreturn void exec_start(void)
{
    const char **argv = build_argv();
    const char **envp = build_envp();
    struct vnode *wd;
    if (vfs_lookup(AT_FDCWD, image_workdir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &wd) == 0)
        vfs_chdir_node(wd);
    else
        kinfo("workdir %s does not exist in the image; staying in /", image_workdir);

    const char *path = program_path(argv, envp);
    if (!argv[0])
        kexit_execfail(ENOENT, path);
    const struct vnode *file;
    long r = open_executable(path, &file);
    if (r < 0)
        kexit_execfail((int)-r, path);
    path = absolute_path(path);

    struct elf_image main, interp;
    r = elf_load(file, path, false, &main);
    if (r < 0)
        kexit_execfail((int)-r, path);
    bool dynamic = main.interp != NULL;
    if (dynamic) {
        const struct vnode *ld;
        r = open_executable(main.interp, &ld);
        if (r < 0) {
            kinfo("exec: interpreter %s of %s: error %ld", main.interp, path, -r);
            kexit_execfail((int)-r, path);
        }
        r = elf_load(ld, main.interp, true, &interp);
        if (r < 0)
            kexit_execfail((int)-r, path);
    }
    /* The heap starts after the program, except for static-PIE, which sits in the mmap
     * area: there brk moves to the unused PIE base, as Linux does. */
    uvm_set_brk_base(main.is_dyn && !dynamic ? USER_PIE_BASE : ALIGN_UP(main.end, PAGE_SIZE));
    r = uvm_map(USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_SIZE, PROT_READ | PROT_WRITE,
                UVM_FIXED | UVM_STACK, NULL, "[stack]");
    if (r < 0)
        kexit_execfail((int)-r, path);
    struct exec_stack_args sa = {argv, envp, path, &main, dynamic ? &interp : NULL};
    long sp = stack_build(&sa);
    if (sp < 0)
        kexit_execfail((int)-sp, path);

    current_process()->exec_path = path;
    proc_set_comm(path);
    procfs_set_exe(path);
    current_process()->start_tsc = rdtsc();
    klog("D2U:ENTER\n");
    cpu_enter_user(dynamic ? interp.entry : main.entry, (u64)sp);
}
