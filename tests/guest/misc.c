/* misc.c: guest tests of the misc family: getrandom, /dev/urandom, scheduling and affinity calls. */
#include "guest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_random(void)
{
    unsigned char a[32], b[32];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    CHECK("getrandom", syscall(SYS_getrandom, a, sizeof(a), 0) == 32 && !all_zero(a, sizeof(a)));
    CHECK("getrandom_nonblock", syscall(SYS_getrandom, b, sizeof(b), 1) == 32);
    CHECK("getrandom_differs", memcmp(a, b, sizeof(a)) != 0);
    CHECK("getrandom_zero_length", syscall(SYS_getrandom, a, 0, 0) == 0);
    EXPECT_ERR("getrandom_bad_flags", syscall(SYS_getrandom, a, sizeof(a), 0x100), EINVAL);
    EXPECT_ERR("getrandom_bad_pointer", syscall(SYS_getrandom, (void *)8, 16, 0), EFAULT);
    unsigned char big[100000];
    CHECK("getrandom_large", syscall(SYS_getrandom, big, sizeof(big), 0) == (long)sizeof(big));
    int fd = open("/dev/urandom", O_RDONLY);
    memset(a, 0, sizeof(a));
    CHECK("dev_urandom", fd >= 0 && read(fd, a, sizeof(a)) == 32 && !all_zero(a, sizeof(a)));
    close(fd);
}

static void test_sched(void)
{
    CHECK("sched_yield", sched_yield() == 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK("sched_getaffinity", sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1);
    EXPECT_ERR("sched_getaffinity_odd_size", syscall(SYS_sched_getaffinity, 0, 3, &set), EINVAL);
    CHECK("sched_setaffinity_same", sched_setaffinity(0, sizeof(set), &set) == 0);
    unsigned cpu = 999;
    CHECK("getcpu", syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && cpu < 999);
    /* Raw syscalls: musl's wrappers deliberately return ENOSYS for these. */
    CHECK("sched_getscheduler", syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER);
    CHECK("sched_priority_range", sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1);
    EXPECT_ERR("sched_priority_bad_policy", sched_get_priority_max(42), EINVAL);
    struct sched_param sp;
    CHECK("sched_getparam", syscall(SYS_sched_getparam, 0, &sp) == 0 && sp.sched_priority == 0);
}

int main(void)
{
    guest_begin();
    test_random();
    test_sched();
    return guest_finish();
}
