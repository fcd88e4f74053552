/* probe_null.c: crash probe: dereference NULL. Must be reported as a crash (SIGSEGV), never as success. */
#include <stdio.h>

int main(void)
{
    volatile int *p = (volatile int *)0;
    printf("probe_null: about to read address 0\n");
    fflush(stdout);
    return *p == 42 ? 0 : 3; /* unreachable: the read faults */
}
