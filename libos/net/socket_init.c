/* SPDX-License-Identifier: Apache-2.0 */
/* socket_init.c: net_init(): the socket families register at boot (one line per family). */
#include <libos/socket.h>

void net_init(void)
{
    /* One line per family; the network layer adds its own (net/inet*.c). An
     * unregistered family is EAFNOSUPPORT. */
    unix_init();
    netlink_init();
}
