/* SPDX-License-Identifier: Apache-2.0 */
/* stdlib.h: what lwIP's <stdlib.h> includes need (netif_find's atoi; net/lwip_port.c). */
#ifndef LIBOS_LWIP_COMPAT_STDLIB_H
#define LIBOS_LWIP_COMPAT_STDLIB_H
int atoi(const char *s);
#endif
