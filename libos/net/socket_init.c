/* SPDX-License-Identifier: Apache-2.0 */
/* socket_init.c: net_init(): the socket families register at boot (one line per family). */
#include <libos/socket.h>

void net_init(void)
{
    /* Families add their registration here: unix_init() (net/unix.c), the network
     * layer its own (net/inet*.c). An unregistered family is EAFNOSUPPORT. */
    inet_init(); /* AF_INET, AF_INET6: lwIP, lo, the NIC, /etc/hosts (net/inet.c) */
}
