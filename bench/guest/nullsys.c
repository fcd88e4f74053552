/* nullsys.c: null-syscall cost: getppid() N times (argv[1], default 1000000);
 * prints the nanoseconds per call (CLOCK_MONOTONIC), the number only. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n <= 0)
        n = 1;
    /* warm up: page in the loop and let the kernel settle (caches, TCG translations) */
    for (long i = 0; i < n / 10 + 1; i++)
        getppid();
    double start = now_ns();
    for (long i = 0; i < n; i++)
        getppid();
    double stop = now_ns();
    printf("%.1f\n", (stop - start) / (double)n);
    return 0;
}
