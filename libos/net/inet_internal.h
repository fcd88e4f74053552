/* SPDX-License-Identifier: Apache-2.0 */
/* inet_internal.h: shared state of the AF_INET/AF_INET6 family over lwIP (net/inet*.c, net/lwip_port.c). */
#ifndef LIBOS_NET_INET_INTERNAL_H
#define LIBOS_NET_INET_INTERNAL_H

#include <libos/errno.h>
#include <libos/socket.h>
#include <libos/task.h>
#include <libos/types.h>

/* Linux errno values the socket layer needs (asm-generic/errno.h). */
#ifndef ENOTSOCK
#define ENOTSOCK 88
#endif
#ifndef EDESTADDRREQ
#define EDESTADDRREQ 89
#endif
#ifndef EMSGSIZE
#define EMSGSIZE 90
#endif
#ifndef EPROTOTYPE
#define EPROTOTYPE 91
#endif
#ifndef ENOPROTOOPT
#define ENOPROTOOPT 92
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT 93
#endif
#ifndef ESOCKTNOSUPPORT
#define ESOCKTNOSUPPORT 94
#endif
#ifndef EADDRINUSE
#define EADDRINUSE 98
#endif
#ifndef EADDRNOTAVAIL
#define EADDRNOTAVAIL 99
#endif
#ifndef ENETDOWN
#define ENETDOWN 100
#endif
#ifndef ENETUNREACH
#define ENETUNREACH 101
#endif
#ifndef ECONNABORTED
#define ECONNABORTED 103
#endif
#ifndef ECONNRESET
#define ECONNRESET 104
#endif
#ifndef ENOBUFS
#define ENOBUFS 105
#endif
#ifndef EISCONN
#define EISCONN 106
#endif
#ifndef ENOTCONN
#define ENOTCONN 107
#endif
#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif
#ifndef EHOSTUNREACH
#define EHOSTUNREACH 113
#endif
#ifndef EALREADY
#define EALREADY 114
#endif
#ifndef EINPROGRESS
#define EINPROGRESS 115
#endif

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

/* lwip_port.c */
void inet_mem_init(void);
size_t inet_mem_used(void);
size_t inet_mem_budget(void);
/* After any lwIP call that may send: deliver looped-back packets, re-arm lwIP's timer. */
void inet_poll(void);

#endif /* LIBOS_NET_INET_INTERNAL_H */
