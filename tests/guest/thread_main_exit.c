/* thread_main_exit.c: the main thread leaves with pthread_exit while its threads finish the work; exit status 0.
 *
 * main starts the workers and calls pthread_exit: the process must live on. One
 * worker joins the main thread (so its exit was seen: the kernel cleared its tid
 * word, or musl its join state), the workers add up their shares, and the last one
 * prints the totals and returns, which ends the process with status 0 (the last
 * thread's exit). A kernel that ends the process with the main thread prints no
 * totals. tests/boot/guest_images.py lists the expected status.
 */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define WORKERS 4
#define SHARE 50000

static pthread_t main_thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;
static int finished;
static atomic_int main_joined;

static void *worker(void *arg)
{
    long id = (long)arg;
    if (id == 0)
        atomic_store(&main_joined, pthread_join(main_thread, NULL) == 0 ? 1 : 2);
    for (int i = 0; i < SHARE; i++) {
        pthread_mutex_lock(&lock);
        total++;
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    if (++finished == WORKERS) { /* the last one reports; worker 0, done, has joined */
        CHECK("main_thread_joined_after_pthread_exit", atomic_load(&main_joined) == 1);
        CHECK("workers_finished_after_main_left", total == (long)WORKERS * SHARE);
        CHECK("reporter_is_not_main_thread", syscall(SYS_gettid) != getpid());
        guest_finish();
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    guest_begin();
    main_thread = pthread_self();
    pthread_mutex_lock(&lock); /* the workers start counting once main is on its way out */
    int ok = 1;
    for (long i = 0; i < WORKERS; i++) {
        pthread_t t;
        ok &= pthread_create(&t, NULL, worker, (void *)i) == 0 && pthread_detach(t) == 0;
    }
    CHECK("workers_started", ok);
    pthread_mutex_unlock(&lock);
    pthread_exit(NULL);
}
