/* packed.c: a rootfs file stored compressed behaves as the raw file: read, mmap, exec, write, truncate.
 *
 * packed FILE OTHER: FILE is an executable that prints one line (hello), OTHER any file
 * of more than 100 KB. Booted, they are LZ4-packed rootfs files
 * (docs/rootfs-compression.md); natively, copies of them. The sizes and checksums
 * printed must equal the native run's. packed FILE eio BIG: FILE's compressed data
 * was damaged on purpose, every use of its bytes must fail with EIO; BIG's header
 * claims 1 GiB, more than the guest has, so using its bytes must fail with ENOMEM;
 * and the program (and the kernel) go on. packed FILE frag: FILE (several MiB) is
 * first used when no run of free memory is as long as it (see fragmented()).
 */
#include "guest.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static uint32_t fnv(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    while (n--)
        h = (h ^ *p++) * 16777619u;
    return h;
}

/* Read all of fd into buf (size bytes) in chunks of the given odd size, so reads cross
 * pages and compressed blocks: the bytes read. */
static size_t read_in_chunks(int fd, unsigned char *buf, size_t size, size_t chunk)
{
    size_t got = 0;
    while (fd >= 0 && got < size) {
        ssize_t n = read(fd, buf + got, chunk < size - got ? chunk : size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static int run(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        _exit(errno == EIO ? 71 : 72);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int too_big(const char *path)
{
    struct stat st;
    CHECK("stat shows the uncompressed size", stat(path, &st) == 0 && st.st_size == 1l << 30);
    int fd = open(path, O_RDONLY);
    char buf[64];
    EXPECT_ERR("read without memory to decode", read(fd, buf, sizeof(buf)), ENOMEM);
    errno = 0;
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap without memory to decode", m == MAP_FAILED && errno == ENOMEM);
    close(fd);
    return 0;
}

/* MemFree of /proc/meminfo in bytes, or 0. */
static size_t mem_free(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    size_t kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemFree: %zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

#define FRAG_MARGIN (2ul << 20)  /* left whole: far less than the file */
#define FRAG_MOST (256ul << 20)  /* natively, where MemFree is the host's */

/* Take all free memory but FRAG_MARGIN in pages of our own (next to each other in
 * physical memory too, as the guest hands out frames in order) and give every other one
 * back: half the memory is free again, yet no run of free frames is as long as FILE,
 * so the guest kernel must decode it a block at a time. Natively only the bytes count. */
static int fragmented(const char *path)
{
    struct stat st;
    CHECK("stat", stat(path, &st) == 0 && st.st_size > 4 * (1l << 20));
    size_t size = (size_t)st.st_size;
    printf("size %zu\n", size);
    unsigned char *want = malloc(size);
    CHECK("malloc", want != NULL);
    memset(want, 0, size); /* its pages now, before memory is cut up */

    size_t avail = mem_free();
    size_t take = avail > FRAG_MARGIN + size ? avail - FRAG_MARGIN : 0;
    take = (take < FRAG_MOST ? take : FRAG_MOST) & ~4095ul;
    unsigned char *hold = take ? mmap(NULL, take, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    CHECK("map the memory to hold", hold != MAP_FAILED);
    int gave_back = hold != MAP_FAILED;
    for (size_t off = 0; gave_back && off < take; off += 4096)
        hold[off] = 1;
    for (size_t off = 0; gave_back && off < take; off += 8192)
        gave_back = munmap(hold + off, 4096) == 0;
    CHECK("give every other page back", gave_back);

    int fd = open(path, O_RDONLY);
    CHECK("read the whole file", read_in_chunks(fd, want, size, 65539) == size);
    printf("read fnv %08x\n", fnv(want, size));
    unsigned char *priv = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap private", priv != MAP_FAILED && !memcmp(priv, want, size));
    unsigned char b[3];
    CHECK("pread across a block boundary", pread(fd, b, 3, 3 * 65536 - 1) == 3 && !memcmp(b, want + 3 * 65536 - 1, 3));
    close(fd);
    return guest_finish();
}

static int damaged(const char *path)
{
    int fd = open(path, O_RDONLY);
    CHECK("open a damaged file", fd >= 0);
    char buf[64];
    EXPECT_ERR("read of a damaged file", read(fd, buf, sizeof(buf)), EIO);
    EXPECT_ERR("read again", pread(fd, buf, sizeof(buf), 0), EIO);
    CHECK("mmap of a damaged file fails", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED);
    CHECK("exec of a damaged file fails with EIO", run(path) == 71);
    close(fd);
    /* The kernel and the rest of the filesystem go on: our own (packed) binary reads. */
    int self = open("/proc/self/exe", O_RDONLY);
    CHECK("another file still reads", self >= 0 && read(self, buf, 4) == 4 && !memcmp(buf, "\177ELF", 4));
    return guest_finish();
}

int main(int argc, char **argv)
{
    guest_begin();
    if (argc < 3)
        return 2;
    const char *path = argv[1];
    if (!strcmp(argv[2], "frag"))
        return fragmented(path);
    if (!strcmp(argv[2], "eio")) {
        if (argc > 3)
            too_big(argv[3]);
        return damaged(path);
    }

    struct stat st;
    CHECK("stat", stat(path, &st) == 0 && st.st_size > 3 * 65536);
    size_t size = (size_t)st.st_size;
    printf("size %zu\n", size);
    unsigned char *want = malloc(size);
    int fd = open(path, O_RDONLY);
    CHECK("read the whole file", read_in_chunks(fd, want, size, 10007) == size);
    printf("read fnv %08x\n", fnv(want, size));

    unsigned char *priv = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap private", priv != MAP_FAILED && !memcmp(priv, want, size));
    unsigned char *shr = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("mmap shared", shr != MAP_FAILED && !memcmp(shr, want, size));
    unsigned char b[3];
    CHECK("pread across a block boundary", pread(fd, b, 3, 65535) == 3 && !memcmp(b, want + 65535, 3));
    close(fd);

    printf("exec status %d\n", run(path));
    pid_t pid = fork();
    if (pid == 0) /* a child reads the same bytes through the mapping it inherited */
        _exit(priv != MAP_FAILED && fnv(priv, size) == fnv(want, size) ? 0 : 1);
    int wst = 0;
    CHECK("forked child sees the bytes", waitpid(pid, &wst, 0) == pid && WIFEXITED(wst) && !WEXITSTATUS(wst));

    /* Writes: through a shared writable mapping and write(2); both views agree. */
    fd = open(path, O_RDWR);
    CHECK("open for writing", fd >= 0);
    unsigned char *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap shared writable", rw != MAP_FAILED);
    if (rw != MAP_FAILED) {
        rw[5000] ^= 0x5a;
        want[5000] ^= 0x5a;
        CHECK("msync", msync(rw, size, MS_SYNC) == 0);
    }
    CHECK("pread sees the store", pread(fd, b, 1, 5000) == 1 && b[0] == want[5000]);
    CHECK("pwrite", pwrite(fd, "packed", 6, 70000) == 6);
    memcpy(want + 70000, "packed", 6);
    CHECK("the mapping sees the write", rw != MAP_FAILED && !memcmp(rw + 70000, "packed", 6));
    unsigned char *again = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("a new private mapping has the written bytes", again != MAP_FAILED && !memcmp(again, want, size));
    if (again != MAP_FAILED)
        munmap(again, size);

    /* Truncate to an odd size: the rest of the last page reads as zero. */
    size_t cut = 100001;
    CHECK("ftruncate", ftruncate(fd, (off_t)cut) == 0);
    CHECK("fstat after ftruncate", fstat(fd, &st) == 0 && (size_t)st.st_size == cut);
    unsigned char *tail = mmap(NULL, cut, PROT_READ, MAP_PRIVATE, fd, 0);
    int zero = tail != MAP_FAILED;
    for (size_t i = cut; zero && i < ((cut + 4095) & ~4095ul); i++)
        zero = tail[i] == 0;
    CHECK("past the new end reads as zero", zero && !memcmp(tail, want, cut));
    unsigned char *back = malloc(size);
    CHECK("read after ftruncate", pread(fd, back, size, 0) == (ssize_t)cut && !memcmp(back, want, cut));
    printf("truncated fnv %08x\n", fnv(back, cut));
    CHECK("ftruncate to zero", ftruncate(fd, 0) == 0 && pread(fd, back, 16, 0) == 0);
    close(fd);

    /* A file never written, mapped, then truncated: its pages stay the decoded ones
     * (booted: the very frames it owns), and past the new end reads as zero there too. */
    fd = open(argv[2], O_RDWR);
    CHECK("open the other file", fd >= 0 && pread(fd, back, cut, 0) == (ssize_t)cut);
    unsigned char *early = mmap(NULL, 2 * cut, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("map it", early != MAP_FAILED && !memcmp(early, back, cut));
    CHECK("truncate it unwritten", ftruncate(fd, (off_t)cut) == 0);
    unsigned char *late = mmap(NULL, cut, PROT_READ, MAP_PRIVATE, fd, 0);
    zero = late != MAP_FAILED && !memcmp(late, back, cut);
    for (size_t i = cut; zero && i < ((cut + 4095) & ~4095ul); i++)
        zero = late[i] == 0 && early[i] == 0;
    CHECK("its last page is zero past the end", zero);
    printf("other fnv %08x\n", fnv(back, cut));
    close(fd);
    return guest_finish();
}
