/*
 * tzfile.c — TZif version 1–4 files (RFC 8536) and POSIX TZ rules.
 *
 * Only what converting an instant to local time needs: the transition
 * times and their UT offsets, and the footer's rule for the instants after
 * the last transition.  Leap-second records are skipped (Debian's zones
 * have none outside right/).
 */
#include "tzfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tz_rule {
	bool set;
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	/* Start and end of DST: kind 'J' (1..365, no Feb 29), 'D' (0..365) or
	 * 'M' (month, week, weekday), and the local time of the change. */
	struct {
		char kind;
		int a, b, c;
		int32_t time;
	} start, end;
};

struct tz {
	bool utc;
	int64_t *when; /* transition times, ascending */
	uint8_t *type; /* per transition: index into off */
	size_t ntrans;
	int32_t *off; /* per local time type: seconds east */
	bool *isdst;
	size_t ntypes;
	struct tz_rule rule;
};

/* ---- calendar ------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
year_of_days(int64_t days)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* ---- POSIX TZ rules ------------------------------------------------------- */

static const char *
rule_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p == '>' ? p + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; hours up to 167 (RFC 8536 times). */
static const char *
rule_time(const char *p, int32_t *out)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	int32_t v[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != ':')
				break;
			p++;
		}
		if (*p < '0' || *p > '9')
			return NULL;
		int32_t n = 0;
		for (int d = 0; *p >= '0' && *p <= '9' && d < 3; d++)
			n = n * 10 + (*p++ - '0');
		v[i] = n;
	}
	if (v[0] > 167 || v[1] > 59 || v[2] > 59)
		return NULL;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

static const char *
rule_num(const char *p, int *out)
{
	if (*p < '0' || *p > '9')
		return NULL;
	int n = 0;
	while (*p >= '0' && *p <= '9' && n < 1000)
		n = n * 10 + (*p++ - '0');
	*out = n;
	return p;
}

static const char *
rule_date(const char *p, char *kind, int *a, int *b, int *c, int32_t *time)
{
	*b = *c = 0;
	if (*p == 'J') {
		*kind = 'J';
		p = rule_num(p + 1, a);
		if (p == NULL || *a < 1 || *a > 365)
			return NULL;
	} else if (*p == 'M') {
		*kind = 'M';
		if ((p = rule_num(p + 1, a)) == NULL || *p++ != '.' ||
		    (p = rule_num(p, b)) == NULL || *p++ != '.' || (p = rule_num(p, c)) == NULL)
			return NULL;
		if (*a < 1 || *a > 12 || *b < 1 || *b > 5 || *c > 6)
			return NULL;
	} else {
		*kind = 'D';
		p = rule_num(p, a);
		if (p == NULL || *a > 365)
			return NULL;
	}
	*time = 7200;
	if (*p == '/')
		p = rule_time(p + 1, time);
	return p;
}

bool
tz_parse_rule(struct tz *z, const char *s)
{
	struct tz_rule r;
	memset(&r, 0, sizeof r);
	const char *p = rule_name(s);
	int32_t off;
	if (p == NULL || (p = rule_time(p, &off)) == NULL)
		return false;
	r.std_off = -off; /* POSIX offsets are west of UTC */
	if (*p != '\0') {
		if ((p = rule_name(p)) == NULL)
			return false;
		r.has_dst = true;
		r.dst_off = r.std_off + 3600;
		if (*p != ',' && *p != '\0') {
			if ((p = rule_time(p, &off)) == NULL)
				return false;
			r.dst_off = -off;
		}
		if (*p != ',')
			return false; /* no default rules: TZif footers always give them */
		p = rule_date(p + 1, &r.start.kind, &r.start.a, &r.start.b, &r.start.c,
		              &r.start.time);
		if (p == NULL || *p != ',')
			return false;
		p = rule_date(p + 1, &r.end.kind, &r.end.a, &r.end.b, &r.end.c, &r.end.time);
		if (p == NULL)
			return false;
	}
	if (*p != '\0')
		return false;
	r.set = true;
	z->rule = r;
	return true;
}

/* Days since 1970 of a rule date in year y. */
static int64_t
rule_day(int64_t y, char kind, int a, int b, int c)
{
	int64_t jan1 = days_from_civil(y, 1, 1);
	if (kind == 'J') /* Feb 29 is never counted */
		return jan1 + a - 1 + (leap(y) && a >= 60);
	if (kind == 'D')
		return jan1 + a;
	int64_t first = days_from_civil(y, a, 1);
	int wday = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	int day = 1 + (c - wday + 7) % 7 + (b - 1) * 7;
	while (day > month_days(y, a))
		day -= 7;
	return first + day - 1;
}

static int32_t
rule_offset(const struct tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_off;
	int64_t y = year_of_days((t + r->std_off) >= 0 ? (t + r->std_off) / 86400
	                                               : -((-(t + r->std_off) + 86399) / 86400));
	/* The change to DST happens at its time in standard time, the change
	 * back at its time in DST. */
	int64_t start = rule_day(y, r->start.kind, r->start.a, r->start.b, r->start.c) * 86400 +
	                r->start.time - r->std_off;
	int64_t end = rule_day(y, r->end.kind, r->end.a, r->end.b, r->end.c) * 86400 + r->end.time -
	              r->dst_off;
	bool dst = start < end ? t >= start && t < end : !(t >= end && t < start);
	return dst ? r->dst_off : r->std_off;
}

