/* inet.c: guest tests of AF_INET/AF_INET6 sockets over loopback: TCP and UDP between threads, errors, options, readiness, bulk. */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct sockaddr_in lo4(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* A listening TCP socket on 127.0.0.1 with an ephemeral port. */
static int listener(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = lo4(0);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
        close(fd);
        return -1;
    }
    *port = port_of(fd);
    return fd;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return r < 0 ? r : (ssize_t)got;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* -- TCP basics between two threads ----------------------------------------------------- */

struct echo_arg {
    int lfd;
    int count;
};

static void *echo_server(void *p)
{
    struct echo_arg *ea = p;
    for (int i = 0; i < ea->count; i++) {
        int c = accept(ea->lfd, NULL, NULL);
        if (c < 0)
            break;
        char buf[4096];
        ssize_t n;
        while ((n = read(c, buf, sizeof(buf))) > 0)
            if (write(c, buf, (size_t)n) != n)
                break;
        close(c);
    }
    return NULL;
}

static void test_tcp_basic(void)
{
    int port;
    int lfd = listener(16, &port);
    CHECK("tcp_listen", lfd >= 0 && port > 0);
    int type = 0, acc = 0;
    socklen_t len = sizeof(int);
    CHECK("tcp_so_type", getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM);
    len = sizeof(int);
    CHECK("tcp_so_acceptconn", getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc == 1);
    struct echo_arg ea = {lfd, 1};
    pthread_t t;
    pthread_create(&t, NULL, echo_server, &ea);
    int c = connect_to(port);
    CHECK("tcp_connect", c >= 0);
    struct sockaddr_in peer;
    len = sizeof(peer);
    CHECK("tcp_getpeername", getpeername(c, (struct sockaddr *)&peer, &len) == 0 &&
                                 len == sizeof(peer) && ntohs(peer.sin_port) == port &&
                                 peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    struct sockaddr_in me;
    len = sizeof(me);
    CHECK("tcp_getsockname", getsockname(c, (struct sockaddr *)&me, &len) == 0 &&
                                 me.sin_family == AF_INET && ntohs(me.sin_port) != 0 &&
                                 me.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK("tcp_write", write(c, "hello", 5) == 5);
    char buf[16] = {0};
    CHECK("tcp_echo", read_full(c, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("tcp_send", send(c, "abcdef", 6, 0) == 6);
    sleep_ms(50);
    int avail = -1;
    CHECK("tcp_fionread", ioctl(c, FIONREAD, &avail) == 0 && avail == 6);
    CHECK("tcp_peek", recv(c, buf, 3, MSG_PEEK) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK("tcp_after_peek", recv(c, buf, 3, 0) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK("tcp_dontwait_rest", recv(c, buf, 10, MSG_DONTWAIT) == 3 && memcmp(buf, "def", 3) == 0);
    EXPECT_ERR("tcp_dontwait_empty", recv(c, buf, 10, MSG_DONTWAIT), EAGAIN);
    CHECK("tcp_send_waitall", send(c, "xy", 2, 0) == 2);
    CHECK("tcp_waitall", recv(c, buf, 2, MSG_WAITALL) == 2 && memcmp(buf, "xy", 2) == 0);
    close(c);
    pthread_join(t, NULL);
    close(lfd);
}

/* -- half-close ---------------------------------------------------------------------- */

static void *halfclose_server(void *p)
{
    int lfd = *(int *)p;
    int c = accept(lfd, NULL, NULL);
    char buf[64];
    ssize_t total = 0, n;
    while ((n = read(c, buf, sizeof(buf))) > 0)
        total += n;
    /* The client's write side is closed: answer with what we counted, then close. */
    char reply[32];
    int len = snprintf(reply, sizeof(reply), "got %zd", total);
    write(c, reply, (size_t)len);
    close(c);
    return NULL;
}

static void test_half_close(void)
{
    int port;
    int lfd = listener(4, &port);
    pthread_t t;
    pthread_create(&t, NULL, halfclose_server, &lfd);
    int c = connect_to(port);
    write(c, "0123456789", 10);
    CHECK("shutdown_wr", shutdown(c, SHUT_WR) == 0);
    EXPECT_ERR("write_after_shutdown", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    char buf[32] = {0};
    ssize_t n = read_full(c, buf, 6);
    CHECK("half_close_reply", n == 6 && memcmp(buf, "got 10", 6) == 0);
    CHECK("half_close_eof", read(c, buf, sizeof(buf)) == 0);
    struct pollfd pf = {c, POLLIN | POLLOUT | POLLRDHUP, 0};
    CHECK("half_close_poll", poll(&pf, 1, 0) == 1 && (pf.revents & (POLLIN | POLLRDHUP | POLLHUP)) ==
                                                         (POLLIN | POLLRDHUP | POLLHUP));
    close(c);
    pthread_join(t, NULL);
    close(lfd);
}

/* -- non-blocking connect, refused, errors ---------------------------------------------- */

static void test_nonblocking_connect(void)
{
    int port;
    int lfd = listener(4, &port);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo4(port);
    int r = connect(c, (struct sockaddr *)&a, sizeof(a));
    CHECK("nb_connect_inprogress", r == -1 && errno == EINPROGRESS);
    struct pollfd pf = {c, POLLOUT, 0};
    CHECK("nb_connect_writable", poll(&pf, 1, 5000) == 1 && (pf.revents & POLLOUT));
    int err = -1;
    socklen_t len = sizeof(err);
    CHECK("nb_connect_so_error", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    /* Linux: the next connect() completes the non-blocking one (0), another is EISCONN. */
    CHECK("nb_connect_again_done", connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    EXPECT_ERR("nb_connect_third_isconn", connect(c, (struct sockaddr *)&a, sizeof(a)), EISCONN);
    int s = accept(lfd, NULL, NULL);
    CHECK("nb_accept", s >= 0);
    close(s);
    close(c);

    /* A port nobody listens on: the port of a socket we just closed. */
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in b = lo4(0);
    bind(tmp, (struct sockaddr *)&b, sizeof(b));
    int dead = port_of(tmp);
    close(tmp);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = lo4(dead);
    r = connect(c, (struct sockaddr *)&a, sizeof(a));
    CHECK("refused_inprogress", r == -1 && errno == EINPROGRESS);
    pf.fd = c;
    pf.events = POLLOUT;
    CHECK("refused_poll", poll(&pf, 1, 5000) == 1 && (pf.revents & POLLERR));
    err = -1;
    len = sizeof(err);
    CHECK("refused_so_error", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNREFUSED);
    len = sizeof(err);
    CHECK("so_error_cleared", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    close(c);
    EXPECT_ERR("blocking_refused", connect_to(dead), ECONNREFUSED);
    close(lfd);
}

static void test_errors(void)
{
    int port;
    int lfd = listener(4, &port);
    int d = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    EXPECT_ERR("bind_in_use", bind(d, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
    int one = 1;
    setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_ERR("bind_in_use_reuseaddr_listening", bind(d, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
    struct sockaddr_in other = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "192.0.2.1", &other.sin_addr);
    EXPECT_ERR("bind_not_local", bind(d, (struct sockaddr *)&other, sizeof(other)), EADDRNOTAVAIL);
    struct sockaddr_in zero = lo4(0);
    CHECK("bind_ephemeral", bind(d, (struct sockaddr *)&zero, sizeof(zero)) == 0 && port_of(d) > 0);
    EXPECT_ERR("bind_twice", bind(d, (struct sockaddr *)&zero, sizeof(zero)), EINVAL);
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    EXPECT_ERR("getpeername_unconnected", getpeername(d, (struct sockaddr *)&peer, &len), ENOTCONN);
    char buf[4];
    EXPECT_ERR("recv_unconnected", recv(d, buf, 1, 0), ENOTCONN);
    EXPECT_ERR("send_unconnected", send(d, "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("shutdown_unconnected", shutdown(d, SHUT_RDWR), ENOTCONN);
    EXPECT_ERR("bind_short", bind(d, (struct sockaddr *)&a, 4), EINVAL);
    close(d);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_ERR("listen_udp", listen(u, 1), EOPNOTSUPP);
    EXPECT_ERR("accept_udp", accept(u, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERR("send_udp_no_dest", send(u, "x", 1, 0), EDESTADDRREQ);
    close(u);
    EXPECT_ERR("socket_bad_proto", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    int c = connect_to(port);
    int s = accept(lfd, NULL, NULL);
    EXPECT_ERR("connect_twice", connect(c, (struct sockaddr *)&a, sizeof(a)), EISCONN);
    /* Closing with unread data resets the connection (RST), as Linux does. */
    write(c, "unread", 6);
    sleep_ms(50);
    close(s);
    sleep_ms(50);
    EXPECT_ERR("reset_read", read(c, buf, sizeof(buf)), ECONNRESET);
    CHECK("reset_then_eof", read(c, buf, sizeof(buf)) == 0);
    EXPECT_ERR("reset_then_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);
    close(lfd);
}

/* -- options ------------------------------------------------------------------------- */

static void test_options(void)
{
    int port;
    int lfd = listener(4, &port);
    int c = connect_to(port);
    int s = accept(lfd, NULL, NULL);
    int v = 1, got = -1;
    socklen_t len = sizeof(got);
    CHECK("tcp_nodelay_default", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &got, &len) == 0 && got == 0);
    CHECK("tcp_nodelay_set", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) == 0);
    len = sizeof(got);
    CHECK("tcp_nodelay_get", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &got, &len) == 0 && got == 1);
    CHECK("so_keepalive_set", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) == 0);
    len = sizeof(got);
    CHECK("so_keepalive_get", getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &got, &len) == 0 && got == 1);
    v = 30;
    CHECK("tcp_keepidle", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)) == 0);
    len = sizeof(got);
    CHECK("tcp_keepidle_get", getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &got, &len) == 0 && got == 30);
    v = 5;
    CHECK("tcp_keepintvl", setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v)) == 0);
    CHECK("tcp_keepcnt", setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)) == 0);
    v = 0;
    EXPECT_ERR("tcp_keepcnt_zero", setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)), EINVAL);
    v = 1;
    CHECK("tcp_cork", setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0);
    CHECK("tcp_cork_write", write(c, "cork", 4) == 4);
    v = 0;
    CHECK("tcp_uncork", setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0);
    char buf[8];
    CHECK("tcp_cork_data", read_full(s, buf, 4) == 4 && memcmp(buf, "cork", 4) == 0);
    v = 5;
    CHECK("tcp_defer_accept", setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)) == 0);
    struct tcp_info ti;
    len = sizeof(ti);
    CHECK("tcp_info", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
                          ti.tcpi_state == TCP_ESTABLISHED);
    len = sizeof(ti);
    CHECK("tcp_info_listen", getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
                                 ti.tcpi_state == TCP_LISTEN);
    EXPECT_ERR("tcp_unknown_opt", setsockopt(c, IPPROTO_TCP, 9999, &v, sizeof(v)), ENOPROTOOPT);
    struct linger lg = {1, 0};
    CHECK("so_linger_zero", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    close(s); /* linger 0: a reset instead of a FIN */
    sleep_ms(50);
    EXPECT_ERR("linger_reset", read(c, buf, sizeof(buf)), ECONNRESET);
    close(c);
    close(lfd);
}

/* -- UDP ----------------------------------------------------------------------------- */

static void test_udp(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in la = lo4(0);
    CHECK("udp_bind", bind(a, (struct sockaddr *)&la, sizeof(la)) == 0);
    int pa = port_of(a);
    struct sockaddr_in to = lo4(pa);
    CHECK("udp_sendto", sendto(b, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
    int pb = port_of(b);
    CHECK("udp_autobind", pb > 0);
    char buf[64];
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    int avail = -1;
    sleep_ms(20);
    CHECK("udp_fionread", ioctl(a, FIONREAD, &avail) == 0 && avail == 4);
    CHECK("udp_recvfrom", recvfrom(a, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) == 4 &&
                              memcmp(buf, "ping", 4) == 0 && ntohs(from.sin_port) == pb);
    CHECK("udp_reply", sendto(a, "pong!", 5, 0, (struct sockaddr *)&from, len) == 5);
    CHECK("udp_peek", recv(b, buf, sizeof(buf), MSG_PEEK) == 5);
    CHECK("udp_trunc", recv(b, buf, 2, MSG_TRUNC) == 5 && memcmp(buf, "po", 2) == 0);
    EXPECT_ERR("udp_empty", recv(b, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    sendto(b, "long datagram", 13, 0, (struct sockaddr *)&to, sizeof(to));
    struct iovec iov = {buf, 4};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK("udp_msg_trunc_flag", recvmsg(a, &mh, 0) == 4 && (mh.msg_flags & MSG_TRUNC));
    CHECK("udp_connect", connect(b, (struct sockaddr *)&to, sizeof(to)) == 0);
    CHECK("udp_send_connected", send(b, "c", 1, 0) == 1);
    CHECK("udp_recv_connected_peer", recv(a, buf, sizeof(buf), 0) == 1 && buf[0] == 'c');
    static char big[65507];
    memset(big, 'z', sizeof(big));
    CHECK("udp_big", send(b, big, sizeof(big), 0) == (ssize_t)sizeof(big));
    CHECK("udp_big_recv", recv(a, big, sizeof(big), 0) == (ssize_t)sizeof(big));
    EXPECT_ERR("udp_too_big", send(b, big, sizeof(big) + 1, 0), EMSGSIZE);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_ERR("udp_bind_in_use", bind(c, (struct sockaddr *)&to, sizeof(to)), EADDRINUSE);
    close(c);
    close(a);
    close(b);
}

/* -- IPv6 and dual stack ----------------------------------------------------------------- */

static void test_ipv6(void)
{
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
    CHECK("v6_bind_any", bind(l, (struct sockaddr *)&any, sizeof(any)) == 0 && listen(l, 4) == 0);
    int port = port_of(l);
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_loopback};
    CHECK("v6_connect_loopback", connect(c6, (struct sockaddr *)&lo, sizeof(lo)) == 0);
    struct sockaddr_in6 peer;
    socklen_t len = sizeof(peer);
    int s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK("v6_accept", s >= 0 && len == sizeof(peer) && peer.sin6_family == AF_INET6 &&
                           IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
    write(c6, "six", 3);
    char buf[8];
    CHECK("v6_data", read_full(s, buf, 3) == 3 && memcmp(buf, "six", 3) == 0);
    close(s);
    close(c6);
    /* Without IPV6_V6ONLY an AF_INET6 socket on :: takes IPv4 connections too. */
    int c4 = connect_to(port);
    len = sizeof(peer);
    s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK("dual_stack_accept", c4 >= 0 && s >= 0 && IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr) &&
                                   peer.sin6_addr.s6_addr[15] == 1);
    close(s);
    close(c4);
    close(l);
    int v6only = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1, got = 0;
    CHECK("v6only_set", setsockopt(v6only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
    len = sizeof(got);
    CHECK("v6only_get", getsockopt(v6only, IPPROTO_IPV6, IPV6_V6ONLY, &got, &len) == 0 && got == 1);
    CHECK("v6only_bind", bind(v6only, (struct sockaddr *)&any, sizeof(any)) == 0 && listen(v6only, 4) == 0);
    EXPECT_ERR("v6only_refuses_v4", connect_to(port_of(v6only)), ECONNREFUSED);
    EXPECT_ERR("v6only_after_bind", setsockopt(v6only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), EINVAL);
    close(v6only);
    int u6 = socket(AF_INET6, SOCK_DGRAM, 0), u4 = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("v6_udp_bind", bind(u6, (struct sockaddr *)&any, sizeof(any)) == 0);
    struct sockaddr_in to = lo4(port_of(u6));
    sendto(u4, "4to6", 4, 0, (struct sockaddr *)&to, sizeof(to));
    len = sizeof(peer);
    CHECK("v6_udp_from_v4", recvfrom(u6, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len) == 4 &&
                                IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
    close(u6);
    close(u4);
}

/* -- epoll on sockets -------------------------------------------------------------------- */

static void test_epoll(void)
{
    int port;
    int lfd = listener(4, &port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    CHECK("epoll_listen_idle", epoll_wait(ep, out, 4, 0) == 0);
    int c = connect_to(port);
    CHECK("epoll_listen_ready", epoll_wait(ep, out, 4, 2000) == 1 && out[0].data.fd == lfd);
    int s = accept(lfd, NULL, NULL);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = s;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);
    write(c, "lt", 2);
    CHECK("epoll_lt_first", epoll_wait(ep, out, 4, 2000) == 1 && (out[0].events & EPOLLIN));
    CHECK("epoll_lt_again", epoll_wait(ep, out, 4, 0) == 1);
    char buf[8];
    read(s, buf, sizeof(buf));
    CHECK("epoll_lt_drained", epoll_wait(ep, out, 4, 0) == 0);
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    write(c, "et", 2);
    CHECK("epoll_et_first", epoll_wait(ep, out, 4, 2000) == 1);
    CHECK("epoll_et_not_again", epoll_wait(ep, out, 4, 0) == 0);
    write(c, "et2", 3);
    CHECK("epoll_et_new_data", epoll_wait(ep, out, 4, 2000) == 1);
    read(s, buf, sizeof(buf));
    ev.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    write(c, "os", 2);
    CHECK("epoll_oneshot_first", epoll_wait(ep, out, 4, 2000) == 1);
    write(c, "os", 2);
    CHECK("epoll_oneshot_disabled", epoll_wait(ep, out, 4, 50) == 0);
    read(s, buf, sizeof(buf));
    ev.events = EPOLLIN | EPOLLRDHUP;
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    shutdown(c, SHUT_WR);
    CHECK("epoll_rdhup", epoll_wait(ep, out, 4, 2000) == 1 && (out[0].events & EPOLLRDHUP));
    ev.events = EPOLLOUT;
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    CHECK("epoll_out", epoll_wait(ep, out, 4, 2000) == 1 && (out[0].events & EPOLLOUT));
    close(ep);
    close(s);
    close(c);
    close(lfd);
}

/* -- the backlog, many connections, bulk data --------------------------------------------- */

static void test_backlog(void)
{
    int port;
    int lfd = listener(1, &port);
    int fds[6], connected = 0;
    for (int i = 0; i < 6; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = lo4(port);
        connect(fds[i], (struct sockaddr *)&a, sizeof(a));
    }
    sleep_ms(200);
    for (int i = 0; i < 6; i++) {
        struct pollfd pf = {fds[i], POLLOUT, 0};
        if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT) && !(pf.revents & POLLERR))
            connected++;
    }
    /* Linux's accept queue holds backlog + 1; later SYNs are dropped (the client retries). */
    CHECK("backlog_bounds_queue", connected == 2);
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    close(lfd);
}

static void *many_server(void *p)
{
    int lfd = *(int *)p;
    for (int i = 0; i < 1000; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        char b;
        if (read(c, &b, 1) == 1)
            write(c, &b, 1);
        close(c);
    }
    return NULL;
}

static void test_many_connections(void)
{
    int port;
    int lfd = listener(64, &port);
    pthread_t t;
    pthread_create(&t, NULL, many_server, &lfd);
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        int c = connect_to(port);
        if (c < 0)
            break;
        char b = (char)i, r = 0;
        if (write(c, &b, 1) == 1 && read(c, &r, 1) == 1 && r == b)
            ok++;
        close(c);
    }
    pthread_join(t, NULL);
    CHECK("thousand_connections", ok == 1000);
    close(lfd);
}

#define BULK (64u << 20)

static unsigned long long checksum(const unsigned char *p, size_t n, unsigned long long h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static unsigned long long bulk_sent_sum;

static void *bulk_sender(void *p)
{
    int c = *(int *)p;
    static unsigned char buf[65536];
    unsigned long long h = 1469598103934665603ull;
    unsigned seed = 12345;
    for (size_t off = 0; off < BULK; off += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (unsigned char)(seed >> 16);
        }
        h = checksum(buf, sizeof(buf), h);
        size_t done = 0;
        while (done < sizeof(buf)) {
            ssize_t w = write(c, buf + done, sizeof(buf) - done);
            if (w <= 0)
                return NULL;
            done += (size_t)w;
        }
    }
    bulk_sent_sum = h;
    shutdown(c, SHUT_WR);
    return NULL;
}

static void test_bulk(void)
{
    int port;
    int lfd = listener(4, &port);
    int c = connect_to(port);
    int s = accept(lfd, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, bulk_sender, &c);
    static unsigned char buf[65536];
    unsigned long long h = 1469598103934665603ull;
    size_t total = 0;
    ssize_t n;
    while ((n = read(s, buf, sizeof(buf))) > 0) {
        h = checksum(buf, (size_t)n, h);
        total += (size_t)n;
    }
    pthread_join(t, NULL);
    CHECK("bulk_64mib_length", total == BULK);
    CHECK("bulk_64mib_checksum", h == bulk_sent_sum);
    close(s);
    close(c);
    close(lfd);
}

int main(void)
{
    guest_begin();
    signal(SIGPIPE, SIG_IGN);
    test_tcp_basic();
    test_half_close();
    test_nonblocking_connect();
    test_errors();
    test_options();
    test_udp();
    test_ipv6();
    test_epoll();
    test_backlog();
    test_many_connections();
    test_bulk();
    return guest_finish();
}
