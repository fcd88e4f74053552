/* threadcost.c: thread, futex, signal and context-switch costs: threadcost MODE [N]; prints "MODE NS" per operation.
 *
 * Modes (bench/thread_cost.py runs "all", which runs the four in this order):
 *   create   pthread_create + pthread_join of a thread that returns at once
 *   futex    futex ping-pong between two threads: one round trip = A wakes B, B wakes A
 *            (FUTEX_WAIT/FUTEX_WAKE, private), each waiting on its own word
 *   signal   signal delivery round trip: tgkill(self, SIGUSR1) -> handler -> rt_sigreturn
 *            (raise() without glibc's mask save/restore around it)
 *   switch   two threads alternating with sched_yield(): ns per switch
 * A mode that fails prints "MODE failed: WHAT" and the others still run; the exit
 * status is then 3 (so a kernel that lacks threads still gets its signal figure).
 * The process is pinned to one CPU first (the guests have one; a container on the host
 * would otherwise run the two threads in parallel and measure something else). Each
 * mode warms up with N/10 operations, then times N with CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char *failed; /* set by a mode that could not do its work */

static void fail(const char *what)
{
    if (!failed)
        failed = what;
}

/* ---- create ---- */
static void *nothing(void *arg) { return arg; }

static void create_join(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) {
            fail("pthread_create/join");
            return;
        }
    }
}

/* ---- futex ping-pong ---- */
static atomic_int ping, pong; /* 1: your turn */
static long rounds;

static void futex_wait(atomic_int *word, int val)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load(&ping) == 0)
            futex_wait(&ping, 0);
        atomic_store(&ping, 0);
        atomic_store(&pong, 1);
        futex_wake(&pong);
    }
    return NULL;
}

static void pingpong(long n)
{
    pthread_t t;
    rounds = n;
    atomic_store(&ping, 0);
    atomic_store(&pong, 0);
    if (pthread_create(&t, NULL, ponger, NULL) != 0) {
        fail("pthread_create");
        return;
    }
    for (long i = 0; i < n; i++) {
        atomic_store(&ping, 1);
        futex_wake(&ping);
        while (atomic_load(&pong) == 0)
            futex_wait(&pong, 0);
        atomic_store(&pong, 0);
    }
    pthread_join(t, NULL);
}

/* ---- signal round trip ---- */
static volatile sig_atomic_t caught;

static void on_usr1(int sig) { (void)sig, caught++; }

static void signals(long n)
{
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    long before = caught;
    for (long i = 0; i < n; i++)
        syscall(SYS_tgkill, pid, tid, SIGUSR1);
    if (caught - before != n)
        fail("signal delivery (a signal was not handled)");
}

/* ---- context switch ---- */
static long yields;

static void *yielder(void *arg)
{
    (void)arg;
    for (long i = 0; i < yields; i++)
        sched_yield();
    return NULL;
}

static void switches(long n)
{
    pthread_t t;
    yields = n;
    if (pthread_create(&t, NULL, yielder, NULL) != 0) {
        fail("pthread_create");
        return;
    }
    for (long i = 0; i < n; i++)
        sched_yield();
    pthread_join(t, NULL);
}

/* Each op counts as ops_per_n operations per unit of n (switch: 2 yields = 2 switches). */
static const struct mode {
    const char *name;
    void (*run)(long n);
    long n;
    double ops_per_n;
} modes[] = {
    {"create", create_join, 2000, 1},
    {"futex", pingpong, 20000, 1},
    {"signal", signals, 20000, 1},
    {"switch", switches, 20000, 2},
};

static int measure(const struct mode *m, long n)
{
    failed = NULL;
    m->run(n / 10 + 1); /* warm up: page in, let TCG translate the loop */
    double start = now_ns();
    if (!failed)
        m->run(n);
    double stop = now_ns();
    if (failed)
        printf("%s failed: %s\n", m->name, failed);
    else
        printf("%s %.1f\n", m->name, (stop - start) / ((double)n * m->ops_per_n));
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
        fprintf(stderr, "threadcost: sched_setaffinity failed (measuring unpinned)\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    if (sigaction(SIGUSR1, &sa, NULL) != 0) {
        printf("sigaction failed\n");
        return 1;
    }
    int found = 0, failures = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(which, "all") == 0 || strcmp(which, modes[i].name) == 0) {
            failures += measure(&modes[i], n > 0 ? n : modes[i].n);
            found = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "usage: threadcost [all|create|futex|signal|switch] [N]\n");
        return 2;
    }
    return failures ? 3 : 0;
}
