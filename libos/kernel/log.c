/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: formatted output to the kernel log port. */
#include <libos/fmt.h>
#include <libos/log.h>
#include <libos/serial.h>

/* Buffer a line's worth of output so one klog() call costs few serial waits. */
struct logbuf {
    char buf[128];
    size_t len;
};

static void log_flush(struct logbuf *b)
{
    serial_write(serial_log_port(), b->buf, b->len);
    b->len = 0;
}

static void log_sink(void *ctx, const char *s, size_t n)
{
    struct logbuf *b = ctx;
    for (size_t i = 0; i < n; i++) {
        if (b->len == sizeof(b->buf))
            log_flush(b);
        b->buf[b->len++] = s[i];
    }
}

static void kvlog(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    struct logbuf b = {.len = 0};
    if (prefix)
        log_sink(&b, prefix, __builtin_strlen(prefix));
    fmt_vformat(log_sink, &b, fmt, ap);
    if (suffix)
        log_sink(&b, suffix, __builtin_strlen(suffix));
    log_flush(&b);
}

void klog(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvlog(NULL, fmt, ap, NULL);
    va_end(ap);
}

void kinfo(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvlog("dock2uni: ", fmt, ap, "\n");
    va_end(ap);
}
