/* cpus.c: guest tests of the one-CPU view: sysconf, sched_getaffinity, /proc/cpuinfo and /sys/devices/system/cpu agree. */
#include "guest.h"

#include <cpuid.h>
#include <ctype.h>
#include <dirent.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>

/* Natively the host has several CPUs and booted there is one, so every check compares
 * the sources with each other, never with a fixed number. */

/* CPUs in a sysfs list ("0", "0-3,5\n"), or -1 when the text is not a list. */
static int list_count(const char *s, unsigned long long *bits)
{
    int n = 0;
    *bits = 0;
    while (*s && *s != '\n') {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            return -1;
        if (*end == '-') {
            s = end + 1;
            b = strtoul(s, &end, 10);
            if (end == s || b < a)
                return -1;
        }
        for (unsigned long i = a; i <= b; i++)
            *bits |= i < 64 ? 1ull << i : 0;
        n += (int)(b - a + 1);
        s = end;
        if (*s == ',')
            s++;
        else if (*s && *s != '\n')
            return -1;
    }
    return n;
}

static int sysfs_list(const char *name, unsigned long long *bits)
{
    char path[128], buf[256];
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s", name);
    if (guest_read_file(path, buf, sizeof(buf)) <= 0)
        return -1;
    return list_count(buf, bits);
}

/* cpuN directories in /sys/devices/system/cpu, as glibc counts them. */
static int cpu_dirs(void)
{
    DIR *d = opendir("/sys/devices/system/cpu");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_type != DT_DIR || strncmp(e->d_name, "cpu", 3) || !isdigit((unsigned char)e->d_name[3]))
            continue;
        char *end;
        strtoul(e->d_name + 3, &end, 10);
        n += *end == 0;
    }
    closedir(d);
    return n;
}

static char cpuinfo[1 << 16];

/* The value of the first "key\t: value" line of /proc/cpuinfo, or "". */
static const char *field(const char *key, char *out, size_t size)
{
    out[0] = 0;
    size_t klen = strlen(key);
    for (const char *l = cpuinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, klen) || (l[klen] != '\t' && l[klen] != ' '))
            continue;
        const char *v = strstr(l, ": ");
        const char *eol = strchr(l, '\n');
        if (!v || (eol && v > eol))
            continue;
        v += 2;
        size_t n = eol ? (size_t)(eol - v) : strlen(v);
        snprintf(out, size, "%.*s", (int)n, v);
        return out;
    }
    return out;
}

static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

static void test_counts(void)
{
    unsigned long long online_bits, possible_bits, present_bits;
    int online = sysfs_list("online", &online_bits), possible = sysfs_list("possible", &possible_bits);
    int present = sysfs_list("present", &present_bits);
    CHECK("sys_online_list", online >= 1);
    CHECK("sys_possible_covers_online", possible >= online && (possible_bits & online_bits) == online_bits);
    CHECK("sys_present_covers_online", present >= online && (present_bits & online_bits) == online_bits);
    int dirs = cpu_dirs();
    CHECK("sys_cpu_dirs", dirs >= online && dirs <= possible);

    /* /proc/cpuinfo has one entry per online CPU, numbered as the online list. */
    int n = guest_read_file("/proc/cpuinfo", cpuinfo, sizeof(cpuinfo));
    int procs = 0, ids_match = 1;
    for (const char *l = cpuinfo; n > 0 && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        unsigned id;
        if (sscanf(l, "processor\t: %u", &id) == 1) {
            procs++;
            ids_match &= id < 64 && (online_bits >> id & 1);
        }
    }
    CHECK("cpuinfo_entries_are_online_cpus", procs == online && ids_match);

    cpu_set_t set;
    CPU_ZERO(&set);
    int affinity = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
    CHECK("affinity_within_online", affinity >= 1 && affinity <= online);
    long onln = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35)
    /* glibc >= 2.35: the online list, and the cpuN directories (BZ #28865). */
    CHECK("sysconf_onln", onln == online && get_nprocs() == online);
    CHECK("sysconf_conf", conf == dirs && get_nprocs_conf() == dirs);
#elif defined(__GLIBC__)
    CHECK("sysconf_onln", onln == affinity);
    CHECK("sysconf_conf", conf >= onln);
