/* netfill.c: fills the network stack's memory: loopback TCP connections written to until EAGAIN, none read.
 *
 * Natively the kernel's socket buffers bound each connection; in the unikernel lwIP's
 * memory budget (an eighth of RAM) runs out first, which must show as one log line,
 * never as a crash or a hang. Prints how many connections it filled and exits 0.
 * Not a guest family: its output (the count) differs between the two on purpose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNS 48

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, CONNS) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) != 0) {
        perror("listen");
        return 1;
    }
    static char chunk[16384];
    memset(chunk, 'x', sizeof(chunk));
    int filled = 0;
    long total = 0;
    for (int i = 0; i < CONNS; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c < 0)
            break;
        if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
            close(c);
            break; /* no memory for another connection: full enough */
        }
        /* A connection the stack has no memory to complete never arrives: wait 2 s. */
        struct pollfd pl = {l, POLLIN, 0};
        int s = poll(&pl, 1, 2000) == 1 ? accept(l, NULL, NULL) : -1; /* accepted, never read */
        if (s < 0) {
            close(c);
            break;
        }
        /* Write until the stack says stop; a few EAGAINs in a row mean full. */
        for (int again = 0; again < 3;) {
            ssize_t n = send(c, chunk, sizeof(chunk), MSG_NOSIGNAL);
            if (n > 0) {
                total += n;
                again = 0;
            } else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM)) {
                again++;
                usleep(2000);
            } else {
                break;
            }
        }
        filled++;
    }
    printf("filled %d connections, %ld KiB queued\n", filled, total >> 10);
    return filled > 0 ? 0 : 1;
}
