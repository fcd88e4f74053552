/* SPDX-License-Identifier: Apache-2.0 */
/* cmdline.c: parse the kernel command line (-append) into kopts. */
#include <libos/cmdline.h>
#include <libos/fstrace.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>

struct kernel_options kopts;

/* Split a NUL-separated buffer of n bytes into a NULL-terminated vector. */
static char **split_nul(u8 *buf, size_t n)
{
    size_t count = 1;
    for (size_t i = 0; i < n; i++)
        count += buf[i] == 0;
    char **v = kzalloc((count + 1) * sizeof(char *));
    if (!v)
        return NULL;
    size_t k = 0;
    v[k++] = (char *)buf;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 0)
            v[k++] = (char *)buf + i + 1;
    v[k] = NULL;
    return v;
}

static char **decode_vector(const char *key, const char *val, size_t len)
{
    if (len == 0)
        return kzalloc(sizeof(char *)); /* an empty list */
    size_t n;
    u8 *buf = base64_decode(val, len, &n);
    if (!buf) {
        kinfo("ignoring %s: not valid base64", key);
        return NULL;
    }
    return split_nul(buf, n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void parse_seed(const char *v, size_t len)
{
    for (size_t i = 0; i + 1 < len && kopts.seed_len < SEED_MAX; i += 2) {
        int hi = hexval(v[i]), lo = hexval(v[i + 1]);
        if (hi < 0 || lo < 0)
            break;
        kopts.seed[kopts.seed_len++] = (u8)(hi << 4 | lo);
    }
}

static bool key_is(const char *word, size_t keylen, const char *key)
{
    return strlen(key) == keylen && strncmp(word, key, keylen) == 0;
}

void cmdline_parse(const char *cmdline)
{
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        size_t wlen = (size_t)(p - word);
        const char *eq = word;
        while (eq < p && *eq != '=')
            eq++;
        size_t klen = (size_t)(eq - word);
        const char *val = eq < p ? eq + 1 : p;
        size_t vlen = (size_t)(p - val);

        if (key_is(word, klen, "strace"))
            kopts.strace = vlen == 1 && val[0] == '1';
        else if (key_is(word, klen, "d2u.fstrace") && vlen == 1 && val[0] == '1')
            fstrace_enable(); /* convert --slim: report touched paths (fs/fstrace.c) */
        else if (key_is(word, klen, "d2u.cmd")) {
            kopts.cmd = decode_vector("d2u.cmd", val, vlen);
            kopts.have_cmd = kopts.cmd != NULL;
        } else if (key_is(word, klen, "d2u.env"))
            kopts.env = decode_vector("d2u.env", val, vlen);
        else if (key_is(word, klen, "epoch")) {
            kopts.epoch = parse_u64(val, NULL);
            kopts.have_epoch = true;
        } else if (key_is(word, klen, "seed"))
            parse_seed(val, vlen);
        else if (key_is(word, klen, "d2u.stdio")) {
            if (vlen == 3 && strncmp(val, "tty", 3) == 0)
                kopts.stdio = STDIO_TTY;
            else if (vlen == 5 && strncmp(val, "pipes", 5) == 0)
                kopts.stdio = STDIO_PIPES;
            else if (vlen == 8 && strncmp(val, "pipes-in", 8) == 0)
                kopts.stdio = STDIO_PIPES_IN;
            else
                kinfo("ignoring d2u.stdio=%.*s: not tty, pipes or pipes-in", (int)vlen, val);
        }
        else if (key_is(word, klen, "d2u.hostsig")) {
            const char *end;
            u64 irq = parse_u64(val, &end);
            /* An ISA line other than the PIT's (0) and the cascade (2). */
            if (end == val + vlen && vlen > 0 && irq >= 1 && irq <= 15 && irq != 2)
                kopts.hostsig_irq = (int)irq;
            else
                kinfo("ignoring d2u.hostsig=%.*s: not an ISA IRQ line 1-15", (int)vlen, val);
        }
        else
            kinfo("unknown kernel command-line word '%.*s' ignored", (int)wlen, word);
    }
}
