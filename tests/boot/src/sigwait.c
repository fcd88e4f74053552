/* sigwait.c: waits for signals from `dock2uni run` (tests/boot/test_run_signals.py): sigwait MODE.
 *
 * Every mode prints "ready" once its dispositions are set, then waits in pause():
 *   handler   SIGTERM handler prints "got SIGTERM code=C pid=P uid=U" and exits 42
 *   busy      the same handler, but main computes in a loop instead of pause(): the
 *             signal interrupts ring 3, not a blocked syscall
 *   default   no handler: SIGTERM's default action ends the program (128 + 15)
 *   count     SIGUSR1 handler counts, and main prints "usr1=N" after each one (so a test
 *             sends the next only once this one arrived: standard signals do not queue);
 *             SIGUSR1 is blocked outside sigsuspend(), so one that arrives between two
 *             waits is not lost, as it would be before a pause();
 *             SIGUSR2 handler prints the count and exits with it
 *   ignore    every signal `dock2uni run` forwards is ignored (SIGINT, SIGTERM, SIGHUP,
 *             SIGQUIT, SIGUSR1, SIGUSR2): only --stop-timeout or a second SIGINT ends it
 * Built static with glibc by the test; natively it behaves as in the guest.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

static void on_term(int sig, siginfo_t *info, void *ctx)
{
    (void)sig, (void)ctx;
    char line[96];
    snprintf(line, sizeof(line), "got SIGTERM code=%d pid=%d uid=%u\n", info->si_code,
             (int)info->si_pid, (unsigned)info->si_uid);
    say(line);
    _exit(42);
}

static void on_usr1(int sig) { (void)sig, usr1_count++; }

static void on_usr2(int sig)
{
    (void)sig;
    char line[48];
    snprintf(line, sizeof(line), "usr2 after usr1=%d\n", (int)usr1_count);
    say(line);
    _exit((int)usr1_count);
}

static void set(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "handler";
    bool busy = strcmp(mode, "busy") == 0;
    if (strcmp(mode, "handler") == 0 || busy) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_term;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGTERM, &sa, NULL);
    } else if (strcmp(mode, "count") == 0) {
        set(SIGUSR1, on_usr1);
        set(SIGUSR2, on_usr2);
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, NULL);
    } else if (strcmp(mode, "ignore") == 0) {
        int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
            set(forwarded[i], SIG_IGN);
    } else if (strcmp(mode, "default") != 0) {
        say("unknown mode\n");
        return 2;
    }
    say("ready\n");
    for (volatile unsigned long spin = 0; busy; spin++)
        continue;
    int shown = 0;
    sigset_t none;
    sigemptyset(&none);
    for (;;) {
        sigsuspend(&none); /* pause() with SIGUSR1 let in only while waiting */
        if (usr1_count != shown) {
            shown = usr1_count;
            char line[32];
            snprintf(line, sizeof(line), "usr1=%d\n", shown);
            say(line);
        }
    }
}
