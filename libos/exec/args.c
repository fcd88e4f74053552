/* SPDX-License-Identifier: Apache-2.0 */
/* args.c: execve's argv and envp copied into kernel memory with Linux's limits (fs/exec.c copy_strings, bprm_stack_limits). */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#include "exec_internal.h"

#define CHUNK_SIZE (64 * 1024)

void binprm_init(struct binprm *b)
{
    memset(b, 0, sizeof(*b));
    b->dirfd = AT_FDCWD;
}

static void strv_free(struct exec_strv *v)
{
    kfree(v->v);
    *v = (struct exec_strv){0};
}

void binprm_free(struct binprm *b)
{
    strv_free(&b->argv);
    strv_free(&b->envp);
    while (b->chunks) {
        struct exec_chunk *c = b->chunks;
        b->chunks = c->next;
        kfree(c);
    }
    exec_close(b);
    elf_info_free(&b->elf);
    elf_info_free(&b->ld_elf);
    kfree(b->file_path);
    b->file_path = NULL;
}

/* Room for len bytes in the chunks (a string longer than a chunk gets its own). */
static char *chunk_space(struct binprm *b, size_t len)
{
    struct exec_chunk *c = b->chunks;
    if (!c || c->cap - c->used < len) {
        size_t cap = MAX((size_t)CHUNK_SIZE, len);
        c = kmalloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = b->chunks;
        b->chunks = c;
    }
    char *p = c->data + c->used;
    c->used += len;
    return p;
}

char *binprm_strdup(struct binprm *b, const char *s, size_t len)
{
    char *p = chunk_space(b, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

long strv_push(struct exec_strv *v, char *s)
{
    if (v->n + 2 > v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        char **nv = kmalloc(cap * sizeof(char *));
        if (!nv)
            return -ENOMEM;
        if (v->v)
            memcpy(nv, v->v, v->n * sizeof(char *));
        kfree(v->v);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = s;
    v->v[v->n] = NULL;
    return 0;
}

long exec_count_user(u64 uvec)
{
    if (!uvec)
        return 0;
    for (long n = 0;; n++) {
        u64 p;
        if (copy_from_user(&p, uvec + (u64)n * 8, 8) < 0)
            return -EFAULT;
        if (!p)
            return n;
        if (n >= MAX_ARG_STRINGS)
            return -E2BIG;
    }
}

long binprm_copy_user_strings(struct binprm *b, struct exec_strv *v, u64 uvec, long n)
{
    for (long i = 0; i < n; i++) {
        u64 p;
        if (copy_from_user(&p, uvec + (u64)i * 8, 8) < 0)
            return -EFAULT;
        if (p >= USER_TOP)
            return -EFAULT;
        /* strnlen_user's answer: a string of MAX_ARG_STRLEN bytes or more (its NUL
         * included) is E2BIG; a fault before the NUL is EFAULT. */
        size_t max = MIN((u64)MAX_ARG_STRLEN, USER_TOP - p);
        long len = uaccess_strnlen((const char *)p, max);
        if (len < 0)
            return -EFAULT;
        if ((size_t)len >= MAX_ARG_STRLEN)
            return -E2BIG;
        if ((size_t)len == max)
            return -EFAULT;
        b->bytes += (u64)len + 1;
        if (b->bytes > b->limit)
            return -E2BIG;
        char *s = chunk_space(b, (size_t)len + 1);
        if (!s)
            return -ENOMEM;
        if (uaccess_copy(s, (const void *)p, (size_t)len) < 0)
            return -EFAULT;
        s[len] = 0; /* another thread may have changed it since: the length stands */
        long r = strv_push(v, s);
        if (r < 0)
            return r;
    }
    if (!v->v) /* an empty vector still ends with NULL */
        return strv_push(v, NULL) < 0 ? -ENOMEM : (v->n = 0, 0);
    return 0;
}

long binprm_set_limit(struct binprm *b, size_t argc, size_t envc)
{
    /* A quarter of the stack limit (at most 3/4 of _STK_LIM, at least 32 pages), less
     * the argv and envp pointers: an empty argv still gets its "" (and its pointer). */
    u64 limit = MIN(STK_LIM / 4 * 3, current_process()->rlim[RLIMIT_STACK].cur / 4);
    limit = MAX(limit, (u64)ARG_MAX_FLOOR);
    u64 ptrs = (MAX(argc, (size_t)1) + envc) * sizeof(void *);
    if (limit <= ptrs)
        return -E2BIG;
    b->limit = limit - ptrs;
    return b->bytes > b->limit ? -E2BIG : 0;
}

long binprm_check_size(const struct binprm *b) { return b->bytes > b->limit ? -E2BIG : 0; }
