/* hello.c: the smallest useful program: one line on stdout, exit 0 (image-size and boot benchmarks). */
#include <stdio.h>

int main(void)
{
    puts("Hello from dock2uni!");
    return 0;
}
