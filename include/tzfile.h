/*
 * tzfile.h — a time zone read from the system's zoneinfo (TZif) files,
 * without touching the process's TZ: offsets for any instant, including
 * those past the file's last transition (from its POSIX TZ footer).
 */
#ifndef SIPREMS_TZFILE_H
#define SIPREMS_TZFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct tz;

/*
 * Reads zone name ("Asia/Jakarta"; "UTC" and "GMT" need no file) from
 * $TZDIR or /usr/share/zoneinfo.  Returns ETL_OK, ETL_EUSAGE for a name
 * that is not a readable zone file, or ETL_ESYSTEM.
 */
enum etl_code tz_open(struct tz **out, const char *name, struct etl_error *err);

/* Frees z (NULL is fine). */
void tz_close(struct tz *z);

/* Seconds east of UTC in zone z at t (seconds since 1970-01-01 UTC). */
int32_t tz_offset(const struct tz *z, int64_t t);

/* Whether z is UTC (offset 0 always). */
bool tz_is_utc(const struct tz *z);

/* Parses a POSIX TZ rule ("WIB-7", "CET-1CEST,M3.5.0,M10.5.0/3") into z's
 * rule; exposed for tests.  Returns false when it is not one. */
bool tz_parse_rule(struct tz *z, const char *s);

/* A zone with no transitions, only the rule s (tests); NULL when invalid. */
struct tz *tz_from_rule(const char *s);

#endif
