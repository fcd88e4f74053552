/* proccost.c: process costs: proccost MODE [N]; prints "MODE VALUE" per mode.
 *
 * Modes (bench/process_cost.py runs "all", which runs the five in this order):
 *   fork     fork a child that _exit(0)s at once, waitpid it: ns per fork+wait
 *   exec     fork a child that execs /bin/true, waitpid it: ns per fork+exec+wait
 *   spawn    posix_spawn /bin/true (glibc: clone(CLONE_VM|CLONE_VFORK), the vfork path),
 *            waitpid it: ns per vfork+exec+wait
 *   pipe     a forked child writes N MiB (default 64) into a pipe in 64 KiB writes, the
 *            parent reads it to EOF and waits: MB/s (10^6 bytes per second, fork and
 *            wait included)
 *   script   /bin/sh -c running /bin/true N times (default 100) in a while loop, fork+exec
 *            of the shell and its wait included: ms for the whole script
 * /bin/true and /bin/sh are the image's (bench/process_cost.py: busybox-static applets).
 * Every child must exit 0. A mode that fails prints "MODE failed: WHAT" and the others
 * still run; the exit status is then 3. The process is pinned to CPU 0 first (the guests
 * have one CPU; its children inherit the pinning). fork, exec and spawn warm up with
 * N/10+1 operations, pipe with 4 MiB, script with a 10-command script; then the timed
 * run, with CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *failed; /* set by a mode that could not do its work */

static void fail(const char *what)
{
    if (!failed)
        failed = what;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Wait for pid; a child that did not exit 0 fails the mode. */
static void reap(pid_t pid, const char *what)
{
    int status;
    pid_t got;
    do
        got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got != pid)
        fail("waitpid");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(what);
}

/* ---- fork + wait ---- */
static void forks(long n)
{
    for (long i = 0; i < n && !failed; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork");
            return;
        }
        if (pid == 0)
            _exit(0);
        reap(pid, "child exit status");
    }
}

/* ---- fork + exec + wait ---- */
static char *const true_argv[] = {"true", NULL};

static void execs(long n)
{
    for (long i = 0; i < n && !failed; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork");
            return;
        }
        if (pid == 0) {
            execve("/bin/true", true_argv, environ);
            _exit(127);
        }
        reap(pid, "/bin/true exit status (exec failed?)");
    }
}

/* ---- vfork + exec + wait (posix_spawn) ---- */
static void spawns(long n)
{
    for (long i = 0; i < n && !failed; i++) {
        pid_t pid;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ) != 0) {
            fail("posix_spawn /bin/true");
            return;
        }
        reap(pid, "/bin/true exit status");
    }
}

/* ---- pipe throughput ---- */
#define CHUNK (64 * 1024)
static char buf[CHUNK];

static void pipes(long mib)
{
    long long total = (long long)mib << 20, got = 0;
    int fds[2];
    if (pipe(fds) != 0) {
        fail("pipe");
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork");
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        memset(buf, 'x', sizeof(buf));
        for (long long left = total; left > 0;) {
            ssize_t w = write(fds[1], buf, left < CHUNK ? (size_t)left : CHUNK);
            if (w <= 0)
                _exit(1);
            left -= w;
        }
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t r = read(fds[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail("read");
            break;
        }
        if (r == 0)
            break;
        got += r;
    }
    close(fds[0]);
    reap(pid, "writer exit status");
    if (got != total)
        fail("short transfer");
}

/* ---- a shell script running external commands ---- */
static void script(long commands)
{
    char text[160];
    snprintf(text, sizeof(text), "i=0; while [ $i -lt %ld ]; do /bin/true; i=$((i+1)); done",
             commands);
    char *const argv[] = {"sh", "-c", text, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork");
        return;
    }
    if (pid == 0) {
        execve("/bin/sh", argv, environ);
        _exit(127);
    }
    reap(pid, "/bin/sh exit status");
}

/* value = elapsed ns * scale / n, or (rate) n * scale / elapsed ns */
static const struct mode {
    const char *name;
    void (*run)(long n);
    long n;      /* operations (fork, exec, spawn), MiB (pipe), commands (script) */
    long warmup; /* 0: n/10+1 */
    int rate;    /* 1: report n*scale/ns */
    double scale;
} modes[] = {
    {"fork", forks, 200, 0, 0, 1},
    {"exec", execs, 100, 0, 0, 1},
    {"spawn", spawns, 100, 0, 0, 1},
    {"pipe", pipes, 64, 4, 1, (double)(1 << 20) * 1e9 / 1e6}, /* MiB per ns -> MB/s */
    {"script", script, 100, 10, 0, 1e-6},                     /* ns -> ms, n=1 script */
};

static int measure(const struct mode *m, long n)
{
    failed = NULL;
    m->run(m->warmup ? m->warmup : n / 10 + 1); /* page in, let TCG translate */
    double start = now_ns();
    if (!failed)
        m->run(n);
    double elapsed = now_ns() - start;
    if (failed)
        printf("%s failed: %s\n", m->name, failed);
    else if (m->rate)
        printf("%s %.1f\n", m->name, (double)n * m->scale / elapsed);
    else if (m->run == script)
        printf("%s %.2f\n", m->name, elapsed * m->scale);
    else
        printf("%s %.1f\n", m->name, elapsed * m->scale / (double)n);
    fflush(stdout);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0)
        fprintf(stderr, "proccost: sched_setaffinity failed (measuring unpinned)\n");
    int found = 0, failures = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(which, "all") == 0 || strcmp(which, modes[i].name) == 0) {
            failures += measure(&modes[i], n > 0 ? n : modes[i].n);
            found = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "usage: proccost [all|fork|exec|spawn|pipe|script] [N]\n");
        return 2;
    }
    return failures ? 3 : 0;
}
