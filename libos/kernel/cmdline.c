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

/* One base64 string (no NUL inside): NULL when empty or bad. */
static char *decode_string(const char *key, const char *val, size_t len)
{
    size_t n;
    u8 *buf = len ? base64_decode(val, len, &n) : NULL;
    bool nul = false;
    for (size_t i = 0; buf && i < n; i++)
        nul |= buf[i] == 0;
    if (!buf || n == 0 || nul) {
        kinfo("ignoring %s: not base64 of a non-empty string", key);
        kfree(buf);
        return NULL;
    }
    char *s = kmalloc(n + 1);
    if (s) {
        memcpy(s, buf, n);
        s[n] = 0;
    }
    kfree(buf);
    return s;
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

/* A.B.C.D, all of the word (or up to '/' when prefix is wanted): true when valid. */
static bool parse_ipv4(const char *v, size_t len, u8 out[4], u8 *prefix)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (i >= len || v[i] < '0' || v[i] > '9')
            return false;
        unsigned n = 0;
        while (i < len && v[i] >= '0' && v[i] <= '9' && n <= 255)
            n = n * 10 + (unsigned)(v[i++] - '0');
        if (n > 255)
            return false;
        out[part] = (u8)n;
        if (part < 3 && (i >= len || v[i++] != '.'))
            return false;
    }
    if (!prefix)
        return i == len;
    *prefix = 24;
    if (i == len)
        return true;
    if (v[i++] != '/' || i == len)
        return false;
    unsigned p = 0;
    while (i < len && v[i] >= '0' && v[i] <= '9' && p <= 32)
        p = p * 10 + (unsigned)(v[i++] - '0');
    if (i != len || p > 32)
        return false;
    *prefix = (u8)p;
    return true;
}

