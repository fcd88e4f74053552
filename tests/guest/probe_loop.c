/* probe_loop.c: timeout probe: spins forever; the launcher must stop it at --timeout. */
#include <stdio.h>

int main(void)
{
    printf("probe_loop: spinning forever\n");
    fflush(stdout);
    for (volatile unsigned long i = 0;; i++)
        ;
}
