/* probes.h: the main() of the attack probe programs: list the cases, or run the one argv[1] names. */
#ifndef GUEST_PROBES_H
#define GUEST_PROBES_H

#include <stdio.h>
#include <string.h>

struct probe {
    const char *name;
    void (*run)(void);
};

/* No argument: print every case name (the tests check their verdict table against it).
 * One: print "probe <case>", run it, and print "SURVIVED <case>" if it returns, which
 * the boot tests count as a failed verdict; an unknown name exits 2. */
static inline int probe_main(const struct probe *probes, size_t n, int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", probes[i].name);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], probes[i].name) == 0) {
            printf("probe %s\n", argv[1]);
            probes[i].run();
            printf("SURVIVED %s\n", argv[1]);
            return 0;
        }
    }
    printf("unknown probe %s\n", argv[1]);
    return 2;
}

#endif /* GUEST_PROBES_H */
