/* probe_signal.c: default actions and forced faults, one per run (argv[1] names it): how the program ends. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int *volatile null_ptr;

static void handler(int sig) { (void)sig; }

static void install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigaction(sig, &sa, NULL);
}

static volatile int depth_limit = -1; /* never reached: the stack ends first */

static int recurse(volatile char *prev, int depth)
{
    volatile char buf[1024];
    buf[0] = prev ? prev[0] + 1 : 0;
    if (depth == depth_limit)
        return buf[0];
    return recurse(buf, depth + 1) + buf[1];
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *c = argc > 1 ? argv[1] : "";
    printf("probe %s\n", c);
    if (!strcmp(c, "term")) {
        kill(getpid(), SIGTERM); /* terminate: 128 + 15 */
    } else if (!strcmp(c, "usr1")) {
        raise(SIGUSR1);
    } else if (!strcmp(c, "rt")) {
        raise(SIGRTMIN + 2);
    } else if (!strcmp(c, "abort")) {
        abort(); /* core: the crash path */
    } else if (!strcmp(c, "tstp")) {
        raise(SIGTSTP); /* stop: Linux stops here; the unikernel ignores it (docs/signals.md) */
    } else if (!strcmp(c, "segv_blocked")) {
        install(SIGSEGV, handler);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSEGV);
        sigprocmask(SIG_BLOCK, &set, NULL);
        *null_ptr = 1; /* a blocked fault still kills */
    } else if (!strcmp(c, "segv_ignored")) {
        install(SIGSEGV, SIG_IGN);
        *null_ptr = 1; /* an ignored fault still kills */
    } else if (!strcmp(c, "overflow_no_altstack")) {
        install(SIGSEGV, handler);
        recurse(NULL, 0); /* no room for the frame: SIGSEGV's default action */
    } else if (!strcmp(c, "tstp_sleep")) {
        /* A stop signal interrupts a sleep; no handler runs, so the sleep goes on
         * through restart_syscall and lasts its whole time (guest only: Linux stops). */
        struct sigevent ev;
        memset(&ev, 0, sizeof(ev));
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGTSTP;
        timer_t t;
        struct itimerspec its = {{0, 0}, {0, 50 * 1000 * 1000}};
        timer_create(CLOCK_MONOTONIC, &ev, &t);
        timer_settime(t, 0, &its, NULL);
        struct timespec start, end, req = {0, 200 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &start);
        int r = nanosleep(&req, NULL);
        clock_gettime(CLOCK_MONOTONIC, &end);
        long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
        printf("nanosleep %d, slept the whole time: %s\n", r, ms >= 200 ? "yes" : "no");
    } else if (!strcmp(c, "handler_returns")) {
        install(SIGUSR2, handler);
        raise(SIGUSR2);
    } else {
        printf("unknown probe\n");
        return 2;
    }
    printf("SURVIVED %s\n", c);
    return 0;
}
