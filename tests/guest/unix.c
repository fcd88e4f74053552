/* unix.c: guest tests of the socket layer and AF_UNIX: socketpair, names, listen/accept between threads, SCM_RIGHTS, credentials, EOF/EPIPE, readiness, errno values. */
#include "guest.h"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#ifndef SO_DOMAIN
#define SO_DOMAIN 39
#endif
#ifndef SO_PROTOCOL
#define SO_PROTOCOL 38
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

static volatile int sigpipes;
static void on_sigpipe(int sig) { sigpipes++; }

static char dir[64];

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a->sun_path + 1, name, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int sockopt_int(int fd, int name)
{
    int v = -1;
    socklen_t l = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, name, &v, &l) == 0 && l == sizeof(v) ? v : -999;
}

static short revents(int fd, short ev)
{
    struct pollfd p = {fd, ev, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static void test_generic_errors(void)
{
    int sv[2], p[2];
    char buf[8];
    struct sockaddr_un a;
    EXPECT_ERR("socket_family_max", socket(46, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("socket_family_negative", socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("socket_bad_flags", socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
    EXPECT_ERR("socket_bad_type", socket(AF_UNIX, 99, 0), EINVAL);
    EXPECT_ERR("socket_unix_rdm", socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    EXPECT_ERR("socket_unix_protocol", socket(AF_UNIX, SOCK_STREAM, 5), EPROTONOSUPPORT);
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    CHECK("socket_unix_raw_is_dgram", raw >= 0 && sockopt_int(raw, SO_TYPE) == SOCK_DGRAM);
    close(raw);
    EXPECT_ERR("socketpair_efault_first", syscall(SYS_socketpair, 46, SOCK_STREAM, 0, 8L), EFAULT);
    EXPECT_ERR("socketpair_family", socketpair(46, SOCK_STREAM, 0, sv), EAFNOSUPPORT);
    pipe(p);
    EXPECT_ERR("bind_enotsock", bind(p[0], (struct sockaddr *)&a, sizeof(a)), ENOTSOCK);
    EXPECT_ERR("bind_ebadf", bind(999, (struct sockaddr *)&a, sizeof(a)), EBADF);
    EXPECT_ERR("connect_einval_before_enotsock", connect(p[0], (struct sockaddr *)&a, 200), EINVAL);
    EXPECT_ERR("connect_enotsock", connect(p[0], (struct sockaddr *)&a, sizeof(a)), ENOTSOCK);
    EXPECT_ERR("listen_enotsock", listen(p[0], 1), ENOTSOCK);
    EXPECT_ERR("getsockname_enotsock", getsockname(p[0], (struct sockaddr *)&a, &(socklen_t){sizeof(a)}), ENOTSOCK);
    EXPECT_ERR("send_enotsock", send(p[1], "x", 1, 0), ENOTSOCK);
    EXPECT_ERR("recv_enotsock", recv(p[0], buf, 1, 0), ENOTSOCK);
    EXPECT_ERR("setsockopt_ebadf_first", setsockopt(999, SOL_SOCKET, SO_REUSEADDR, buf, -1), EBADF);
    EXPECT_ERR("shutdown_enotsock", shutdown(p[0], SHUT_RD), ENOTSOCK);
    close(p[0]);
    close(p[1]);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind_efault", syscall(SYS_bind, s, 8L, 10), EFAULT);
    EXPECT_ERR("bind_len_too_long", bind(s, (struct sockaddr *)&a, 200), EINVAL);
    EXPECT_ERR("bind_len_short", bind(s, (struct sockaddr *)&a, 1), EINVAL);
    a.sun_family = AF_INET;
    EXPECT_ERR("bind_wrong_family", bind(s, (struct sockaddr *)&a, sizeof(a)), EINVAL);
    EXPECT_ERR("getsockname_len_efault", syscall(SYS_getsockname, s, &a, 8L), EFAULT);
    EXPECT_ERR("getpeername_unconnected", getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof(a)}), ENOTCONN);
    EXPECT_ERR("send_unconnected_stream", send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    EXPECT_ERR("recv_unconnected_stream", recv(s, buf, 1, MSG_DONTWAIT), EINVAL);
    EXPECT_ERR("listen_unbound", listen(s, 1), EINVAL);
    EXPECT_ERR("accept_not_listening", accept(s, NULL, NULL), EINVAL);
    EXPECT_ERR("accept4_bad_flags", accept4(s, NULL, NULL, 0x1), EINVAL);
    int one = 1;
    EXPECT_ERR("setsockopt_short", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 2), EINVAL);
    EXPECT_ERR("setsockopt_so_type", setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof(one)), ENOPROTOOPT);
    EXPECT_ERR("setsockopt_unknown", setsockopt(s, SOL_SOCKET, 1000, &one, sizeof(one)), ENOPROTOOPT);
    EXPECT_ERR("getsockopt_other_level", getsockopt(s, 6, 1, &one, &(socklen_t){4}), EOPNOTSUPP);
    EXPECT_ERR("getsockopt_neg_len", getsockopt(s, SOL_SOCKET, SO_TYPE, &one, &(socklen_t){-1}), EINVAL);
    struct timeval tv = {0, 2000000};
    EXPECT_ERR("rcvtimeo_edom", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
    EXPECT_ERR("shutdown_bad_how", shutdown(s, 3), EINVAL);
    struct ucred nc;
    socklen_t ncl = sizeof(nc);
    CHECK("so_peercred_unconnected", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &nc, &ncl) == 0 && ncl == sizeof(nc) &&
                                         nc.pid == 0 && nc.uid == (uid_t)-1 && nc.gid == (gid_t)-1);
    CHECK("shutdown_unconnected_ok", shutdown(s, SHUT_RDWR) == 0);
    EXPECT_ERR("lseek_espipe", lseek(s, 0, SEEK_SET), ESPIPE);
    short ev = revents(s, POLLIN | POLLOUT);
    CHECK("poll_fresh_stream_out_hup", (ev & (POLLOUT | POLLHUP)) == (POLLOUT | POLLHUP));
    close(s);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR("listen_dgram", listen(s, 1), EOPNOTSUPP);
    EXPECT_ERR("accept_dgram", accept(s, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERR("send_dgram_unconnected", send(s, "x", 1, 0), ENOTCONN);
    close(s);
}

static void test_options(void)
{
    int sv[2];
    CHECK("socketpair_stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK("so_type", sockopt_int(sv[0], SO_TYPE) == SOCK_STREAM);
    CHECK("so_domain", sockopt_int(sv[0], SO_DOMAIN) == AF_UNIX);
    CHECK("so_protocol", sockopt_int(sv[0], SO_PROTOCOL) == 0);
    CHECK("so_error_zero", sockopt_int(sv[0], SO_ERROR) == 0);
    CHECK("so_acceptconn_zero", sockopt_int(sv[0], SO_ACCEPTCONN) == 0);
    CHECK("so_sndbuf_default", sockopt_int(sv[0], SO_SNDBUF) == 212992);
    int v = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    CHECK("so_sndbuf_doubled", sockopt_int(sv[0], SO_SNDBUF) == 8192);
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    CHECK("so_rcvbuf_minimum", sockopt_int(sv[0], SO_RCVBUF) == 2304);
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
    CHECK("so_reuseaddr", sockopt_int(sv[0], SO_REUSEADDR) == 1);
    setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
    CHECK("so_keepalive", sockopt_int(sv[0], SO_KEEPALIVE) == 1);
    struct linger lg = {1, 5}, lg2;
    socklen_t l = sizeof(lg2);
    setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    CHECK("so_linger", getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg2, &l) == 0 && l == sizeof(lg2) &&
                           lg2.l_onoff == 1 && lg2.l_linger == 5);
    struct timeval tv = {1, 500000}, tv2;
    l = sizeof(tv2);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    CHECK("so_rcvtimeo", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv2, &l) == 0 && l == sizeof(tv2) &&
                             tv2.tv_sec == 1 && tv2.tv_usec == 500000);
    short sh = 0;
    l = sizeof(sh);
    CHECK("getsockopt_truncates", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &sh, &l) == 0 && l == 2 && sh == SOCK_STREAM);
    struct stat st0, st1;
    CHECK("fstat_sock", fstat(sv[0], &st0) == 0 && S_ISSOCK(st0.st_mode) && (st0.st_mode & 0777) == 0777 &&
                            st0.st_nlink == 1 && st0.st_size == 0);
    CHECK("fstat_unique_ino", fstat(sv[1], &st1) == 0 && st1.st_ino != st0.st_ino);
    int fl = fcntl(sv[0], F_GETFL);
    CHECK("f_getfl_rdwr", (fl & O_ACCMODE) == O_RDWR);
    close(sv[0]);
    close(sv[1]);
    CHECK("socketpair_flags", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0 &&
                                  (fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[1], F_GETFD) & FD_CLOEXEC));
    char c;
    EXPECT_ERR("nonblock_read_eagain", read(sv[0], &c, 1), EAGAIN);
    int off = 0;
    ioctl(sv[0], FIONBIO, &off);
    tv = (struct timeval){0, 40000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_ERR("rcvtimeo_eagain", read(sv[0], &c, 1), EAGAIN);
    close(sv[0]);
    close(sv[1]);
}

static void test_stream_pair(void)
{
    int sv[2];
    char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK("stream_write", write(sv[0], "hello", 5) == 5 && write(sv[0], " world", 6) == 6);
    int n = 0;
    CHECK("fionread", ioctl(sv[1], FIONREAD, &n) == 0 && n == 11);
    CHECK("poll_readable", (revents(sv[1], POLLIN | POLLOUT) & (POLLIN | POLLOUT)) == (POLLIN | POLLOUT));
    CHECK("recv_peek", recv(sv[1], buf, 5, MSG_PEEK) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("stream_glues_writes", read(sv[1], buf, sizeof(buf)) == 11 && memcmp(buf, "hello world", 11) == 0);
    CHECK("read_zero", read(sv[1], buf, 0) == 0);
    struct iovec iv[2] = {{"ab", 2}, {"cde", 3}};
    CHECK("writev", writev(sv[0], iv, 2) == 5);
    char x[2], y[8];
    struct iovec rv[2] = {{x, 2}, {y, 8}};
    CHECK("readv", readv(sv[1], rv, 2) == 5 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);
    CHECK("shutdown_wr", shutdown(sv[0], SHUT_WR) == 0);
    CHECK("eof_after_shutdown", read(sv[1], buf, sizeof(buf)) == 0);
    CHECK("poll_rdhup", (revents(sv[1], POLLIN | POLLRDHUP) & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP));
    signal(SIGPIPE, on_sigpipe);
    sigpipes = 0;
    EXPECT_ERR("write_after_shutdown_epipe", write(sv[0], "x", 1), EPIPE);
    CHECK("sigpipe_raised", sigpipes == 1);
    CHECK("reverse_direction_open", write(sv[1], "back", 4) == 4 && read(sv[0], buf, 4) == 4);
    close(sv[0]);
    CHECK("poll_peer_closed", (revents(sv[1], POLLIN | POLLOUT) & POLLHUP) != 0);
    EXPECT_ERR("send_peer_closed_nosignal", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK("nosignal_no_sigpipe", sigpipes == 1);
    EXPECT_ERR("write_peer_closed", write(sv[1], "x", 1), EPIPE);
    CHECK("sigpipe_again", sigpipes == 2);
    close(sv[1]);
    /* Closing with unread data resets the peer's connection. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "unread", 6);
    close(sv[0]);
    EXPECT_ERR("econnreset_unread", read(sv[1], buf, sizeof(buf)), ECONNRESET);
    CHECK("eof_after_reset", read(sv[1], buf, sizeof(buf)) == 0);
    close(sv[1]);
    signal(SIGPIPE, SIG_DFL);
}

static void test_dgram_seqpacket(void)
{
    int sv[2];
    char buf[64];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "one", 3, 0);
    send(sv[0], "twotwo", 6, 0);
    CHECK("dgram_boundary", recv(sv[1], buf, sizeof(buf), 0) == 3);
    CHECK("dgram_peek", recv(sv[1], buf, sizeof(buf), MSG_PEEK) == 6);
    int n = 0;
    CHECK("dgram_fionread_first", ioctl(sv[1], FIONREAD, &n) == 0 && n == 6);
    struct iovec iv = {buf, 2};
    struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1};
    CHECK("dgram_trunc", recvmsg(sv[1], &m, 0) == 2 && (m.msg_flags & MSG_TRUNC));
    send(sv[0], "abcdef", 6, 0);
    CHECK("dgram_trunc_flag_len", recv(sv[1], buf, 2, MSG_TRUNC) == 6);
    struct iovec wv[2] = {{"ab", 2}, {"cd", 2}};
    writev(sv[0], wv, 2);
    CHECK("dgram_writev_one_message", recv(sv[1], buf, sizeof(buf), 0) == 4);
    send(sv[0], "", 0, 0);
    CHECK("dgram_empty", recv(sv[1], buf, sizeof(buf), 0) == 0);
    struct mmsghdr mm[3];
    struct iovec mi[3] = {{"m1", 2}, {"m22", 3}, {"m333", 4}};
    for (int i = 0; i < 3; i++)
        mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &mi[i], .msg_iovlen = 1}};
    CHECK("sendmmsg", sendmmsg(sv[0], mm, 3, 0) == 3 && mm[2].msg_len == 4);
    char rb[3][8];
    struct iovec ri[3] = {{rb[0], 8}, {rb[1], 8}, {rb[2], 8}};
    for (int i = 0; i < 3; i++)
        mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &ri[i], .msg_iovlen = 1}};
    CHECK("recvmmsg_waitforone", recvmmsg(sv[1], mm, 3, MSG_WAITFORONE, NULL) == 3 && mm[0].msg_len == 2 &&
                                     mm[1].msg_len == 3 && mm[2].msg_len == 4 && memcmp(rb[2], "m333", 4) == 0);
    EXPECT_ERR("recvmmsg_empty_eagain", recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL), EAGAIN);
    close(sv[1]);
    EXPECT_ERR("dgram_peer_gone", send(sv[0], "x", 1, 0), ECONNREFUSED);
    EXPECT_ERR("dgram_then_unconnected", send(sv[0], "x", 1, 0), ENOTCONN);
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    CHECK("seqpacket_type", sockopt_int(sv[0], SO_TYPE) == SOCK_SEQPACKET);
    send(sv[0], "first", 5, 0);
    send(sv[0], "second", 6, 0);
    CHECK("seqpacket_boundary", recv(sv[1], buf, sizeof(buf), 0) == 5 && recv(sv[1], buf, 3, 0) == 3);
    CHECK("seqpacket_rest_dropped", send(sv[0], "x", 1, 0) == 1 && recv(sv[1], buf, sizeof(buf), 0) == 1);
    close(sv[0]);
    CHECK("seqpacket_eof", recv(sv[1], buf, sizeof(buf), 0) == 0);
    signal(SIGPIPE, on_sigpipe);
    sigpipes = 0;
    EXPECT_ERR("seqpacket_send_peer_gone", send(sv[1], "x", 1, 0), EPIPE);
    CHECK("seqpacket_epipe_no_sigpipe", sigpipes == 0);
    signal(SIGPIPE, SIG_DFL);
    close(sv[1]);
}

struct server {
    int fd;
    int type;
    struct sockaddr_un addr;
    socklen_t len;
    long total;
    unsigned sum;
};

static void *client_thread(void *arg)
{
    struct server *sv = arg;
    int c = socket(AF_UNIX, sv->type, 0);
    if (connect(c, (struct sockaddr *)&sv->addr, sv->len) < 0) {
        close(c);
        return (void *)1;
    }
    static char chunk[8192];
    unsigned sum = 0;
    for (int i = 0; i < (int)sizeof(chunk); i++)
        chunk[i] = (char)(i * 7);
    long total = 0;
    for (int k = 0; k < 128; k++) {
        ssize_t w = write(c, chunk, sizeof(chunk));
        if (w != (ssize_t)sizeof(chunk))
            break;
        total += w;
        for (int i = 0; i < (int)sizeof(chunk); i++)
            sum += (unsigned char)chunk[i];
    }
    sv->total = total;
    sv->sum = sum;
    close(c);
    return NULL;
}

static void test_path_server(void)
{
    struct server sv = {.type = SOCK_STREAM};
    sv.len = path_addr(&sv.addr, "srv.sock");
    unlink(sv.addr.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("bind_path", bind(l, (struct sockaddr *)&sv.addr, sv.len) == 0);
    struct stat st;
    CHECK("path_is_socket", stat(sv.addr.sun_path, &st) == 0 && S_ISSOCK(st.st_mode));
    EXPECT_ERR("open_socket_path_enxio", open(sv.addr.sun_path, O_RDWR), ENXIO);
    EXPECT_ERR("bind_again_same_path", bind(l, (struct sockaddr *)&sv.addr, sv.len), EADDRINUSE);
    struct sockaddr_un other;
    socklen_t otl = path_addr(&other, "other.sock");
    EXPECT_ERR("bind_again_new_path", bind(l, (struct sockaddr *)&other, otl), EINVAL);
    EXPECT_ERR("bind_again_not_left_behind", access(other.sun_path, F_OK), ENOENT);
    int o = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind_taken_eaddrinuse", bind(o, (struct sockaddr *)&sv.addr, sv.len), EADDRINUSE);
    EXPECT_ERR("connect_not_listening", connect(o, (struct sockaddr *)&sv.addr, sv.len), ECONNREFUSED);
    struct sockaddr_un got;
    socklen_t gl = sizeof(got);
    CHECK("getsockname_path", getsockname(l, (struct sockaddr *)&got, &gl) == 0 && gl == sv.len &&
                                  strcmp(got.sun_path, sv.addr.sun_path) == 0);
    CHECK("listen", listen(l, 4) == 0 && sockopt_int(l, SO_ACCEPTCONN) == 1);
    fcntl(l, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("accept_nonblock_eagain", accept(l, NULL, NULL), EAGAIN);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    CHECK("epoll_listen_idle", epoll_wait(ep, &out, 1, 0) == 0);
    CHECK("connect_path", connect(o, (struct sockaddr *)&sv.addr, sv.len) == 0);
    CHECK("epoll_listen_ready", epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 7 && (out.events & EPOLLIN));
    struct sockaddr_un peer;
    socklen_t pl = sizeof(peer);
    int a = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    CHECK("accept4", a >= 0 && (fcntl(a, F_GETFD) & FD_CLOEXEC) && !(fcntl(a, F_GETFL) & O_NONBLOCK));
    CHECK("accept_peer_unnamed", pl == offsetof(struct sockaddr_un, sun_path));
    gl = sizeof(got);
    CHECK("accepted_name_is_listener", getsockname(a, (struct sockaddr *)&got, &gl) == 0 && gl == sv.len);
    gl = sizeof(got);
    CHECK("client_peer_is_listener", getpeername(o, (struct sockaddr *)&got, &gl) == 0 && gl == sv.len &&
                                         strcmp(got.sun_path, sv.addr.sun_path) == 0);
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    CHECK("so_peercred_client", getsockopt(o, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cl == sizeof(cr) &&
                                    cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid());
    cl = sizeof(cr);
    CHECK("so_peercred_server", getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == getpid());
    close(a);
    close(o);
    CHECK("epoll_listen_drained", epoll_wait(ep, &out, 1, 0) == 0);
    close(ep);
    fcntl(l, F_SETFL, 0);
    /* A client thread streams 1 MiB; the server checks the sum. */
    pthread_t t;
    pthread_create(&t, NULL, client_thread, &sv);
    a = accept(l, NULL, NULL);
    static char buf[5000];
    long got_total = 0;
    unsigned sum = 0;
    ssize_t r;
    while ((r = read(a, buf, sizeof(buf))) > 0) {
        got_total += r;
        for (ssize_t i = 0; i < r; i++)
            sum += (unsigned char)buf[i];
    }
    void *res;
    pthread_join(t, &res);
    CHECK("thread_stream_1mib", res == NULL && got_total == 128 * 8192 && sv.total == got_total && sv.sum == sum);
    close(a);
    close(l);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect_closed_listener", connect(c, (struct sockaddr *)&sv.addr, sv.len), ECONNREFUSED);
    CHECK("unlink_name", unlink(sv.addr.sun_path) == 0);
    EXPECT_ERR("connect_unlinked", connect(c, (struct sockaddr *)&sv.addr, sv.len), ENOENT);
    struct sockaddr_un f;
    socklen_t fl = path_addr(&f, "regular");
    close(open(f.sun_path, O_CREAT | O_WRONLY, 0644));
    EXPECT_ERR("connect_regular_file", connect(c, (struct sockaddr *)&f, fl), ECONNREFUSED);
    EXPECT_ERR("bind_existing_file", bind(c, (struct sockaddr *)&f, fl), EADDRINUSE);
    unlink(f.sun_path);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(d, (struct sockaddr *)&sv.addr, sv.len);
    EXPECT_ERR("connect_stream_to_dgram", connect(c, (struct sockaddr *)&sv.addr, sv.len), EPROTOTYPE);
    close(d);
    unlink(sv.addr.sun_path);
    close(c);
}

static void test_abstract_dgram(void)
{
    struct sockaddr_un a, b, got;
    socklen_t al = abstract_addr(&a, "d2u-unix-test-a");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("bind_abstract", bind(s, (struct sockaddr *)&a, al) == 0);
    socklen_t gl = sizeof(got);
    CHECK("getsockname_abstract", getsockname(s, (struct sockaddr *)&got, &gl) == 0 && gl == al &&
                                      memcmp(&got, &a, al) == 0);
    int t = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR("abstract_in_use", bind(t, (struct sockaddr *)&a, al), EADDRINUSE);
    CHECK("sendto_unbound", sendto(t, "hi", 2, 0, (struct sockaddr *)&a, al) == 2);
    char buf[16];
    gl = sizeof(got);
    CHECK("recvfrom_unbound_sender", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&got, &gl) == 2 && gl == 0);
    socklen_t bl = abstract_addr(&b, "d2u-unix-test-b");
    bind(t, (struct sockaddr *)&b, bl);
    sendto(t, "yo", 2, 0, (struct sockaddr *)&a, al);
    gl = sizeof(got);
    CHECK("recvfrom_sender_name", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&got, &gl) == 2 && gl == bl &&
                                      memcmp(&got, &b, bl) == 0);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("autobind", bind(u, (struct sockaddr *)&got, offsetof(struct sockaddr_un, sun_path)) == 0);
    gl = sizeof(got);
    CHECK("autobind_name", getsockname(u, (struct sockaddr *)&got, &gl) == 0 && gl == 8 && got.sun_path[0] == 0);
    connect(t, (struct sockaddr *)&a, al);
    EXPECT_ERR("connected_elsewhere_eperm", sendto(u, "x", 1, 0, (struct sockaddr *)&b, bl), EPERM);
    struct sockaddr_un missing;
    socklen_t ml = abstract_addr(&missing, "d2u-unix-test-none");
    EXPECT_ERR("sendto_missing_abstract", sendto(u, "x", 1, 0, (struct sockaddr *)&missing, ml), ECONNREFUSED);
    close(u);
    close(t);
    close(s);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("abstract_free_after_close", bind(s, (struct sockaddr *)&a, al) == 0);
    close(s);
}

static int send_fds(int s, const int *fds, int n, const char *data)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iv = {(void *)data, strlen(data)};
    struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return (int)sendmsg(s, &m, 0);
}

static int recv_fds(int s, int *fds, int max, size_t room, int flags, int *mflags)
{
    char cbuf[256];
    char data[16];
    struct iovec iv = {data, sizeof(data)};
    struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = room};
    if (recvmsg(s, &m, flags) < 0)
        return -1;
    *mflags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && n < max; i++)
                memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    return n;
}

static void test_scm(void)
{
    int sv[2], p[2], got[4], mf = 0;
    char buf[32];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    char fpath[96];
    snprintf(fpath, sizeof(fpath), "%s/passed.txt", dir);
    int f = open(fpath, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "file-data", 9);
    lseek(f, 0, SEEK_SET);
    int pass[2] = {p[0], f};
    CHECK("scm_rights_send", send_fds(sv[0], pass, 2, "fds") == 3);
    close(p[0]);
    close(f);
    write(p[1], "through-pipe", 12);
    int n = recv_fds(sv[1], got, 4, sizeof(buf) + 64, MSG_CMSG_CLOEXEC, &mf);
    CHECK("scm_rights_recv_two", n == 2 && !(mf & MSG_CTRUNC));
    CHECK("scm_cmsg_cloexec", n == 2 && (fcntl(got[0], F_GETFD) & FD_CLOEXEC) && (fcntl(got[1], F_GETFD) & FD_CLOEXEC));
    CHECK("read_passed_pipe", n == 2 && read(got[0], buf, sizeof(buf)) == 12 && memcmp(buf, "through-pipe", 12) == 0);
    CHECK("read_passed_file", n == 2 && read(got[1], buf, sizeof(buf)) == 9 && memcmp(buf, "file-data", 9) == 0);
    if (n == 2) {
        close(got[0]);
        close(got[1]);
    }
    /* Room for one fd only: the second is closed and MSG_CTRUNC set. */
    pass[0] = p[1];
    pass[1] = sv[0];
    send_fds(sv[0], pass, 2, "x");
    n = recv_fds(sv[1], got, 4, CMSG_LEN(sizeof(int)), 0, &mf);
    CHECK("scm_ctrunc", n == 1 && (mf & MSG_CTRUNC) && !(fcntl(got[0], F_GETFD) & FD_CLOEXEC));
    /* A chain of 300 socket pairs, each in flight inside the next: closing the last
     * frees them all (the kernel must not recurse once per level). */
    int prev[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, prev);
    int chain_ok = 1;
    for (int i = 0; i < 300 && chain_ok; i++) {
        int nx[2];
        chain_ok = socketpair(AF_UNIX, SOCK_STREAM, 0, nx) == 0 && send_fds(nx[0], prev, 2, "c") == 1;
        close(prev[0]);
        close(prev[1]);
        prev[0] = nx[0];
        prev[1] = nx[1];
    }
    close(prev[0]);
    close(prev[1]);
    int probe[2];
    CHECK("nested_chain_of_300_freed", chain_ok && socketpair(AF_UNIX, SOCK_STREAM, 0, probe) == 0);
    close(probe[0]);
    close(probe[1]);
    struct stat pst;
    CHECK("passed_write_end_is_fifo", n == 1 && fstat(got[0], &pst) == 0 && S_ISFIFO(pst.st_mode) && close(got[0]) == 0);
    send_fds(sv[0], pass, 1, "y");
    struct iovec iv = {buf, sizeof(buf)};
    struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1};
    CHECK("scm_no_control_ctrunc", recvmsg(sv[1], &m, 0) == 1 && (m.msg_flags & MSG_CTRUNC));
    int bad = 999;
    EXPECT_ERR("scm_rights_ebadf", send_fds(sv[0], &bad, 1, "b"), EBADF);
    char cb[CMSG_SPACE(4)];
    struct msghdr bm = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof(cb)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&bm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 77;
    c->cmsg_len = CMSG_LEN(4);
    EXPECT_ERR("scm_unknown_type", sendmsg(sv[0], &bm, 0), EINVAL);
    c->cmsg_len = 200;
    EXPECT_ERR("scm_len_past_buffer", sendmsg(sv[0], &bm, 0), EINVAL);
    close(sv[0]);
    close(sv[1]);
    close(p[1]);
    unlink(fpath);

    /* SCM_CREDENTIALS with SO_PASSCRED on a datagram pair. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
    CHECK("so_passcred", sockopt_int(sv[1], SO_PASSCRED) == 1);
    send(sv[0], "c", 1, 0);
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr cm = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct ucred cr = {0};
    int okc = recvmsg(sv[1], &cm, 0) == 1;
    struct cmsghdr *cc = CMSG_FIRSTHDR(&cm);
    if (okc && cc && cc->cmsg_type == SCM_CREDENTIALS)
        memcpy(&cr, CMSG_DATA(cc), sizeof(cr));
    CHECK("scm_credentials", okc && cc && cc->cmsg_level == SOL_SOCKET && cc->cmsg_type == SCM_CREDENTIALS &&
                                 cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid());
    socklen_t cl = sizeof(cr);
    CHECK("so_peercred_pair", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == getpid());
    close(sv[0]);
    close(sv[1]);
}

struct writer {
    int fd;
    long written;
};

static void *writer_thread(void *arg)
{
    struct writer *w = arg;
    static char chunk[65536];
    for (int i = 0; i < 16; i++) {
        ssize_t r = write(w->fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        w->written += r;
    }
    close(w->fd);
    return NULL;
}

static void test_blocking_and_sendfile(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int nb = 1;
    ioctl(sv[0], FIONBIO, &nb);
    static char big[65536];
    long fill = 0;
    ssize_t r;
    while ((r = write(sv[0], big, sizeof(big))) > 0)
        fill += r;
    CHECK("sndbuf_bounded", r < 0 && errno == EAGAIN && fill > 0 && fill <= 2 * 212992);
    CHECK("poll_not_writable_when_full", !(revents(sv[0], POLLOUT) & POLLOUT));
    char buf[4096];
    long drained = 0;
    while ((r = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        drained += r;
    CHECK("drained_all", drained == fill);
    nb = 0;
    ioctl(sv[0], FIONBIO, &nb);
    struct writer w = {sv[0], 0};
    pthread_t t;
    pthread_create(&t, NULL, writer_thread, &w);
    long total = 0;
    while ((r = read(sv[1], buf, sizeof(buf))) > 0)
        total += r;
    pthread_join(t, NULL);
    CHECK("blocking_writer_1mib", total == 16 * 65536 && w.written == total);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char fpath[96];
    snprintf(fpath, sizeof(fpath), "%s/sendfile.txt", dir);
    int f = open(fpath, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "0123456789", 10);
    off_t off = 2;
    CHECK("sendfile_to_socket", sendfile(sv[0], f, &off, 5) == 5 && off == 7 &&
                                    read(sv[1], buf, sizeof(buf)) == 5 && memcmp(buf, "23456", 5) == 0);
    write(sv[0], "abc", 3);
    EXPECT_ERR("sendfile_from_socket_einval", sendfile(f, sv[1], NULL, 3), EINVAL);
    close(f);
    unlink(fpath);
    close(sv[0]);
    close(sv[1]);
}

static void on_usr1(int sig) {}

struct kicker {
    pthread_t target;
    int delay_ms;
};

static void *kick_thread(void *arg)
{
    struct kicker *k = arg;
    struct timespec ts = {0, k->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

/* A signal ends a blocking socket call: EINTR without SA_RESTART; with SA_RESTART the
 * call restarts, unless the socket has a timeout (Linux's sock_intr_errno). */
static int interrupted_recv(int restart, int timeout, int *sv)
{
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
    sigaction(SIGUSR1, &sa, NULL);
    if (timeout) {
        struct timeval tv = {2, 0};
        setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    struct kicker k = {pthread_self(), 50};
    pthread_t t;
    pthread_create(&t, NULL, kick_thread, &k);
    char c;
    errno = 0;
    int r;
    if (restart && !timeout) {
        /* Restarted: a second kick writes the byte that ends it. */
        pthread_join(t, NULL);
        r = (int)recv(sv[0], &c, 1, MSG_DONTWAIT); /* nothing yet */
        k.delay_ms = 0;
        pthread_create(&t, NULL, kick_thread, &k);
        write(sv[1], "r", 1);
        r = (int)recv(sv[0], &c, 1, 0);
        pthread_join(t, NULL);
        return r == 1 ? 0 : -1;
    }
    r = (int)recv(sv[0], &c, 1, 0);
    int e = errno;
    pthread_join(t, NULL);
    return r < 0 ? e : 0;
}

static void test_signals_and_backlog(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK("recv_eintr_without_restart", interrupted_recv(0, 0, sv) == EINTR);
    CHECK("recv_restart_with_sa_restart", interrupted_recv(1, 0, sv) == 0);
    CHECK("recv_eintr_with_timeout_and_restart", interrupted_recv(1, 1, sv) == EINTR);
    signal(SIGUSR1, SIG_DFL);
    close(sv[0]);
    close(sv[1]);
    /* A listener with backlog 2 holds 3 connections; the next is refused for now. */
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "d2u-unix-test-backlog");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 2);
    int c[8], n = 0;
    for (; n < 8; n++) {
        c[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(c[n], (struct sockaddr *)&a, al) < 0)
            break;
    }
    CHECK("backlog_full_eagain", n == 3 && errno == EAGAIN);
    int acc = accept(l, NULL, NULL);
    CHECK("backlog_room_after_accept", acc >= 0 && connect(c[n], (struct sockaddr *)&a, al) == 0);
    close(acc);
    close(l);
    char ch;
    CHECK("accepted_then_closed_eof", recv(c[0], &ch, 1, 0) == 0);
    /* No fd left: accept is EMFILE before it takes the connection. */
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    al = abstract_addr(&a, "d2u-unix-test-emfile");
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 1);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(cl, (struct sockaddr *)&a, al);
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    int lowest = dup(0);
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    setrlimit(RLIMIT_NOFILE, &low);
    errno = 0;
    int r1 = accept(l, NULL, NULL);
    int e1 = errno;
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK("accept_emfile_first", r1 < 0 && e1 == EMFILE);
    acc = accept(l, NULL, NULL);
    CHECK("accept_after_emfile_keeps_connection", acc >= 0 && write(cl, "k", 1) == 1 && read(acc, &ch, 1) == 1);
    close(acc);
    close(cl);
    close(l);
    EXPECT_ERR("unaccepted_reset_on_close", recv(c[1], &ch, 1, 0), ECONNRESET);
    for (int i = 0; i <= n && i < 8; i++)
        close(c[i]);
}

