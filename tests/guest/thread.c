/* thread.c: guest tests of the thread family: arch_prctl TLS, set_tid_address, robust lists, futex. */
#include "guest.h"

#include <asm/prctl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static __thread int tls_var = 42;

static void test_arch_prctl(void)
{
    unsigned long fs = 0, gs = 1;
    CHECK("arch_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0 && fs != 0);
    CHECK("tls_variable", tls_var == 42);
    CHECK("arch_set_fs_same", syscall(SYS_arch_prctl, ARCH_SET_FS, fs) == 0 && tls_var == 42);
    CHECK("arch_set_gs", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x12345000UL) == 0);
    CHECK("arch_get_gs", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) == 0 && gs == 0x12345000UL);
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL);
    EXPECT_ERR("arch_set_fs_kernel_address", syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000UL), EPERM);
    EXPECT_ERR("arch_prctl_bad_code", syscall(SYS_arch_prctl, 0x9999, 0UL), EINVAL);
}

static void test_tid(void)
{
    static int clear_word;
    CHECK("set_tid_address", syscall(SYS_set_tid_address, &clear_word) == syscall(SYS_gettid));
    static long head[3];
    CHECK("set_robust_list", syscall(SYS_set_robust_list, head, 24) == 0);
    void *got = NULL;
    size_t len = 0;
    CHECK("get_robust_list", syscall(SYS_get_robust_list, 0, &got, &len) == 0 && got == head && len == 24);
    EXPECT_ERR("set_robust_list_bad_len", syscall(SYS_set_robust_list, head, 23), EINVAL);
}

static void test_futex(void)
{
    static uint32_t word = 5, other = 1;
    CHECK("futex_wake_nobody", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    EXPECT_ERR("futex_wait_value_changed", futex(&word, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0), EAGAIN);
    struct timespec ts = {0, 20 * 1000 * 1000};
    EXPECT_ERR("futex_wait_timeout", futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), ETIMEDOUT);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 10 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    EXPECT_ERR("futex_wait_bitset_absolute", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &now, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    EXPECT_ERR("futex_wait_bitset_zero", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0), EINVAL);
    CHECK("futex_wake_op_sets", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &other,
                                      FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_EQ, 0)) == 0 && other == 9);
    CHECK("futex_wake_op_adds", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &other,
                                      FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0)) == 0 && other == 12);
    EXPECT_ERR("futex_cmp_requeue_mismatch", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 4), EAGAIN);
    CHECK("futex_cmp_requeue_match", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 5) == 0);
    EXPECT_ERR("futex_unaligned", futex((uint32_t *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL);
}

int main(void)
{
    guest_begin();
    test_arch_prctl();
    test_tid();
    test_futex();
    return guest_finish();
}
