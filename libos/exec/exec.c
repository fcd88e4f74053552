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

/* The volume client (fs/volume.c): only in images with the fs family (docs/volumes.md). */
extern void volumes_mount(void) __attribute__((weak));

static size_t vlen(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static const char *const no_args[] = {NULL};

/* argv = the image's Entrypoint part + (d2u.cmd if given, else the image's Cmd); a
 * d2u.entrypoint replaces the Entrypoint and drops the image's Cmd, as docker run. */
static const char **build_argv(void)
{
    size_t ep = image_entrypoint_argc, total = vlen(image_argv);
    if (ep > total)
        ep = total;
    const char *const *entry = image_argv;
    const char *const *cmd = kopts.have_cmd ? (const char *const *)kopts.cmd : image_argv + ep;
    if (kopts.have_entrypoint) {
        entry = (const char *const *)kopts.entrypoint;
        ep = vlen(entry);
        if (!kopts.have_cmd)
            cmd = no_args;
    }
    size_t ncmd = vlen(cmd);
    const char **argv = kzalloc((ep + ncmd + 1) * sizeof(char *));
    if (!argv)
        panic("exec: out of memory for argv");
    for (size_t i = 0; i < ep; i++)
        argv[i] = entry[i];
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

/* The program to run: image_exec_path, unless d2u.entrypoint or d2u.cmd (no Entrypoint)
 * replaced argv[0]:
 * then argv[0] itself, searched in PATH when it has no slash (as docker run does). */
static const char *program_path(const char **argv, const char **envp)
{
    if (!kopts.have_entrypoint && (image_entrypoint_argc > 0 || !kopts.have_cmd))
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

/* A small file of the rootfs (/etc/passwd, /etc/group) as a NUL-terminated heap string. */
static char *read_small(const char *path)
{
    struct vnode *n;
    if (vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW, &n) < 0 || !S_ISREG(n->mode) || n->size > (1u << 20))
        return NULL;
    char *buf = kmalloc(n->size + 1);
    if (!buf)
        return NULL;
    long r = fdata_read(n, buf, n->size, 0);
    buf[r > 0 ? r : 0] = 0;
    return buf;
}

/* Field i (0-based) of a colon-separated line [line, end): its start and length. */
static bool field(const char *line, const char *end, int i, const char **f, size_t *len)
{
    const char *p = line;
    for (; i > 0; i--) {
        while (p < end && *p != ':')
            p++;
        if (p == end)
            return false;
        p++;
    }
    const char *q = p;
    while (q < end && *q != ':')
        q++;
    *f = p;
    *len = (size_t)(q - p);
    return true;
}

/* A decimal id of at most 10 digits below 2^32-1, or -1. */
static s64 parse_id(const char *s, size_t len)
{
    if (len == 0 || len > 10)
        return len == 0 ? 0 : -1; /* an empty passwd/group field is 0, as runc reads it */
    u64 v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (u64)(s[i] - '0');
    }
    return v <= 0xfffffffeu ? (s64)v : -1;
}

static bool numeric(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len > 0;
}

/* The line of table whose field key_field equals key: fields id_field (and 5, home). */
static bool table_find(const char *table, int key_field, const char *key, size_t klen, int id_field,
                       s64 *id, s64 *id2, const char **home, size_t *home_len, const char **name, size_t *name_len)
{
    for (const char *line = table; table && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *f, *g;
        size_t fl, gl;
        if (line[0] != '#' && field(line, end, key_field, &f, &fl) && fl == klen && strncmp(f, key, klen) == 0 &&
            field(line, end, id_field, &g, &gl)) {
            *id = parse_id(g, gl);
            if (id2)
                *id2 = field(line, end, 3, &g, &gl) ? parse_id(g, gl) : -1;
            if (home && field(line, end, 5, &g, &gl))
                *home = g, *home_len = gl;
            if (name)
                field(line, end, 0, name, name_len);
            return true;
        }
        line = *end ? end + 1 : end;
    }
    return false;
}

static char home_env[PATH_MAX + 6];

/* The supplementary groups as Docker sets them: the primary gid, then (no group given)
 * each /etc/group entry whose member list names the user. */
static void set_groups(struct process *p, u32 gid, const char *name, size_t name_len)
{
    p->groups[0] = gid;
    p->ngroups = 1;
    char *group = name ? read_small("/etc/group") : NULL;
    for (const char *line = group; line && *line && p->ngroups < NGROUPS_KEPT;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *f, *m;
        size_t fl, ml;
        if (line[0] != '#' && field(line, end, 2, &f, &fl) && field(line, end, 3, &m, &ml)) {
            s64 g = parse_id(f, fl);
            for (const char *s = m; s < m + ml;) {
                const char *c = s;
                while (c < m + ml && *c != ',')
                    c++;
                if ((size_t)(c - s) == name_len && strncmp(s, name, name_len) == 0 && fl && g >= 0 &&
                    !proc_in_group(p, (u32)g) && (u32)g != gid)
                    p->groups[p->ngroups++] = (u32)g;
                s = c + 1;
            }
        }
        line = *end ? end + 1 : end;
    }
    kfree(group);
}

/* d2u.user=USER[:GROUP] (run -u): names and ids resolved in the image's /etc/passwd and
 * /etc/group as runc does; a numeric uid not in passwd runs with gid 0. HOME follows the
 * user's passwd entry unless -e set it (runc's rule). */
static void set_user(const char **envp)
{
    const char *u = kopts.user, *colon = strchr(u, ':');
    size_t ulen = colon ? (size_t)(colon - u) : strlen(u);
    char *passwd = read_small("/etc/passwd");
    s64 uid = numeric(u, ulen) ? parse_id(u, ulen) : -1, gid = 0, id = -1, id2 = -1;
    const char *home = NULL, *name = NULL;
    size_t home_len = 0, name_len = 0;
    if (numeric(u, ulen)) {
        if (uid < 0)
            panic("d2u.user: user %s: the uid is out of range", u);
        if (table_find(passwd, 2, u, ulen, 2, &id, &id2, &home, &home_len, &name, &name_len))
            gid = id2;
    } else if (ulen && table_find(passwd, 0, u, ulen, 2, &id, &id2, &home, &home_len, &name, &name_len)) {
        uid = id, gid = id2;
    } else {
        panic("d2u.user: unable to find user %.*s: no matching entries in passwd file", (int)ulen, u);
    }
    if (colon) {
        const char *g = colon + 1;
        size_t glen = strlen(g);
        if (numeric(g, glen)) {
            gid = parse_id(g, glen);
        } else {
            char *group = read_small("/etc/group");
            if (!glen || !table_find(group, 0, g, glen, 2, &gid, NULL, NULL, NULL, NULL, NULL))
                panic("d2u.user: unable to find group %s: no matching entries in group file", g);
            kfree(group);
        }
    }
    if (uid < 0 || gid < 0)
        panic("d2u.user: user %s: an id in /etc/passwd or /etc/group is not a number below 2^32-1", u);
    struct process *p = current_process();
    p->uid = p->euid = p->suid = (u32)uid;
    p->gid = p->egid = p->sgid = (u32)gid;
    set_groups(p, (u32)gid, colon ? NULL : name, name_len);
    bool home_given = false;
    for (size_t i = 0; kopts.env && kopts.env[i]; i++)
        home_given |= strncmp(kopts.env[i], "HOME=", 5) == 0;
    if (!home_given) {
        if (home_len > PATH_MAX)
            home_len = 0;
        memcpy(home_env, "HOME=", 5);
        memcpy(home_env + 5, home_len ? home : "/", home_len ? home_len : 1);
        home_env[5 + (home_len ? home_len : 1)] = 0;
        for (size_t i = 0; envp[i]; i++)
            if (strncmp(envp[i], "HOME=", 5) == 0)
                envp[i] = home_env;
    }
    kfree(passwd);
}

static void empty_dir(struct vnode *dir)
{
    while (dir->children) {
        struct dentry *d = dir->children;
        if (S_ISDIR(d->node->mode))
            empty_dir(d->node);
        ramfs_remove(dir, d);
    }
}

/* d2u.tmpfs=PATHS (run --tmpfs): each directory starts empty, root's, mode 1777, as a
 * fresh tmpfs mounted there would (the whole rootfs is RAM already); its old contents
 * are removed, where Docker's mount would hide them. */
static void make_tmpfs(void)
{
    for (size_t i = 0; kopts.tmpfs && kopts.tmpfs[i]; i++) {
        const char *dir = kopts.tmpfs[i];
        struct vnode *n;
        if (dir[0] != '/')
            panic("d2u.tmpfs: %s is not an absolute path", dir);
        vfs_mkdir_p(dir);
        if (vfs_lookup(AT_FDCWD, dir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &n) < 0 || n->flags & VN_PINNED)
            panic("d2u.tmpfs: %s is not a directory of the image", dir);
        empty_dir(n);
        n->mode = S_IFDIR | 01777;
        n->uid = n->gid = 0;
        n->flags |= VN_RW;
    }
}

/* d2u.readonly=1 (run --read-only): what stays writable is what Docker mounts apart from
 * the root: /dev, /dev/shm and /dev/mqueue, and the --tmpfs directories (marked above);
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are read-only, as Docker mounts them then. */
static void make_read_only(void)
{
    static const char *const writable[] = {"/dev", "/dev/shm", "/dev/mqueue"};
    for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
        struct vnode *n;
        if (vfs_lookup(AT_FDCWD, writable[i], 0, &n) == 0)
            n->flags |= VN_RW;
    }
    vfs_read_only = true;
}

