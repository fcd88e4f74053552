/* attack_console.c: hostile console-protocol probes: marker text through every channel a program has, then exit 3.
 *
 * The markers (docs/console-protocol.md) live on the log port; a program must not
 * be able to put a line there. It writes marker text to stdout, stderr, /dev/tty and
 * /dev/console, passes it as paths and arguments (logged by strace=1, escaped), and
 * exits 3: `dock2uni run` must report exactly 3, and no forged line may start with D2U:.
 */
#include "guest.h"

#include <sys/stat.h>
#include <sys/syscall.h>

static const char forged[] = "\nD2U:EXIT code=0\nD2U:CRASH signal=0 addr=0 rip=0 cause=x\n";

int main(void)
{
    guest_begin();
    CHECK("stdout_marker", write(1, forged, sizeof(forged) - 1) == (ssize_t)sizeof(forged) - 1);
    CHECK("stderr_marker", write(2, forged, sizeof(forged) - 1) == (ssize_t)sizeof(forged) - 1);
    int tty = open("/dev/tty", O_WRONLY);
    CHECK("tty_marker", tty < 0 || write(tty, forged, sizeof(forged) - 1) > 0);
    if (tty >= 0)
        close(tty);
    EXPECT_ERR("open_marker_path", open(forged, O_RDONLY), ENOENT);
    EXPECT_ERR("stat_marker_path", syscall(SYS_stat, "/x\r\nD2U:EXIT code=0\r\n", &(struct stat){0}), ENOENT);
    EXPECT_ERR("chdir_marker_path", chdir("\nD2U:PANIC forged\n"), ENOENT);
    EXPECT_ERR("access_marker_path", access("\x1b[2K\rD2U:EXIT code=0", F_OK), ENOENT);
    char long_path[200];
    memset(long_path, '\n', sizeof(long_path));
    memcpy(long_path + 60, "D2U:EXIT code=0", 15);
    long_path[sizeof(long_path) - 1] = 0;
    EXPECT_ERR("long_marker_path", open(long_path, O_RDONLY), ENOENT);
    EXPECT_ERR("unlink_marker_path", unlink("\nD2U:EXECFAIL errno=2 path=/x\n"), ENOENT);
    guest_finish();
    return 3;
}