/* AF_NETLINK NETLINK_ROUTE as glibc and musl use it: the loopback interface is there. */
static void test_netlink(void)
{
    int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    socklen_t sl = sizeof(sa);
    CHECK("netlink_socket", n >= 0);
    CHECK("netlink_unbound_port_zero", getsockname(n, (struct sockaddr *)&sa, &sl) == 0 && sl == sizeof(sa) && sa.nl_pid == 0);
    sa = (struct sockaddr_nl){.nl_family = AF_NETLINK};
    CHECK("netlink_bind_auto", bind(n, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    sl = sizeof(sa);
    CHECK("netlink_port_is_pid", getsockname(n, (struct sockaddr *)&sa, &sl) == 0 && sa.nl_pid == (unsigned)getpid());
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {{sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 42, 0}, {.ifi_family = AF_UNSPEC}};
    CHECK("netlink_send_dump", send(n, &req, sizeof(req), 0) == (ssize_t)sizeof(req));
    static char buf[16384];
    int saw_lo = 0, done = 0;
    for (int k = 0; k < 16 && !done; k++) {
        ssize_t r = recv(n, buf, sizeof(buf), 0);
        if (r <= 0)
            break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_seq != 42)
                continue;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int alen = (int)IFLA_PAYLOAD(h);
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), "lo") == 0)
                    saw_lo = ifi->ifi_index == 1 && (ifi->ifi_flags & IFF_LOOPBACK);
        }
    }
    CHECK("netlink_getlink_dump_lo", saw_lo && done);
    EXPECT_ERR("netlink_dump_read", recv(n, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    close(n);
    EXPECT_ERR("netlink_protocol", socket(AF_NETLINK, SOCK_RAW, 31), EPROTONOSUPPORT);
    EXPECT_ERR("netlink_stream", socket(AF_NETLINK, SOCK_STREAM, 0), ESOCKTNOSUPPORT);
    struct ifaddrs *ifa = NULL;
    int v4 = 0, v6 = 0;
    CHECK("getifaddrs", getifaddrs(&ifa) == 0);
    for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr || strcmp(p->ifa_name, "lo") != 0)
            continue;
        if (p->ifa_addr->sa_family == AF_INET)
            v4 = ((struct sockaddr_in *)p->ifa_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
                 ((struct sockaddr_in *)p->ifa_netmask)->sin_addr.s_addr == htonl(0xff000000);
        if (p->ifa_addr->sa_family == AF_INET6)
            v6 = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr);
    }
    CHECK("getifaddrs_lo_ipv4", v4);
    CHECK("getifaddrs_lo_ipv6", v6);
    freeifaddrs(ifa);
    CHECK("if_nametoindex_lo", if_nametoindex("lo") == 1);
    char name[IF_NAMESIZE];
    CHECK("if_indextoname_1", if_indextoname(1, name) && strcmp(name, "lo") == 0);
}

int main(void)
{
    guest_begin();
    mkdir("/tmp", 01777);
    snprintf(dir, sizeof(dir), "/tmp/d2u-unix-%d", (int)getpid());
    mkdir(dir, 0755);
    test_generic_errors();
    test_options();
    test_stream_pair();
    test_dgram_seqpacket();
    test_path_server();
    test_abstract_dgram();
    test_scm();
    test_blocking_and_sendfile();
    test_signals_and_backlog();
    test_netlink();
    rmdir(dir);
    return guest_finish();
}
