/* time.c: guest tests of the time family: clocks, resolutions, gettimeofday, time, sleeps, itimers. */
#include "guest.h"

#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static long long ns_of(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static long long now(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return ns_of(&t);
}

static void test_clocks(void)
{
    static const struct {
        clockid_t id;
        const char *name;
    } ids[] = {
        {CLOCK_REALTIME, "clock_realtime"}, {CLOCK_MONOTONIC, "clock_monotonic"},
        {CLOCK_PROCESS_CPUTIME_ID, "clock_process_cputime"}, {CLOCK_THREAD_CPUTIME_ID, "clock_thread_cputime"},
        {CLOCK_MONOTONIC_RAW, "clock_monotonic_raw"}, {CLOCK_REALTIME_COARSE, "clock_realtime_coarse"},
        {CLOCK_MONOTONIC_COARSE, "clock_monotonic_coarse"}, {CLOCK_BOOTTIME, "clock_boottime"},
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct timespec t, r;
        CHECK(ids[i].name, clock_gettime(ids[i].id, &t) == 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000 &&
                               clock_getres(ids[i].id, &r) == 0 && ns_of(&r) > 0 && ns_of(&r) <= 10000000);
    }
    struct timespec t;
    EXPECT_ERR("clock_gettime_bad_id", clock_gettime(100, &t), EINVAL);
    EXPECT_ERR("clock_getres_bad_id", clock_getres(100, &t), EINVAL);
    long long a = now(CLOCK_MONOTONIC), b = now(CLOCK_MONOTONIC);
    CHECK("monotonic_does_not_go_back", b >= a);
    CHECK("realtime_after_2020", now(CLOCK_REALTIME) > 1577836800LL * 1000000000LL);
    struct timeval tv;
    CHECK("gettimeofday", gettimeofday(&tv, NULL) == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK("gettimeofday_matches_realtime", tv.tv_sec - now(CLOCK_REALTIME) / 1000000000LL <= 1 &&
                                               now(CLOCK_REALTIME) / 1000000000LL - tv.tv_sec <= 1);
    time_t tt = 0;
    CHECK("time", time(&tt) == tt && tt > 1577836800);
    CHECK("raw_time_syscall", syscall(SYS_time, NULL) > 1577836800);
}

static void test_sleep(void)
{
    long long t0 = now(CLOCK_MONOTONIC);
    struct timespec req = {0, 50 * 1000 * 1000};
    CHECK("nanosleep", nanosleep(&req, NULL) == 0);
    long long slept = now(CLOCK_MONOTONIC) - t0;
    CHECK("nanosleep_duration", slept >= 50000000LL && slept < 2000000000LL);
    if (!(slept >= 50000000LL && slept < 2000000000LL))
        printf("  slept %lld ns\n", slept);
    struct timespec bad = {0, 1000000000};
    EXPECT_ERR("nanosleep_bad_nsec", nanosleep(&bad, NULL), EINVAL);
    struct timespec neg = {-1, 0};
    EXPECT_ERR("nanosleep_negative", nanosleep(&neg, NULL), EINVAL);

    t0 = now(CLOCK_MONOTONIC);
    req.tv_nsec = 20 * 1000 * 1000;
    CHECK("clock_nanosleep_relative", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0 &&
                                          now(CLOCK_MONOTONIC) - t0 >= 20000000LL);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 30 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CHECK("clock_nanosleep_absolute", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0 &&
                                          now(CLOCK_MONOTONIC) >= ns_of(&abs));
    struct timespec past = {0, 1};
    CHECK("clock_nanosleep_past", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0);
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 10 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CHECK("clock_nanosleep_realtime_abs", clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL) == 0);
    CHECK("clock_nanosleep_bad_clock", clock_nanosleep(100, 0, &req, NULL) == EINVAL);
}

static void test_itimer(void)
{
    struct itimerval v;
    CHECK("getitimer_real_idle", getitimer(ITIMER_REAL, &v) == 0 && v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0);
    struct itimerval zero = {{0, 0}, {0, 0}};
    CHECK("setitimer_zero", setitimer(ITIMER_REAL, &zero, &v) == 0);
    EXPECT_ERR("getitimer_bad_which", getitimer(7, &v), EINVAL);
}

int main(void)
{
    guest_begin();
    test_clocks();
    test_sleep();
    test_itimer();
    return guest_finish();
}