/* The working directory: d2u.workdir (run -w), created when missing as runc does, else
 * the image's. */
static void set_workdir(void)
{
    const char *dir = kopts.workdir ? kopts.workdir : image_workdir;
    struct vnode *wd;
    if (kopts.workdir && dir[0] == '/' && vfs_lookup(AT_FDCWD, dir, LOOKUP_FOLLOW, &wd) == -ENOENT)
        vfs_mkdir_p(dir); /* runc creates -w's directories */
    long r = vfs_lookup(AT_FDCWD, dir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &wd);
    if (r == 0)
        r = vfs_chdir_node(wd);
    if (r == 0)
        return;
    if (kopts.workdir && r == -EACCES) /* as runc: its chdir, made as the user, fails */
        panic("d2u.workdir: %s: permission denied for the container's user", dir);
    if (r == -EACCES)
        kinfo("workdir %s: permission denied for the container's user; staying in /", dir);
    else if (kopts.workdir)
        panic("d2u.workdir: %s is not a directory in the image", dir);
    else
        kinfo("workdir %s does not exist in the image; staying in /", dir);
}

__noreturn void exec_start(void)
{
    const char **argv = build_argv();
    const char **envp = build_envp();
    make_tmpfs();
    /* -v: after --tmpfs (which empties image directories), before -w. */
    if (volumes_mount)
        volumes_mount();
    else if (kopts.vol && kopts.vol[0])
        panic("d2u.vol: %s: this image has no file syscalls (no fs family) to serve a volume", kopts.vol[0]);
    set_workdir();
    if (kopts.user)
        set_user(envp);
    if (kopts.read_only)
        make_read_only();

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
