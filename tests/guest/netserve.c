/* netserve.c: a guest TCP/UDP echo server for the NIC boot tests (tests/boot/test_inet_nic.py): serve PORT [HOSTPORT].
 *
 * Prints the runtime's /etc files, then "listening" once TCP and UDP port PORT are
 * bound on all addresses; echoes every TCP connection until the client closes and
 * answers each UDP datagram with "udp:" + the datagram, until a datagram "quit".
 * Then, with HOSTPORT, connects to the host (10.0.2.2:HOSTPORT, QEMU's user
 * network), sends "guest-hello" and prints the answer. Exit 0 when all went well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static void show(const char *path)
{
    char buf[1024];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        printf("%s: missing\n", path);
        return;
    }
    buf[n] = 0;
    printf("--- %s\n%s", path, buf);
}

static int echo_tcp(int c)
{
    char buf[8192];
    ssize_t n;
    long total = 0;
    while ((n = read(c, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c, buf + off, (size_t)(n - off));
            if (w <= 0)
                return -1;
            off += w;
        }
        total += n;
    }
    close(c);
    printf("tcp connection done: %ld bytes\n", total);
    return n < 0 ? -1 : 0;
}

static int to_host(int port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "10.0.2.2", &a.sin_addr);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("connect to host: %s\n", strerror(errno));
        return 1;
    }
    write(c, "guest-hello", 11);
    shutdown(c, SHUT_WR);
    char buf[256];
    ssize_t n, got = 0;
    while ((n = read(c, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got < 0 ? 0 : got] = 0;
    printf("host said: %s\n", buf);
    close(c);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 3 || strcmp(argv[1], "serve") != 0) {
        fprintf(stderr, "usage: netserve serve PORT [HOSTPORT]\n");
        return 2;
    }
    int port = atoi(argv[2]), hostport = argc > 3 ? atoi(argv[3]) : 0;
    show("/etc/hostname");
    show("/etc/hosts");
    show("/etc/resolv.conf");
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0 ||
        bind(u, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("bind: %s\n", strerror(errno));
        return 1;
    }
    printf("listening\n");
    for (;;) {
        struct pollfd pf[2] = {{l, POLLIN, 0}, {u, POLLIN, 0}};
        if (poll(pf, 2, -1) < 0)
            return 1;
        if (pf[0].revents & POLLIN) {
            int c = accept(l, NULL, NULL);
            if (c >= 0 && echo_tcp(c) < 0)
                printf("tcp echo failed\n");
        }
        if (pf[1].revents & POLLIN) {
            char buf[2048], reply[2100];
            struct sockaddr_in from;
            socklen_t len = sizeof(from);
            ssize_t n = recvfrom(u, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &len);
            if (n < 0)
                continue;
            buf[n] = 0;
            int rl = snprintf(reply, sizeof(reply), "udp:%s", buf);
            sendto(u, reply, (size_t)rl, 0, (struct sockaddr *)&from, len);
            printf("udp datagram: %s\n", buf);
            if (strcmp(buf, "quit") == 0)
                break;
        }
    }
    close(l);
    close(u);
    return hostport ? to_host(hostport) : 0;
}
