/* SPDX-License-Identifier: Apache-2.0 */
/* rtc.c: read the MC146818 CMOS real-time clock once, as a wall-clock fallback. */
#include <libos/memlayout.h>
#include <libos/time.h>
#include <libos/x86.h>

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define STATUS_A_UIP 0x80
#define STATUS_B_24H 0x02
#define STATUS_B_BINARY 0x04
#define NMI_DISABLE 0x80

static u8 cmos_read(u8 reg)
{
    /* Select the CMOS register (bit 7 keeps NMI disabled while we do), then read it. */
    outb(CMOS_INDEX_PORT, NMI_DISABLE | reg);
    return inb(CMOS_DATA_PORT);
}

static unsigned from_bcd(u8 v) { return (v & 0x0f) + (v >> 4) * 10; }

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static s64 days_from_civil(s64 y, unsigned m, unsigned d)
{
    y -= m <= 2;
    s64 era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (s64)doe - 719468;
}

u64 rtc_read_epoch(void)
{
    /* An absent RTC (microvm under KVM without rtc=on) reads all ones. */
    if (cmos_read(RTC_STATUS_A) == 0xff && cmos_read(RTC_STATUS_B) == 0xff)
        return 0;
    /* Wait (bounded) until no update is in progress, so the fields are consistent. */
    for (int i = 0; i < 100000 && (cmos_read(RTC_STATUS_A) & STATUS_A_UIP); i++)
        cpu_relax();
    u8 sec = cmos_read(RTC_SECONDS), min = cmos_read(RTC_MINUTES), hour = cmos_read(RTC_HOURS);
    u8 day = cmos_read(RTC_DAY), mon = cmos_read(RTC_MONTH), year = cmos_read(RTC_YEAR);
    u8 b = cmos_read(RTC_STATUS_B);
    bool pm = hour & 0x80;
    hour &= 0x7f;
    unsigned s = sec, mi = min, h = hour, d = day, mo = mon, y = year;
    if (!(b & STATUS_B_BINARY)) {
        s = from_bcd(sec), mi = from_bcd(min), h = from_bcd(hour);
        d = from_bcd(day), mo = from_bcd(mon), y = from_bcd(year);
    }
    if (!(b & STATUS_B_24H) && pm)
        h = (h % 12) + 12;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    s64 full_year = y < 70 ? 2000 + y : 1900 + y;
    s64 days = days_from_civil(full_year, mo, d);
    return (u64)(days * 86400 + h * 3600 + mi * 60 + s);
}
