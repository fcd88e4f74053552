/* SPDX-License-Identifier: Apache-2.0 */
/* script.c: '#!' interpreter scripts, parsed and spliced into argv exactly as Linux's fs/binfmt_script.c. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/vfs.h>

#include "exec_internal.h"

static bool spacetab(char c) { return c == ' ' || c == '\t'; }

/* The first byte in [first, last] that is not a space or tab, or NULL. */
static char *next_non_spacetab(char *first, const char *last)
{
    for (; first <= last; first++)
        if (!spacetab(*first))
            return first;
    return NULL;
}

/* The first space, tab or NUL in [first, last], or NULL. */
static char *next_terminator(char *first, const char *last)
{
    for (; first <= last; first++)
        if (spacetab(*first) || !*first)
            return first;
    return NULL;
}

/* argv[0] gives way to the interpreter, its optional argument and the script's path. */
static long splice_argv(struct binprm *b, const char *name, const char *arg)
{
    const char *words[3] = {name, arg, b->interp};
    struct exec_strv nv = {0};
    long r = 0;
    for (int i = 0; i < 3 && r >= 0; i++) {
        if (!words[i])
            continue;
        size_t len = strlen(words[i]);
        char *s = binprm_strdup(b, words[i], len);
        b->bytes += len + 1;
        r = s ? strv_push(&nv, s) : -ENOMEM;
    }
    for (size_t i = 1; i < b->argv.n && r >= 0; i++)
        r = strv_push(&nv, b->argv.v[i]);
    if (r >= 0 && b->argv.n) /* remove_arg_zero: its bytes leave the stack */
        b->bytes -= strlen(b->argv.v[0]) + 1;
    if (r < 0) {
        kfree(nv.v);
        return r;
    }
    kfree(b->argv.v);
    b->argv = nv;
    return binprm_check_size(b);
}

long script_load(struct binprm *b)
{
    char *buf = (char *)b->buf;
    if (buf[0] != '#' || buf[1] != '!')
        return -ENOEXEC;
    /* The interpreter's path must not be truncated: a newline, or a space, tab or NUL
     * after it within the buffer; the argument may be (the interpreter re-reads it). */
    const char *buf_end = buf + BINPRM_BUF_SIZE - 1;
    char *i_end = NULL;
    for (size_t i = 0; i < BINPRM_BUF_SIZE && !i_end; i++)
        if (buf[i] == '\n')
            i_end = buf + i;
    if (!i_end) {
        i_end = next_non_spacetab(buf + 2, buf_end);
        if (!i_end || !next_terminator(i_end, buf_end))
            return -ENOEXEC;
        i_end = (char *)buf_end;
    }
    while (spacetab(i_end[-1]))
        i_end--;
    char *i_name = next_non_spacetab(buf + 2, i_end);
    if (!i_name || i_name == i_end)
        return -ENOEXEC;
    char *i_arg = NULL;
    char *i_sep = next_terminator(i_name, i_end);
    if (i_sep && *i_sep)
        i_arg = next_non_spacetab(i_sep, i_end);
    /* The interpreter opens the script by this path: after the exec a close-on-exec
     * fd behind /dev/fd/N is gone. */
    if (b->path_inaccessible)
        return -ENOENT;
    *i_end = 0;
    if (i_arg)
        *i_sep = 0;
    long r = splice_argv(b, i_name, i_arg);
    if (r < 0)
        return r;
    /* The interpreter, examined next, is named by its own path. */
    b->interp = binprm_strdup(b, i_name, strlen(i_name));
    if (!b->interp)
        return -ENOMEM;
    b->path_inaccessible = false;
    return exec_open(b, AT_FDCWD, b->interp, 0);
}
