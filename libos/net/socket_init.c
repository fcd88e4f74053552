/* SPDX-License-Identifier: Apache-2.0 */
/* socket_init.c: net_init(): the socket families register at boot (one line per family). */
#include <libos/socket.h>

void net_init(void)
{
    /* One line per family. An unregistered family is EAFNOSUPPORT. */
    unix_init();
    netlink_init();
    inet_init(); /* AF_INET, AF_INET6: lwIP, lo, the NIC, /etc/hosts (net/inet.c) */
}
