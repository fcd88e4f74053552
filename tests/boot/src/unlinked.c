/* unlinked.c: calls getppid(2) and says whether it got ENOSYS: run in an image whose plan left getppid out.
 * Built -nostdlib as nofiles.c is, so its only syscalls are these three. */
static long sys3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

void _start(void)
{
    static const char enosys[] = "getppid: ENOSYS\n", other[] = "getppid: linked\n";
    long ret = sys3(110, 0, 0, 0);             /* getppid */
    if (ret == -38)
        sys3(1, 1, (long)enosys, sizeof(enosys) - 1);
    else
        sys3(1, 1, (long)other, sizeof(other) - 1);
    sys3(231, 0, 0, 0);                        /* exit_group */
    for (;;) {
    }
}
