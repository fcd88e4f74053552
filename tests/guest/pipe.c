/* pipe.c: guest tests of pipes within one process: data, EOF, EPIPE/SIGPIPE, blocking between threads, atomicity, readiness, flags. */
#include "guest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <time.h>

#define CAP 65536

static volatile int sigpipe_count, sigpipe_code = -1, sigpipe_pid;

static void on_sigpipe(int sig, siginfo_t *si, void *uc)
{
    sigpipe_count++;
    sigpipe_code = si->si_code;
    sigpipe_pid = si->si_pid;
}

static void on_usr1(int sig) {}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

static void test_basic(void)
{
    int p[2];
    char buf[16] = {0};
    CHECK("pipe", pipe(p) == 0 && p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
    CHECK("write", write(p[1], "hello", 5) == 5);
    CHECK("read_round_trip", read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("write_zero", write(p[1], buf, 0) == 0);
    CHECK("write_two", write(p[1], "ab", 2) == 2 && write(p[1], "cd", 2) == 2);
    CHECK("read_short_then_rest", read(p[0], buf, 3) == 3 && read(p[0], buf + 3, 10) == 1 &&
                                      memcmp(buf, "abcd", 4) == 0);
    EXPECT_ERR("read_write_end", read(p[1], buf, 1), EBADF);
    EXPECT_ERR("write_read_end", write(p[0], "x", 1), EBADF);
    write(p[1], "xyz", 3);
    close(p[1]);
    CHECK("read_after_writer_closed", read(p[0], buf, 10) == 3);
    CHECK("eof", read(p[0], buf, 10) == 0);
    close(p[0]);
}

static void test_epipe(void)
{
    int p[2];
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_sigpipe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGPIPE, &sa, &old);
    pipe(p);
    close(p[0]);
    EXPECT_ERR("epipe", write(p[1], "x", 1), EPIPE);
    CHECK("sigpipe_delivered", sigpipe_count == 1);
    CHECK("sigpipe_si_user", sigpipe_code == SI_USER && sigpipe_pid == getpid());
    struct pollfd pf = {p[1], POLLOUT, 0};
    CHECK("poll_pollerr_no_reader", poll(&pf, 1, 0) == 1 && pf.revents == (POLLOUT | POLLERR));
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERR("epipe_sigpipe_ignored", write(p[1], "x", 1), EPIPE);
    CHECK("sigpipe_ignored_not_counted", sigpipe_count == 1);
    sigaction(SIGPIPE, &old, NULL);
    close(p[1]);
}

static void test_nonblock(void)
{
    int p[2];
    char buf[4096];
    memset(buf, 'n', sizeof(buf));
    CHECK("pipe2_nonblock", pipe2(p, O_NONBLOCK) == 0);
    EXPECT_ERR("read_empty_eagain", read(p[0], buf, 1), EAGAIN);
    long total = 0, r;
    while ((r = write(p[1], buf, sizeof(buf))) > 0)
        total += r;
    CHECK("fill_capacity_64k", r == -1 && errno == EAGAIN && total == CAP);
    EXPECT_ERR("write_full_eagain", write(p[1], buf, 1), EAGAIN);
    int n = -1;
    CHECK("fionread_full", ioctl(p[0], FIONREAD, &n) == 0 && n == CAP);
    CHECK("read_one", read(p[0], buf, 1) == 1);
    /* A PIPE_BUF write is all or nothing: 65535 bytes in, 1 free, it cannot go in. */
    EXPECT_ERR("atomic_write_no_room_eagain", write(p[1], buf, 4096), EAGAIN);
    CHECK("drain_page", read(p[0], buf, 4095) == 4095);
    CHECK("write_page_after_drain", write(p[1], buf, 4096) == 4096);
    close_pair(p);
}

static void test_flags(void)
{
    int p[2];
    CHECK("pipe2_cloexec", pipe2(p, O_CLOEXEC) == 0);
    CHECK("cloexec_both", fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK("getfl_modes", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY &&
                             (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK("getfl_blocking", !(fcntl(p[0], F_GETFL) & O_NONBLOCK) && !(fcntl(p[1], F_GETFL) & O_NONBLOCK));
    close_pair(p);
    CHECK("pipe_no_cloexec", pipe(p) == 0 && fcntl(p[0], F_GETFD) == 0 && fcntl(p[1], F_GETFD) == 0);
    close_pair(p);
    CHECK("pipe2_both", pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0 && (fcntl(p[0], F_GETFL) & O_NONBLOCK) &&
                            (fcntl(p[1], F_GETFL) & O_NONBLOCK) && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    close_pair(p);
    EXPECT_ERR("pipe2_bad_flags", pipe2(p, O_APPEND), EINVAL);
    int probe = dup(0);
    close(probe);
    EXPECT_ERR("pipe_efault", syscall(SYS_pipe, (void *)8), EFAULT);
    EXPECT_ERR("pipe2_efault", syscall(SYS_pipe2, (void *)8, 0), EFAULT);
    int after = dup(0);
    close(after);
    CHECK("efault_leaks_no_fd", after == probe);
    /* setting O_NONBLOCK later with F_SETFL works as at creation */
    pipe(p);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char c;
    EXPECT_ERR("setfl_nonblock_eagain", read(p[0], &c, 1), EAGAIN);
    close_pair(p);
}

/* O_DIRECT: packet mode (Linux 3.4): each write a packet, each read one packet. */
static void test_packets(void)
{
    int p[2];
    char buf[8192];
    CHECK("pipe2_o_direct", pipe2(p, O_DIRECT | O_NONBLOCK) == 0 && (fcntl(p[1], F_GETFL) & O_DIRECT));
    write(p[1], "abc", 3);
    write(p[1], "defg", 4);
    CHECK("packet_read_one", read(p[0], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK("packet_short_read_drops_rest", read(p[0], buf, 2) == 2 && memcmp(buf, "de", 2) == 0);
    EXPECT_ERR("packet_rest_gone", read(p[0], buf, 1), EAGAIN);
    int n = 0;
    while (write(p[1], "x", 1) == 1 && n < 100)
        n++;
    CHECK("packets_fill_16_slots", n == 16 && errno == EAGAIN);
    for (int i = 0; i < 16; i++)
        read(p[0], buf, sizeof(buf));
    memset(buf, 'y', sizeof(buf));
    CHECK("long_write_splits_into_pages", write(p[1], buf, 5000) == 5000 && read(p[0], buf, sizeof(buf)) == 4096 &&
                                              read(p[0], buf, sizeof(buf)) == 904);
    fcntl(p[1], F_SETFL, O_NONBLOCK); /* back to a byte stream */
    write(p[1], "ab", 2);
    write(p[1], "cd", 2);
    CHECK("setfl_clears_packet_mode", read(p[0], buf, sizeof(buf)) == 4 && memcmp(buf, "abcd", 4) == 0);
    close_pair(p);
}

static void test_stat_seek_size(void)
{
    int p[2];
    struct stat st;
    pipe(p);
    CHECK("fstat", fstat(p[0], &st) == 0);
    CHECK("fstat_fifo", S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0600);
    CHECK("fstat_blksize", st.st_blksize == 4096 && st.st_nlink == 1 && st.st_size == 0);
    struct stat st1;
    CHECK("fstat_same_inode_both_ends", fstat(p[1], &st1) == 0 && st1.st_ino == st.st_ino && st1.st_dev == st.st_dev);
    EXPECT_ERR("lseek_espipe_read_end", lseek(p[0], 0, SEEK_CUR), ESPIPE);
    EXPECT_ERR("lseek_espipe_write_end", lseek(p[1], 0, SEEK_SET), ESPIPE);
    char buf[8];
    EXPECT_ERR("pread_espipe", pread(p[0], buf, 1, 0), ESPIPE);
    EXPECT_ERR("pwrite_espipe", pwrite(p[1], buf, 1, 0), ESPIPE);
    CHECK("getpipe_sz", fcntl(p[0], F_GETPIPE_SZ) == CAP && fcntl(p[1], F_GETPIPE_SZ) == CAP);
    CHECK("setpipe_sz_rounds_up", fcntl(p[1], F_SETPIPE_SZ, 100000) == 131072 &&
                                      fcntl(p[0], F_GETPIPE_SZ) == 131072);
    CHECK("setpipe_sz_min_page", fcntl(p[1], F_SETPIPE_SZ, 1) == 4096);
    CHECK("setpipe_sz_back", fcntl(p[1], F_SETPIPE_SZ, CAP) == CAP);
    static char big[8192];
    write(p[1], big, sizeof(big));
    EXPECT_ERR("setpipe_sz_busy", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    int n = 0;
    CHECK("fionread", ioctl(p[0], FIONREAD, &n) == 0 && n == 8192);
    EXPECT_ERR("getpipe_sz_not_pipe", fcntl(0, F_GETPIPE_SZ), EBADF);
    int exe = open("/proc/self/exe", O_RDONLY);
    char head[4];
    CHECK("sendfile_into_pipe", sendfile(p[1], exe, NULL, 4) == 4 && read(p[0], big, 8192) == 8192 &&
                                    read(p[0], head, 4) == 4 && memcmp(head, "\x7f" "ELF", 4) == 0);
    close(exe);
    write(p[1], big, sizeof(big));
    EXPECT_ERR("read_efault", syscall(SYS_read, p[0], (void *)8, 16), EFAULT);
    CHECK("read_efault_keeps_data", ioctl(p[0], FIONREAD, &n) == 0 && n == 8192);
    close_pair(p);
}

static void test_readiness(void)
{
    int p[2];
    char buf[4096] = {0};
    pipe(p);
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    CHECK("poll_empty", poll(pf, 2, 0) == 1 && pf[0].revents == 0 && pf[1].revents == POLLOUT);
    write(p[1], "x", 1);
    CHECK("poll_pollin", poll(pf, 2, 0) == 2 && pf[0].revents == POLLIN);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    CHECK("select_both_ready", select(p[1] + 1, &rd, &wr, NULL, &tv) == 2);
    read(p[0], buf, 1);
    for (int i = 0; i < CAP / 4096; i++)
        write(p[1], buf, sizeof(buf));
    FD_ZERO(&wr);
    FD_SET(p[1], &wr);
    tv = (struct timeval){0, 0};
    CHECK("select_full_not_writable", select(p[1] + 1, NULL, &wr, NULL, &tv) == 0);
    close(p[1]);
    pf[0].revents = 0;
    CHECK("poll_pollin_pollhup", poll(pf, 1, 0) == 1 && pf[0].revents == (POLLIN | POLLHUP));
    while (read(p[0], buf, sizeof(buf)) > 0)
        ;
    CHECK("poll_pollhup_drained", poll(pf, 1, 0) == 1 && pf[0].revents == POLLHUP);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv = (struct timeval){0, 0};
    CHECK("select_hup_readable", select(p[0] + 1, &rd, NULL, NULL, &tv) == 1);
    close(p[0]);
}

static int tp[2];

static void *late_writer(void *arg)
{
    sleep_ms(50);
    write(tp[1], "wake", 4);
    return NULL;
}

static void *late_reader(void *arg)
{
    static char buf[8192];
    sleep_ms(50);
    return (void *)(long)read(tp[0], buf, sizeof(buf));
}

static void *late_closer(void *arg)
{
    sleep_ms(50);
    close(tp[1]);
    return NULL;
}

static volatile int read_done;

/* Signals until the read has returned: one that lands before the read blocks only
 * runs the handler, and the next one interrupts the read. */
static void *late_signal(void *arg)
{
    while (!read_done) {
        sleep_ms(50);
        pthread_kill(*(pthread_t *)arg, SIGUSR1);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t;
    char buf[16] = {0};
    pipe(tp);
    pthread_create(&t, NULL, late_writer, NULL);
    CHECK("blocking_read_woken", read(tp[0], buf, sizeof(buf)) == 4 && memcmp(buf, "wake", 4) == 0);
    pthread_join(t, NULL);

    pthread_create(&t, NULL, late_writer, NULL);
    struct pollfd pf = {tp[0], POLLIN, 0};
    CHECK("poll_woken_by_writer", poll(&pf, 1, 5000) == 1 && pf.revents == POLLIN);
    pthread_join(t, NULL);
    read(tp[0], buf, sizeof(buf));

    static char page[4096];
    for (int i = 0; i < CAP / 4096; i++)
        write(tp[1], page, sizeof(page));
    void *got;
    pthread_create(&t, NULL, late_reader, NULL);
    CHECK("blocking_write_woken", write(tp[1], page, sizeof(page)) == 4096);
    pthread_join(t, &got);
    CHECK("reader_took_8k", (long)got == 8192);
    int n = 0;
    CHECK("fionread_after", ioctl(tp[0], FIONREAD, &n) == 0 && n == CAP - 4096);
    close(tp[0]);
    close(tp[1]);

    pipe(tp);
    pthread_create(&t, NULL, late_closer, NULL);
    CHECK("blocking_read_eof_on_close", read(tp[0], buf, sizeof(buf)) == 0);
    pthread_join(t, NULL);
    close(tp[0]);

    pipe(tp);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1; /* no SA_RESTART: the read ends with EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t self = pthread_self();
    pthread_create(&t, NULL, late_signal, &self);
    EXPECT_ERR("blocking_read_eintr", read(tp[0], buf, sizeof(buf)), EINTR);
    read_done = 1;
    pthread_join(t, NULL);
    close_pair(tp);
}

#define BLOCKS 64
static int ap[2];

static void *block_writer(void *arg)
{
    static char blocks[2][4096];
    char *b = blocks[(long)arg];
    memset(b, (long)arg ? 'B' : 'A', 4096);
    for (int i = 0; i < BLOCKS; i++)
        if (write(ap[1], b, 4096) != 4096)
            return (void *)1;
    return NULL;
}

static void test_atomic(void)
{
    static char all[2 * BLOCKS * 4096];
    pthread_t t[2];
    pipe(ap);
    pthread_create(&t[0], NULL, block_writer, (void *)0);
    pthread_create(&t[1], NULL, block_writer, (void *)1);
    size_t got = 0;
    while (got < sizeof(all)) {
        ssize_t r = read(ap[0], all + got, sizeof(all) - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    void *r0, *r1;
    pthread_join(t[0], &r0);
    pthread_join(t[1], &r1);
    int ok = got == sizeof(all) && !r0 && !r1, as = 0;
    for (size_t blk = 0; ok && blk < 2 * BLOCKS; blk++) {
        char c = all[blk * 4096];
        as += c == 'A';
        for (size_t i = 1; i < 4096; i++)
            ok &= all[blk * 4096 + i] == c;
    }
    CHECK("atomic_4096_writes_interleave_at_boundaries", ok && as == BLOCKS);
    close_pair(ap);
}

static void test_vectors(void)
{
    static char fill[CAP];
    int p[2];
    char a[8] = {0}, b[8] = {0};
    pipe(p);
    write(p[1], "abcd", 4);
    struct iovec rv[2] = {{a, 4}, {b, 4}};
    /* the first segment takes everything: readv must not wait for the second */
    CHECK("readv_returns_what_is_there", readv(p[0], rv, 2) == 4 && memcmp(a, "abcd", 4) == 0);
    write(p[1], "efghij", 6);
    CHECK("readv_spans_segments", readv(p[0], rv, 2) == 6 && memcmp(a, "efgh", 4) == 0 && memcmp(b, "ij", 2) == 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    CHECK("fill_to_100_free", write(p[1], fill, CAP - 100) == CAP - 100);
    struct iovec wv[2] = {{fill, 60}, {fill, 60}};
    EXPECT_ERR("writev_atomic_no_room_eagain", writev(p[1], wv, 2), EAGAIN);
    int n = 0;
    CHECK("writev_atomic_wrote_nothing", ioctl(p[0], FIONREAD, &n) == 0 && n == CAP - 100);
    wv[0].iov_len = wv[1].iov_len = 50;
    CHECK("writev_fits", writev(p[1], wv, 2) == 100);
    close_pair(p);
}

int main(void)
{
    guest_begin();
    test_basic();
    test_epipe();
    test_nonblock();
    test_flags();
    test_packets();
    test_stat_seek_size();
    test_readiness();
    test_threads();
    test_atomic();
    test_vectors();
    return guest_finish();
}