/* ---- TZif ----------------------------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the data block at p (end at e) with times of tsize bytes. */
static bool
read_block(struct tz *z, const unsigned char *h, const unsigned char *p, const unsigned char *e,
           int tsize, const unsigned char **next)
{
	uint32_t isut = be32(h + 20), isstd = be32(h + 24), leapcnt = be32(h + 28),
	         timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
	if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || charcnt > 100000 ||
	    leapcnt > 100000 || isut > typecnt || isstd > typecnt)
		return false;
	size_t need = (size_t)timecnt * ((size_t)tsize + 1) + (size_t)typecnt * 6 + charcnt +
	              (size_t)leapcnt * ((size_t)tsize + 4) + isstd + isut;
	if ((size_t)(e - p) < need)
		return false;
	*next = p + need;
	if (tsize == 4)
		return true; /* version 1 data: skipped for the 64-bit block */
	z->when = malloc((timecnt ? timecnt : 1) * sizeof *z->when);
	z->type = malloc(timecnt ? timecnt : 1);
	z->off = malloc(typecnt * sizeof *z->off);
	z->isdst = malloc(typecnt * sizeof *z->isdst);
	if (!z->when || !z->type || !z->off || !z->isdst)
		return false;
	for (uint32_t i = 0; i < timecnt; i++)
		z->when[i] = be64(p + (size_t)i * 8);
	p += (size_t)timecnt * 8;
	for (uint32_t i = 0; i < timecnt; i++) {
		if (p[i] >= typecnt)
			return false;
		z->type[i] = p[i];
	}
	p += timecnt;
	for (uint32_t i = 0; i < typecnt; i++) {
		z->off[i] = (int32_t)be32(p + (size_t)i * 6);
		z->isdst[i] = p[(size_t)i * 6 + 4] != 0;
	}
	z->ntrans = timecnt;
	z->ntypes = typecnt;
	return true;
}

static bool
parse_tzif(struct tz *z, const unsigned char *d, size_t n)
{
	const unsigned char *e = d + n, *p;
	if (n < 44 || memcmp(d, "TZif", 4) != 0 || d[4] < '2')
		return false; /* version 1 files (no 64-bit data) are long gone */
	if (!read_block(z, d, d + 44, e, 4, &p) || e - p < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	const unsigned char *h = p;
	if (!read_block(z, h, h + 44, e, 8, &p))
		return false;
	/* The footer: "\n" rule "\n"; an empty rule means none. */
	if (p < e && *p == '\n') {
		const unsigned char *q = memchr(p + 1, '\n', (size_t)(e - p - 1));
		if (q != NULL && q > p + 1) {
			char rule[128];
			size_t len = (size_t)(q - p - 1);
			if (len >= sizeof rule)
				return false;
			memcpy(rule, p + 1, len);
			rule[len] = '\0';
			if (!tz_parse_rule(z, rule))
				return false;
		}
	}
	return true;
}

enum etl_code
tz_open(struct tz **out, const char *name, struct etl_error *err)
{
	*out = NULL;
	struct tz *z = calloc(1, sizeof *z);
	if (z == NULL)
		return error_oom(err, NULL, 0);
	if (strcmp(name, "UTC") == 0 || strcmp(name, "GMT") == 0) {
		z->utc = true;
		*out = z;
		return ETL_OK;
	}
	enum etl_code rc = ETL_EUSAGE;
	unsigned char *data = NULL;
	FILE *f = NULL;
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 200)
		goto out;
	const char *dir = getenv("TZDIR");
	char path[512];
	(void)snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo",
	               name);
	f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	size_t cap = 1 << 16, n = 0, got;
	data = malloc(cap);
	if (data == NULL) {
		rc = ETL_ESYSTEM;
		goto out;
	}
	while ((got = fread(data + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			unsigned char *d = cap < (1 << 22) ? realloc(data, cap * 2) : NULL;
			if (d == NULL)
				goto out;
			data = d;
			cap *= 2;
		}
	}
	if (!ferror(f) && parse_tzif(z, data, n))
		rc = ETL_OK;
out:
	if (f != NULL)
		(void)fclose(f);
	free(data);
	if (rc != ETL_OK) {
		tz_close(z);
		if (rc == ETL_ESYSTEM)
			return error_set(err, rc, NULL, 0, "out of memory");
		return error_set(err, rc, NULL, 0,
		                 "--timezone: unknown time zone \"%s\" (use a name such as "
		                 "Asia/Jakarta or UTC)",
		                 name);
	}
	*out = z;
	return ETL_OK;
}

void
tz_close(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->when);
	free(z->type);
	free(z->off);
	free(z->isdst);
	free(z);
}

bool
tz_is_utc(const struct tz *z)
{
	return z->utc;
}

struct tz *
tz_from_rule(const char *s)
{
	struct tz *z = calloc(1, sizeof *z);
	if (z != NULL && !tz_parse_rule(z, s)) {
		free(z);
		z = NULL;
	}
	return z;
}

int32_t
tz_offset(const struct tz *z, int64_t t)
{
	if (z->utc)
		return 0;
	if (z->ntrans == 0 || t < z->when[0]) {
		if (z->ntypes == 0)
			return z->rule.set ? rule_offset(&z->rule, t) : 0;
		/* Before the first transition: the first standard-time type. */
		for (size_t i = 0; i < z->ntypes; i++)
			if (!z->isdst[i])
				return z->off[i];
		return z->off[0];
	}
	if (t >= z->when[z->ntrans - 1] && z->rule.set)
		return rule_offset(&z->rule, t);
	size_t lo = 0, hi = z->ntrans; /* when[lo] <= t < when[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->when[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[z->type[lo]];
}