/* An IPv4 or IPv6 address as text (the converter checked it; this keeps /etc clean). */
static bool ip_text(const char *val, size_t vlen)
{
    if (vlen == 0 || vlen > 45)
        return false;
    for (size_t i = 0; i < vlen; i++) {
        char c = val[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
            return false;
    }
    return true;
}

static bool host_name_ok(const char *val, size_t vlen)
{
    bool ok = vlen > 0 && vlen < 64;
    for (size_t i = 0; ok && i < vlen; i++)
        ok = (val[i] >= 'a' && val[i] <= 'z') || (val[i] >= 'A' && val[i] <= 'Z') ||
             (val[i] >= '0' && val[i] <= '9') || val[i] == '-' || val[i] == '.' || val[i] == '_';
    return ok;
}

/* d2u.host=NAME:IP (run --add-host): one "IP\tNAME" line for /etc/hosts. NAME has no
 * colon, so the first one splits it from an IPv6 address. */
static void add_host(const char *val, size_t vlen)
{
    const char *colon = NULL;
    for (size_t i = 0; i < vlen && !colon; i++)
        if (val[i] == ':')
            colon = val + i;
    size_t nlen = colon ? (size_t)(colon - val) : 0, alen = colon ? vlen - nlen - 1 : 0;
    if (!colon || !host_name_ok(val, nlen) || !ip_text(colon + 1, alen)) {
        kinfo("ignoring d2u.host=%.*s: not NAME:IP", (int)vlen, val);
        return;
    }
    size_t old = kopts.hosts ? strlen(kopts.hosts) : 0;
    char *h = kmalloc(old + alen + nlen + 3);
    if (!h)
        return;
    if (old)
        memcpy(h, kopts.hosts, old);
    memcpy(h + old, colon + 1, alen);
    h[old + alen] = '\t';
    memcpy(h + old + alen + 1, val, nlen);
    h[old + alen + 1 + nlen] = '\n';
    h[old + alen + nlen + 2] = 0;
    kfree(kopts.hosts);
    kopts.hosts = h;
}

static void parse_net(const char *key, const char *val, size_t vlen)
{
    if (strcmp(key, "d2u.net") == 0) {
        if (vlen == 4 && strncmp(val, "none", 4) == 0)
            kopts.net = NET_NONE;
        else if (vlen == 4 && strncmp(val, "user", 4) == 0)
            kopts.net = NET_USER;
        else
            kinfo("ignoring d2u.net=%.*s: not none or user", (int)vlen, val);
    } else if (strcmp(key, "d2u.ip") == 0) {
        kopts.have_ip = parse_ipv4(val, vlen, kopts.ip, &kopts.prefix);
        if (!kopts.have_ip)
            kinfo("ignoring d2u.ip=%.*s: not A.B.C.D/PREFIX", (int)vlen, val);
    } else if (strcmp(key, "d2u.gw") == 0) {
        kopts.have_gw = parse_ipv4(val, vlen, kopts.gw, NULL);
        if (!kopts.have_gw)
            kinfo("ignoring d2u.gw=%.*s: not A.B.C.D", (int)vlen, val);
    } else if (strcmp(key, "d2u.dns") == 0) {
        if (!ip_text(val, vlen))
            kinfo("ignoring d2u.dns=%.*s: not an IP address", (int)vlen, val);
        else if (kopts.ndns == DNS_MAX)
            kinfo("ignoring d2u.dns=%.*s: the resolver reads %d nameservers", (int)vlen, val, DNS_MAX);
        else {
            memcpy(kopts.dns[kopts.ndns], val, vlen);
            kopts.dns[kopts.ndns++][vlen] = 0;
        }
    } else if (strcmp(key, "d2u.host") == 0) {
        add_host(val, vlen);
    } else if (strcmp(key, "d2u.hostname") == 0) {
        if (host_name_ok(val, vlen)) {
            memcpy(kopts.hostname, val, vlen);
            kopts.hostname[vlen] = 0;
        } else {
            kinfo("ignoring d2u.hostname=%.*s: not a host name", (int)vlen, val);
        }
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
        else if (key_is(word, klen, "d2u.entrypoint")) {
            kopts.entrypoint = decode_vector("d2u.entrypoint", val, vlen);
            kopts.have_entrypoint = kopts.entrypoint != NULL;
        } else if (key_is(word, klen, "d2u.workdir"))
            kopts.workdir = decode_string("d2u.workdir", val, vlen);
        else if (key_is(word, klen, "d2u.user"))
            kopts.user = decode_string("d2u.user", val, vlen);
        else if (key_is(word, klen, "d2u.readonly"))
            kopts.read_only = vlen == 1 && val[0] == '1';
        else if (key_is(word, klen, "d2u.tmpfs"))
            kopts.tmpfs = decode_vector("d2u.tmpfs", val, vlen);
        else if (key_is(word, klen, "d2u.vol"))
            kopts.vol = decode_vector("d2u.vol", val, vlen);
        else if (key_is(word, klen, "d2u.volcache")) {
            const char *end;
            u64 nodes = parse_u64(val, &end);
            if (end == val + vlen && nodes >= 1 && nodes <= 1u << 20)
                kopts.volcache = (u32)nodes;
            else
                kinfo("ignoring d2u.volcache=%.*s: not a node count from 1 to 1048576", (int)vlen, val);
        }
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
        else if (key_is(word, klen, "d2u.net") || key_is(word, klen, "d2u.ip") ||
                 key_is(word, klen, "d2u.gw") || key_is(word, klen, "d2u.dns") ||
                 key_is(word, klen, "d2u.hostname") || key_is(word, klen, "d2u.host")) {
            char key[16];
            memcpy(key, word, klen);
            key[klen] = 0;
            parse_net(key, val, vlen);
        } else if (key_is(word, klen, "virtio_mmio.device"))
            ; /* QEMU's, read by drivers/virtio_mmio.c */
        else
            kinfo("unknown kernel command-line word '%.*s' ignored", (int)wlen, word);
    }
}
