/* fork_limits.c: process limits and the machine's life, for the unikernel only (tests/boot/test_processes.py): fork_limits MODE.
 *
 * Modes (each must run as pid 1: natively a fork bomb or kill(-1) would hit the
 * host, so the program refuses with "SKIP not pid 1" and exit 0 there):
 *   bomb      every process forks until fork fails with EAGAIN; the machine stays
 *             responsive; kill(-1, SIGKILL) then ends them all and every one is reaped.
 *   oom       a child writes every page of a big copy-on-write heap until no frame is
 *             left: it alone dies with SIGKILL, the parent goes on.
 *   pid1exit  children keep running while pid 1 exits with 7: the VM ends with 7 and
 *             no child prints again.
 *   pid1kill  the same, pid 1 killed by SIGTERM: the VM ends with 143.
 */
#include "guest.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bomb(void)
{
    int fds[2];
    CHECK("pipe", pipe(fds) == 0);
    int made = 0, err = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0) {
            /* Every child forks too, until the kernel says no; then it waits to be killed. */
            for (;;) {
                pid_t q = fork();
                if (q < 0) {
                    int e = errno;
                    (void)!write(fds[1], &e, sizeof(e));
                    for (;;)
                        pause();
                }
                if (q == 0)
                    continue;
            }
        }
        if (p < 0) {
            err = errno;
            break;
        }
        made++;
    }
    CHECK("bomb_forked_some", made > 0);
    CHECK("bomb_ends_in_eagain", err == EAGAIN);
    int child_err = 0;
    CHECK("bomb_child_saw_failure", read(fds[0], &child_err, sizeof(child_err)) == sizeof(child_err));
    CHECK("bomb_child_eagain", child_err == EAGAIN);
    long t0 = ms_now();
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    long slept = ms_now() - t0;
    CHECK("bomb_machine_responsive", slept >= 50 && slept < 5000);
    struct sysinfo si;
    CHECK("bomb_many_processes", sysinfo(&si) == 0 && si.procs > 16);
    CHECK("bomb_kill_all", kill(-1, SIGKILL) == 0);
    int reaped = 0, st, killed = 1;
    pid_t w;
    while ((w = wait(&st)) > 0) {
        reaped++;
        killed &= WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    }
    CHECK("bomb_wait_ends_echild", w == -1 && errno == ECHILD);
    CHECK("bomb_all_reaped", reaped >= made && sysinfo(&si) == 0 && si.procs == 1);
    CHECK("bomb_all_killed", killed);
    EXPECT_ERR("kill_all_none_left", kill(-1, SIGKILL), ESRCH);
    pid_t p = fork();
    if (p == 0)
        _exit(5);
    CHECK("fork_after_bomb", p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 5);
}

static void oom(void)
{
    struct sysinfo si;
    CHECK("sysinfo", sysinfo(&si) == 0);
    size_t size = (size_t)(si.freeram * si.mem_unit / 10 * 6) & ~4095ul; /* 60%: two copies cannot fit */
    char *heap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("big_heap", heap != MAP_FAILED);
    for (size_t i = 0; i < size; i += 4096)
        heap[i] = 1;
    pid_t p = fork();
    if (p == 0) {
        for (size_t i = 0; i < size; i += 4096)
            heap[i] = 2; /* each write copies a page: memory runs out half way */
        _exit(0);
    }
    int st = 0;
    CHECK("oom_child_waited", waitpid(p, &st, 0) == p);
    CHECK("oom_child_sigkill", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    int same = 1;
    for (size_t i = 0; i < size && same; i += 4096)
        same = heap[i] == 1;
    CHECK("oom_parent_intact", same);
    munmap(heap, size);
    p = fork();
    if (p == 0)
        _exit(4);
    CHECK("fork_after_oom", p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 4);
}

/* Children that would print if they outlived pid 1. */
static void survivors(void)
{
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) {
            if (i == 2 && fork() == 0)
                i = 3; /* a grandchild too */
            struct timespec ts = {0, 300 * 1000000};
            nanosleep(&ts, NULL);
            printf("FAIL child %d outlived pid 1\n", i);
            _exit(1);
        }
    }
    printf("PASS children_started\n");
}

int main(int argc, char **argv)
{
    guest_begin();
    if (getpid() != 1) {
        printf("SKIP not pid 1\n");
        return 0;
    }
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "bomb") == 0) {
        bomb();
    } else if (strcmp(mode, "oom") == 0) {
        oom();
    } else if (strcmp(mode, "pid1exit") == 0) {
        survivors();
        _exit(7);
    } else if (strcmp(mode, "pid1kill") == 0) {
        survivors();
        kill(getpid(), SIGTERM);
        for (;;)
            pause();
    } else {
        printf("FAIL unknown mode %s\n", mode);
        return 2;
    }
    return guest_finish();
}
