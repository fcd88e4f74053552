/* thread_exit_group.c: exit_group from a thread that is not the main thread ends every thread; exit status 42.
 *
 * The main thread and two others block forever (a futex wait, a nanosleep); a third
 * thread prints the summary and calls _exit(42) (exit_group). The process must end
 * with status 42 at once: nothing after it may print, and the blocked threads must
 * not keep it alive. tests/boot/guest_images.py lists the expected status.
 */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

static atomic_int blocked, main_printed;

static void *sleeper(void *arg)
{
    (void)arg;
    atomic_fetch_add(&blocked, 1);
    for (;;)
        sleep(1000);
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&m);
    atomic_fetch_add(&blocked, 1);
    for (;;)
        pthread_cond_wait(&c, &m); /* nobody ever signals it */
    return NULL;
}

static void *ender(void *arg)
{
    (void)arg;
    while (atomic_load(&blocked) < 2 || !atomic_load(&main_printed))
        sched_yield(); /* main's lines first: the output has one order */
    CHECK("ender_is_not_main_thread", syscall(SYS_gettid) != getpid());
    guest_finish();
    syscall(SYS_exit_group, 42); /* what _exit does: every thread ends, status 42 */
    printf("FAIL exit_group returned\n");
    return NULL;
}

int main(void)
{
    guest_begin();
    pthread_t a, b, c;
    CHECK("start_blocked_threads", pthread_create(&a, NULL, sleeper, NULL) == 0 &&
                                       pthread_create(&b, NULL, waiter, NULL) == 0);
    CHECK("start_ender", pthread_create(&c, NULL, ender, NULL) == 0);
    atomic_store(&main_printed, 1);
    pthread_join(c, NULL); /* blocks until the process ends under it */
    printf("FAIL main thread outlived exit_group\n");
    return 1;
}
