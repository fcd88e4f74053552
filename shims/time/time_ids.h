/* SPDX-License-Identifier: Apache-2.0 */
/* time_ids.h: Linux clock ids and the helper shared by the time family's files. */
#ifndef SHIMS_TIME_IDS_H
#define SHIMS_TIME_IDS_H

#include <libos/types.h>

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11
#define TIMER_ABSTIME 1

/* Current value of clock id in ns: 0, or -EINVAL for an unknown clock. */
long time_clock_ns(int id, u64 *ns);

#endif
