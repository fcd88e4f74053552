/* SPDX-License-Identifier: Apache-2.0 */
/* cmdline.h: the kernel command line, decoded (keys in docs/console-protocol.md).
 *
 * Interface: cmdline_parse() runs once at boot (after the heap exists) and fills
 * kopts; unknown keys are reported once on the log and otherwise ignored.
 */
#ifndef LIBOS_CMDLINE_H
#define LIBOS_CMDLINE_H

#include <libos/types.h>

#define SEED_MAX 64
#define DNS_MAX 3         /* nameservers kept from d2u.dns= (resolv.conf's MAXNS) */

struct kernel_options {
    bool strace;            /* strace=1: log every syscall */
    bool have_cmd;          /* d2u.cmd= given: replaces the image's Cmd */
    char **cmd;             /* NULL-terminated, heap */
    char **env;             /* d2u.env=: NULL-terminated extra KEY=VALUE, heap (or NULL) */
    bool have_entrypoint;   /* d2u.entrypoint= given: replaces the image's Entrypoint, */
    char **entrypoint;      /* and its Cmd unless d2u.cmd= is given too (run --entrypoint) */
    char *workdir;          /* d2u.workdir=: the working directory (run -w), heap (or NULL) */
    char *user;             /* d2u.user=: USER[:GROUP] as docker run -u, heap (or NULL) */
    char **tmpfs;           /* d2u.tmpfs=: directories emptied at boot (run --tmpfs), heap */
    char **vol;             /* d2u.vol=: "TAG:MODE:GUESTPATH" volumes to mount (run -v), heap */
    u32 volcache;           /* d2u.volcache=: unused cached nodes kept per volume, 0 = the default */
    bool read_only;         /* d2u.readonly=1: the root filesystem refuses writes (run --read-only) */
    bool have_epoch;        /* epoch= given */
    u64 epoch;              /* wall-clock seconds at boot */
    u8 seed[SEED_MAX];      /* seed=: launcher entropy */
    size_t seed_len;
    int stdio;              /* d2u.stdio=: STDIO_TTY (default), STDIO_PIPES, STDIO_PIPES_IN */
    int hostsig_irq;        /* d2u.hostsig=: COM4's ISA IRQ line carrying host signals, 0 none */
    /* Networking (docs/networking.md), written by `dock2uni run`. */
    int net;                /* d2u.net=: NET_AUTO (not given), NET_NONE, NET_USER */
    bool have_ip;           /* d2u.ip=A.B.C.D/PREFIX given (else DHCP when a NIC exists) */
    u8 ip[4], prefix;
    bool have_gw;
    u8 gw[4];               /* d2u.gw= */
    int ndns;               /* d2u.dns=IP, repeatable: nameservers in order (glibc reads 3) */
    char dns[DNS_MAX][46];
    char hostname[65];      /* d2u.hostname= (empty: not given) */
    char *hosts;            /* d2u.host=NAME:IP, repeatable: "IP\tNAME\n" lines, heap (or NULL) */
};

/* How fds 0-2 look (docs/console-protocol.md): one tty on COM1 (`run -t`), or, as
 * `docker run` without -t, pipes: stdout on COM1, stderr on COM3, stdin at end of file
 * (STDIO_PIPES) or forwarded from COM1 with an escape for end of file (STDIO_PIPES_IN). */
#define STDIO_TTY 0
#define STDIO_PIPES 1
#define STDIO_PIPES_IN 2

#define NET_AUTO 0
#define NET_NONE 1
#define NET_USER 2

extern struct kernel_options kopts;

void cmdline_parse(const char *cmdline);

/* Decode base64 (RFC 4648, padding optional) into a new heap buffer; NULL on bad input. */
u8 *base64_decode(const char *s, size_t len, size_t *out_len);

#endif /* LIBOS_CMDLINE_H */
