/* probe_exit.c: exit-code probe: exits with the number in argv[1] (default 0). */
#include <stdlib.h>

int main(int argc, char **argv) { return argc > 1 ? atoi(argv[1]) : 0; }
