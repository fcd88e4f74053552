/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c: start the first program: argv/env from image_config and the command line, then execve's loader. */
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

#include "exec_internal.h"

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

/* The boot program's strings come from image_config (kernel memory): the same
 * limits as execve's, the same #! and PT_INTERP handling. */
static long push_all(struct binprm *b, struct exec_strv *v, const char **src)
{
    for (size_t i = 0; src[i]; i++) {
        b->bytes += strlen(src[i]) + 1;
        long r = strv_push(v, (char *)src[i]);
        if (r < 0)
            return r;
    }
    return v->v ? 0 : strv_push(v, NULL) < 0 ? -ENOMEM : (v->n = 0, 0);
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
    struct binprm *b = kmalloc(sizeof(*b));
    if (!b)
        panic("exec: out of memory");
    binprm_init(b);
    /* AT_EXECFN and /proc/self/exe name the program by an absolute path (glibc relies on it). */
    b->filename = b->interp = absolute_path(path);
    long r = exec_open(b, AT_FDCWD, b->filename, 0);
    if (r >= 0)
        r = binprm_set_limit(b, vlen(argv), vlen(envp));
    if (r >= 0) {
        b->bytes = strlen(b->filename) + 1;
        r = push_all(b, &b->envp, envp);
    }
    if (r >= 0)
        r = push_all(b, &b->argv, argv);
    if (r >= 0)
        r = binprm_check_size(b);
    if (r >= 0)
        r = exec_prepare(b);
    if (r < 0) {
        kinfo("exec: %s: error %ld", b->interp ? b->interp : path, -r);
        kexit_execfail((int)-r, path);
    }
    exec_commit(b, true);
}
