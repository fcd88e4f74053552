/* fifo.c: guest tests of FIFOs (mkfifo/mknod): Linux's open rules, one pipe shared by every opener, EOF, ENXIO, poll and epoll. */
#include "guest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>

static char dir[64], path[96];

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_alarm(int sig) {}

static void test_make(void)
{
    struct stat st;
    CHECK("mkfifo", mkfifo(path, 0640) == 0);
    CHECK("stat_is_fifo", stat(path, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == (0640 & ~022) &&
                              st.st_size == 0 && st.st_nlink == 1);
    EXPECT_ERR("mkfifo_exists", mkfifo(path, 0600), EEXIST);
    char p2[128];
    snprintf(p2, sizeof(p2), "%s/nod", dir);
    CHECK("mknod_fifo", mknod(p2, S_IFIFO | 0600, 0) == 0 && stat(p2, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(p2);
    CHECK("mknod_regular", mknod(p2, 0600, 0) == 0 && stat(p2, &st) == 0 && S_ISREG(st.st_mode));
    unlink(p2);
    EXPECT_ERR("mknod_dir_eperm", mknod(p2, S_IFDIR | 0700, 0), EPERM);
    EXPECT_ERR("mknod_bad_type", mknod(p2, 0170000 | 0600, 0), EINVAL);
    EXPECT_ERR("mkfifo_missing_dir", mkfifo("/nonexistent-dir/f", 0600), ENOENT);
}

static void test_nonblock_rules(void)
{
    EXPECT_ERR("wronly_nonblock_no_reader_enxio", open(path, O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    CHECK("rdonly_nonblock_opens", r >= 0);
    char c;
    CHECK("read_no_writer_ever_eof", read(r, &c, 1) == 0);
    struct pollfd pf = {r, POLLIN, 0};
    CHECK("poll_no_writer_yet_no_hup", poll(&pf, 1, 0) == 0);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    CHECK("wronly_nonblock_with_reader", w >= 0);
    EXPECT_ERR("read_empty_with_writer_eagain", read(r, &c, 1), EAGAIN);
    CHECK("write_read_through_fifo", write(w, "fifo", 4) == 4);
    char buf[8] = {0};
    CHECK("read_back", read(r, buf, sizeof(buf)) == 4 && memcmp(buf, "fifo", 4) == 0);
    struct stat a, b;
    CHECK("fstat_fifo_both_ends", fstat(r, &a) == 0 && fstat(w, &b) == 0 && S_ISFIFO(a.st_mode) &&
                                      a.st_ino == b.st_ino);
    close(w);
    pf.revents = 0;
    CHECK("poll_hup_after_writer_left", poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP));
    CHECK("eof_after_writer_left", read(r, &c, 1) == 0);
    CHECK("getpipe_sz", fcntl(r, F_GETPIPE_SZ) == 65536);
    close(r);
}

static void test_rdwr(void)
{
    int fd = open(path, O_RDWR);
    CHECK("rdwr_never_blocks", fd >= 0);
    CHECK("rdwr_write", write(fd, "xy", 2) == 2);
    char buf[4];
    CHECK("rdwr_read", read(fd, buf, sizeof(buf)) == 2 && memcmp(buf, "xy", 2) == 0);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    CHECK("rdwr_counts_as_reader", w >= 0);
    close(w);
    close(fd);
}

static void *open_writer(void *arg)
{
    sleep_ms(50);
    int w = open(path, O_WRONLY);
    if (w >= 0) {
        write(w, "late", 4);
        close(w);
    }
    return NULL;
}

static void *open_reader(void *arg)
{
    sleep_ms(50);
    int r = open(path, O_RDONLY);
    char buf[16] = {0};
    long n = r >= 0 ? read(r, buf, sizeof(buf)) : -1;
    if (r >= 0)
        close(r);
    return (void *)n;
}

static void test_blocking_opens(void)
{
    pthread_t th;
    pthread_create(&th, NULL, open_writer, NULL);
    int r = open(path, O_RDONLY); /* waits for the writer */
    CHECK("rdonly_blocks_until_writer", r >= 0);
    char buf[8] = {0};
    CHECK("data_from_late_writer", read(r, buf, 4) == 4 && memcmp(buf, "late", 4) == 0);
    pthread_join(th, NULL);
    CHECK("eof_when_writer_closed", read(r, buf, 1) == 0);
    close(r);

    pthread_create(&th, NULL, open_reader, NULL);
    int w = open(path, O_WRONLY); /* waits for the reader */
    CHECK("wronly_blocks_until_reader", w >= 0);
    CHECK("write_to_late_reader", write(w, "hello", 5) == 5);
    close(w);
    void *res;
    pthread_join(th, &res);
    CHECK("reader_thread_got_data", (long)res == 5);
}

static void test_open_interrupted(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; /* no SA_RESTART: the open ends with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR("blocked_open_eintr", open(path, O_RDONLY), EINTR);
    signal(SIGALRM, SIG_DFL);
    EXPECT_ERR("no_reader_left_after_eintr", open(path, O_WRONLY | O_NONBLOCK), ENXIO);
}

static void test_epipe(void)
{
    signal(SIGPIPE, SIG_IGN);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    close(r);
    EXPECT_ERR("write_after_reader_left_epipe", write(w, "x", 1), EPIPE);
    struct pollfd pf = {w, POLLOUT, 0};
    CHECK("poll_err_after_reader_left", poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR));
    close(w);
    signal(SIGPIPE, SIG_DFL);
}

static void test_readiness(void)
{
    int r = open(path, O_RDONLY | O_NONBLOCK);
    int w = open(path, O_WRONLY);
    struct pollfd pf[2] = {{r, POLLIN, 0}, {w, POLLOUT, 0}};
    CHECK("poll_writable_not_readable", poll(pf, 2, 0) == 1 && pf[0].revents == 0 && pf[1].revents == POLLOUT);
    write(w, "z", 1);
    CHECK("poll_readable", poll(pf, 1, 0) == 1 && pf[0].revents == POLLIN);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(r, &rs);
    struct timeval tv = {0, 0};
    CHECK("select_readable", select(r + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(r, &rs));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r}, out;
    CHECK("epoll_readable", epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev) == 0 && epoll_wait(ep, &out, 1, 0) == 1 &&
                                out.data.fd == r && out.events == EPOLLIN);
    char c;
    read(r, &c, 1);
    CHECK("epoll_drained", epoll_wait(ep, &out, 1, 0) == 0);
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    CHECK("writev", writev(w, iov, 2) == 4);
    char a[2], b[2];
    struct iovec riov[2] = {{a, 2}, {b, 2}};
    CHECK("readv", readv(r, riov, 2) == 4 && memcmp(a, "ab", 2) == 0 && memcmp(b, "cd", 2) == 0);
    close(ep);
    close(w);
    close(r);
}

/* Opening checks the mode bits as for files (root passes them: test as nobody). */
static void test_permission(void)
{
    char p2[128];
    snprintf(p2, sizeof(p2), "%s/private", dir);
    mkfifo(p2, 0600);
    chmod(dir, 0755);
    int root = geteuid() == 0;
    if (root)
        chmod(p2, 0644), seteuid(65534); /* nobody (still group 0) may read, not write */
    else
        chmod(p2, 0400);
    int r = open(p2, O_RDONLY | O_NONBLOCK);
    CHECK("open_allowed_by_mode", r >= 0);
    EXPECT_ERR("open_denied_by_mode", open(p2, O_WRONLY | O_NONBLOCK), EACCES);
    if (root)
        seteuid(0);
    close(r);
    chmod(dir, 0700);
    unlink(p2);
}

static void test_shared_and_fresh(void)
{
    int w = open(path, O_RDWR);
    write(w, "keep", 4);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    char buf[8] = {0};
    CHECK("second_opener_shares_pipe", read(r, buf, sizeof(buf)) == 4 && memcmp(buf, "keep", 4) == 0);
    write(w, "gone", 4);
    close(r);
    close(w);
    r = open(path, O_RDONLY | O_NONBLOCK);
    CHECK("data_dropped_after_last_close", read(r, buf, sizeof(buf)) == 0);
    close(r);
    CHECK("unlink_fifo", unlink(path) == 0);
    EXPECT_ERR("open_after_unlink", open(path, O_RDONLY | O_NONBLOCK), ENOENT);
}

int main(void)
{
    guest_begin();
    mkdir("/tmp", 01777);
    snprintf(dir, sizeof(dir), "/tmp/fifoXXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/f", dir);
    test_make();
    test_nonblock_rules();
    test_rdwr();
    test_blocking_opens();
    test_open_interrupted();
    test_epipe();
    test_permission();
    test_readiness();
    test_shared_and_fresh();
    rmdir(dir);
    return guest_finish();
}