#else
    /* musl: both from sched_getaffinity. */
    CHECK("sysconf_onln", onln == affinity && get_nprocs() == affinity);
    CHECK("sysconf_conf", conf == affinity);
#endif
}

static void test_cpuinfo_fields(void)
{
    unsigned a, b, c, d;
    char want[64], got[128];
    __cpuid(0, a, b, c, d);
    memcpy(want, &b, 4);
    memcpy(want + 4, &d, 4);
    memcpy(want + 8, &c, 4);
    want[12] = 0;
    CHECK("cpuinfo_vendor_is_cpuid", strcmp(field("vendor_id", got, sizeof(got)), want) == 0);
    __cpuid(1, a, b, c, d);
    unsigned family = (a >> 8) & 0xf;
    if (family == 0xf)
        family += (a >> 20) & 0xff;
    snprintf(want, sizeof(want), "%u", family);
    CHECK("cpuinfo_family_is_cpuid", strcmp(field("cpu family", got, sizeof(got)), want) == 0);
    unsigned ext = __get_cpuid_max(0x80000000, NULL);
    if (ext >= 0x80000004) {
        char raw[49];
        for (unsigned i = 0; i < 3; i++) {
            __cpuid(0x80000002 + i, a, b, c, d);
            memcpy(raw + 16 * i, &a, 4);
            memcpy(raw + 16 * i + 4, &b, 4);
            memcpy(raw + 16 * i + 8, &c, 4);
            memcpy(raw + 16 * i + 12, &d, 4);
        }
        raw[48] = 0;
        const char *p = raw;
        while (*p == ' ')
            p++;
        snprintf(want, sizeof(want), "%s", p);
        for (size_t n = strlen(want); n && want[n - 1] == ' '; n--)
            want[n - 1] = 0;
        CHECK("cpuinfo_model_name_is_cpuid", strcmp(field("model name", got, sizeof(got)), want) == 0);
    } else {
        CHECK("cpuinfo_model_name_is_cpuid", 1);
    }
    static char flags[8192];
    field("flags", flags, sizeof(flags));
    CHECK("cpuinfo_flags_basic", has_word(flags, "fpu") && has_word(flags, "sse2") && has_word(flags, "lm") &&
                                     has_word(flags, "cx8"));
    __cpuid_count(1, 0, a, b, c, d);
    CHECK("cpuinfo_flags_sse4_2_is_cpuid", has_word(flags, "sse4_2") == !!(c & (1u << 20)));
    CHECK("cpuinfo_fpu_yes", strcmp(field("fpu", got, sizeof(got)), "yes") == 0);
}

static void test_files(void)
{
    struct stat st;
    CHECK("cpuinfo_stat", stat("/proc/cpuinfo", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444 &&
                              st.st_size == 0);
    CHECK("sys_online_stat", stat("/sys/devices/system/cpu/online", &st) == 0 && S_ISREG(st.st_mode) &&
                                 (st.st_mode & 07777) == 0444 && st.st_size == 4096);
    EXPECT_ERR("sys_online_not_writable", open("/sys/devices/system/cpu/online", O_WRONLY), EACCES);
    /* procfs opens it for root and fails the write; others cannot open it. */
    errno = 0;
    int fd = open("/proc/cpuinfo", O_WRONLY);
    int e = errno;
    if (geteuid() == 0)
        EXPECT_ERR("cpuinfo_write_fails", fd >= 0 ? write(fd, "x", 1) : -2, EIO);
    else
        CHECK("cpuinfo_write_fails", fd < 0 && e == EACCES);
    if (fd >= 0)
        close(fd);
    char small[8];
    fd = open("/proc/cpuinfo", O_RDONLY);
    CHECK("cpuinfo_reads_in_pieces", fd >= 0 && read(fd, small, 5) == 5 && memcmp(small, "proce", 5) == 0 &&
                                         read(fd, small, 4) == 4 && memcmp(small, "ssor", 4) == 0);
    close(fd);
}

int main(void)
{
    guest_begin();
    test_counts();
    test_cpuinfo_fields();
    test_files();
    return guest_finish();
}
