/* SPDX-License-Identifier: Apache-2.0 */
/* eventfd.c: eventfd and eventfd2 (the counter object is libos/fs/eventfd.c). */
#include <libos/eventfds.h>
#include <shim/shim.h>

/* sys_eventfd: Linux eventfd(2): eventfd2 with no flags. */
long sys_eventfd(const struct shim_args *a) { return eventfd_create(arg_uint(a, 0), 0); }

/* sys_eventfd2: Linux eventfd2(2): EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC. */
long sys_eventfd2(const struct shim_args *a) { return eventfd_create(arg_uint(a, 0), arg_int(a, 1)); }
