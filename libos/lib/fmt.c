/* SPDX-License-Identifier: Apache-2.0 */
/* fmt.c: a small printf engine for kernel logs and synthesised files. */
#include <libos/fmt.h>
#include <libos/string.h>

struct spec {
    bool left, zero;
    int width, prec;
};

static size_t emit_padded(fmt_sink sink, void *ctx, const char *s, size_t n, const struct spec *sp)
{
    size_t pad = sp->width > 0 && (size_t)sp->width > n ? (size_t)sp->width - n : 0;
    char fill = sp->zero && !sp->left ? '0' : ' ';
    size_t out = 0;
    if (!sp->left)
        for (; pad; pad--, out++)
            sink(ctx, &fill, 1);
    sink(ctx, s, n);
    out += n;
    for (; pad; pad--, out++)
        sink(ctx, " ", 1);
    return out;
}

static size_t emit_number(fmt_sink sink, void *ctx, u64 v, bool neg, unsigned base, bool upper,
                          const struct spec *sp)
{
    char buf[24];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int i = (int)sizeof(buf);
    do {
        buf[--i] = digits[v % base];
        v /= base;
    } while (v);
    if (neg) {
        if (sp->zero && sp->width > 0) {
            /* "-0042": the sign goes before the zero padding. */
            struct spec rest = *sp;
            rest.width--;
            sink(ctx, "-", 1);
            return 1 + emit_padded(sink, ctx, buf + i, sizeof(buf) - (size_t)i, &rest);
        }
        buf[--i] = '-';
    }
    return emit_padded(sink, ctx, buf + i, sizeof(buf) - (size_t)i, sp);
}

size_t fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
    size_t out = 0;
    while (*fmt) {
        if (*fmt != '%') {
            const char *start = fmt;
            while (*fmt && *fmt != '%')
                fmt++;
            sink(ctx, start, (size_t)(fmt - start));
            out += (size_t)(fmt - start);
            continue;
        }
        fmt++;
        struct spec sp = {.prec = -1};
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else
                break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            fmt++;
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            sp.width = sp.width * 10 + (*fmt - '0');
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                sp.prec = va_arg(ap, int);
                fmt++;
            }
            for (; *fmt >= '0' && *fmt <= '9'; fmt++)
                sp.prec = sp.prec * 10 + (*fmt - '0');
        }
        int lng = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        char c = *fmt ? *fmt++ : 0;
        switch (c) {
        case 'd':
        case 'i': {
            s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
            out += emit_number(sink, ctx, v < 0 ? -(u64)v : (u64)v, v < 0, 10, false, &sp);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
            unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
            out += emit_number(sink, ctx, v, false, base, c == 'X', &sp);
            break;
        }
        case 'p': {
            u64 v = (u64)(uintptr_t)va_arg(ap, void *);
            sink(ctx, "0x", 2);
            out += 2 + emit_number(sink, ctx, v, false, 16, false, &sp);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = sp.prec >= 0 ? strnlen(s, (size_t)sp.prec) : strlen(s);
            out += emit_padded(sink, ctx, s, n, &sp);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(ap, int);
            out += emit_padded(sink, ctx, &ch, 1, &sp);
            break;
        }
        case '%':
            sink(ctx, "%", 1);
            out++;
            break;
        default:
            break;
        }
    }
    return out;
}

struct bufctx {
    char *buf;
    size_t size, len;
};

static void buf_sink(void *ctx, const char *s, size_t n)
{
    struct bufctx *b = ctx;
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->size)
            b->buf[b->len] = s[i];
}

size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct bufctx b = {buf, size, 0};
    fmt_vformat(buf_sink, &b, fmt, ap);
    if (size)
        buf[b.len < size ? b.len : size - 1] = 0;
    return b.len;
}

size_t ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
