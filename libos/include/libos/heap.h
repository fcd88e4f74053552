/* SPDX-License-Identifier: Apache-2.0 */
/* heap.h: the kernel heap (kernel/heap.c).
 *
 * Interface: kmalloc() returns 16-byte aligned memory or NULL when memory is
 * exhausted; kzalloc() also zeroes it; kfree(NULL) is a no-op. Memory comes
 * from the direct map, so virt_to_phys() works on it.
 */
#ifndef LIBOS_HEAP_H
#define LIBOS_HEAP_H

#include <libos/types.h>

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);
/* Duplicate a NUL-terminated string, or NULL. */
char *kstrdup(const char *s);

#endif /* LIBOS_HEAP_H */
