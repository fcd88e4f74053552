/* nofiles.c: a program that touches no file: write(2) to stdout and exit_group(2), nothing else.
 * Built -nostdlib so no libc start-up code (which can reach open/poll) is linked in. */
static long sys3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

void _start(void)
{
    static const char msg[] = "no files needed\n";
    sys3(1, 1, (long)msg, sizeof(msg) - 1);   /* write */
    sys3(231, 0, 0, 0);                        /* exit_group */
    for (;;) {
    }
}
