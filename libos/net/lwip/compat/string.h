/* SPDX-License-Identifier: Apache-2.0 */
/* string.h: what lwIP's <string.h> includes need, from the kernel's own string functions. */
#ifndef LIBOS_LWIP_COMPAT_STRING_H
#define LIBOS_LWIP_COMPAT_STRING_H
#include <libos/string.h>
#endif
