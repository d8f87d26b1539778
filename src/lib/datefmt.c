/*
 * datefmt.c — PostgreSQL-style date patterns (see datefmt.h).
 */
#include "datefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum field {
	F_LIT, /* literal bytes */
	F_SPACE,
	F_YYYY,
	F_YY,
	F_MM,
	F_MON,
	F_MONTH,
	F_DD,
	F_HH24,
	F_HH12,
	F_MI,
	F_SS,
	F_MS,
	F_US,
	F_AMPM,
	F_TZH,
	F_TZM,
	F_COUNT
};

/* The pattern words, longest first where one begins another. */
static const struct {
	const char *word;
	enum field f;
} words[] = {
        {"YYYY", F_YYYY}, {"YY", F_YY},   {"MONTH", F_MONTH}, {"MON", F_MON},   {"MM", F_MM},
        {"MI", F_MI},     {"MS", F_MS},   {"DD", F_DD},       {"HH24", F_HH24}, {"HH12", F_HH12},
        {"HH", F_HH12},   {"SS", F_SS},   {"US", F_US},       {"A.M.", F_AMPM}, {"P.M.", F_AMPM},
        {"AM", F_AMPM},   {"PM", F_AMPM}, {"TZH", F_TZH},     {"TZM", F_TZM},
};

static const char *const months[12] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};

static bool
add_tok(struct datefmt *f, int kind, const char *lit, unsigned nlit)
{
	if (kind == F_LIT && f->ntok > 0 && f->tok[f->ntok - 1].kind == F_LIT &&
	    f->tok[f->ntok - 1].nlit + nlit <= sizeof f->tok[0].lit) {
		struct datefmt_tok *t = &f->tok[f->ntok - 1];
		memcpy(t->lit + t->nlit, lit, nlit);
		t->nlit += nlit;
		return true;
	}
	if (kind == F_SPACE && f->ntok > 0 && f->tok[f->ntok - 1].kind == F_SPACE)
		return true;
	if (f->ntok == DATEFMT_MAXTOK || nlit > sizeof f->tok[0].lit)
		return false;
	struct datefmt_tok *t = &f->tok[f->ntok++];
	t->kind = kind;
	t->nlit = nlit;
	if (nlit > 0)
		memcpy(t->lit, lit, nlit);
	return true;
}

enum etl_code
datefmt_compile(struct datefmt *f, const char *pattern, struct etl_error *err)
{
	memset(f, 0, sizeof *f);
	bool seen[F_COUNT] = {false};
	size_t n = strlen(pattern);
	if (n == 0 || n >= sizeof f->pattern)
		return error_set(err, ETL_EUSAGE, NULL, 0, "--date-format: \"%s\" is %s", pattern,
		                 n == 0 ? "empty" : "longer than 63 characters");
	memcpy(f->pattern, pattern, n + 1);
	for (size_t i = 0; i < n;) {
		bool ok = true;
		if (pattern[i] == '"') {
			const char *end = strchr(pattern + i + 1, '"');
			if (end == NULL)
				return error_set(
				        err, ETL_EUSAGE, NULL, 0,
				        "--date-format: \"%s\" has a quote that is not closed",
				        pattern);
			for (const char *p = pattern + i + 1; p < end && ok; p++)
				ok = add_tok(f, F_LIT, p, 1);
			i = (size_t)(end - pattern) + 1;
		} else if (pattern[i] == ' ') {
			ok = add_tok(f, F_SPACE, NULL, 0);
			i++;
		} else {
			size_t w = 0;
			while (w < sizeof words / sizeof words[0] &&
			       strncasecmp(pattern + i, words[w].word, strlen(words[w].word)) != 0)
				w++;
			if (w == sizeof words / sizeof words[0]) {
				ok = add_tok(f, F_LIT, pattern + i, 1);
				i++;
			} else {
				enum field fl = words[w].f;
				bool year = fl == F_YYYY || fl == F_YY;
				bool month = fl == F_MM || fl == F_MON || fl == F_MONTH;
				if (seen[fl] || (year && (seen[F_YYYY] || seen[F_YY])) ||
				    (month && (seen[F_MM] || seen[F_MON] || seen[F_MONTH])))
					return error_set(err, ETL_EUSAGE, NULL, 0,
					                 "--date-format: \"%s\" gives %s twice",
					                 pattern,
					                 year    ? "the year"
					                 : month ? "the month"
					                         : words[w].word);
				seen[fl] = true;
				ok = add_tok(f, (int)fl, NULL, 0);
				i += strlen(words[w].word);
			}
		}
		if (!ok)
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--date-format: \"%s\" has too many parts", pattern);
	}
	f->has_date = (seen[F_YYYY] || seen[F_YY]) &&
	              (seen[F_MM] || seen[F_MON] || seen[F_MONTH]) && seen[F_DD];
	f->has_time = seen[F_HH24] || seen[F_HH12];
	if (!f->has_date)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--date-format: \"%s\" needs a year (YYYY or YY), a month (MM or "
		                 "MON) and a day (DD)",
		                 pattern);
	if (seen[F_HH24] && seen[F_HH12])
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--date-format: \"%s\" gives the hour twice (HH24 and HH12)",
		                 pattern);
	if (seen[F_AMPM] != seen[F_HH12])
		return error_set(err, ETL_EUSAGE, NULL, 0, "--date-format: \"%s\": %s", pattern,
		                 seen[F_AMPM] ? "AM/PM needs HH12 (HH24 is a 24-hour clock)"
		                              : "HH12 needs AM or PM (or use HH24)");
	if (f->has_time != seen[F_MI] ||
	    ((seen[F_SS] || seen[F_MS] || seen[F_US]) && !seen[F_MI]) ||
	    ((seen[F_MS] || seen[F_US]) && !seen[F_SS]))
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--date-format: \"%s\": the time needs the hour and the minutes, "
		                 "and MS/US need SS",
		                 pattern);
	if (seen[F_TZM] && !seen[F_TZH])
		return error_set(err, ETL_EUSAGE, NULL, 0, "--date-format: \"%s\": TZM needs TZH",
		                 pattern);
	if (seen[F_TZH] && !f->has_time)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--date-format: \"%s\": an offset (TZH) needs a time of day",
		                 pattern);
	return ETL_OK;
}

/* Reads from min to max digits at s[*i]; -1 when there are fewer. */
static int64_t
number(const char *s, size_t n, size_t *i, int min, int max, int *ndigits)
{
	int64_t v = 0;
	int k = 0;
	while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	if (ndigits != NULL)
		*ndigits = k;
	return k < min ? -1 : v;
}

static int
days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* A month name (full, or its first three letters) at s[*i]: 1-12, or 0. */
static int
month_name(const char *s, size_t n, size_t *i, bool full)
{
	for (int m = 0; m < 12; m++) {
		size_t len = full ? strlen(months[m]) : 3;
		if (n - *i >= len && strncasecmp(s + *i, months[m], len) == 0) {
			*i += len;
			return m + 1;
		}
	}
	return 0;
}

/* What the fields say beyond out's own: the 12-hour clock and the offset's
 * parts, whose ranges are known only once the whole value is read. */
struct pending {
	int pm, h12;
	int tzh, tzm, tzsign;
};

/* Reads token k at s[*i] into out or r: false when the value does not have
 * its shape there (a field out of range still has the shape). */
static bool
read_tok(const struct datefmt_tok *k, const char *s, size_t n, size_t *i, struct datefmt_value *out,
         struct pending *r)
{
	int nd;
	int64_t v = 0;
	switch (k->kind) {
	case F_LIT:
		for (unsigned j = 0; j < k->nlit; j++, (*i)++)
			if (*i >= n ||
			    tolower((unsigned char)s[*i]) != tolower((unsigned char)k->lit[j]))
				return false;
		return true;
	case F_SPACE:
		if (*i >= n || s[*i] != ' ')
			return false;
		while (*i < n && s[*i] == ' ')
			(*i)++;
		return true;
	case F_YYYY:
		v = number(s, n, i, 4, 4, NULL);
		out->year = (int)v;
		break;
	case F_YY:
		v = number(s, n, i, 2, 2, NULL);
		out->year = (int)(v < 70 ? 2000 + v : 1900 + v);
		break;
	case F_MM:
		v = out->month = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_MON:
	case F_MONTH:
		v = out->month = month_name(s, n, i, k->kind == F_MONTH);
		v = v == 0 ? -1 : v;
		break;
	case F_DD:
		v = out->day = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_HH24:
		v = out->hour = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_HH12:
		v = r->h12 = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_MI:
		v = out->minute = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_SS:
		v = out->second = (int)number(s, n, i, 1, 2, NULL);
		break;
	case F_MS:
	case F_US:
		v = number(s, n, i, 1, k->kind == F_MS ? 3 : 6, &nd);
		for (int z = nd; v >= 0 && z < 6; z++)
			v *= 10;
		out->usec += v;
		break;
	case F_AMPM:
		if (n - *i >= 4 &&
		    (strncasecmp(s + *i, "a.m.", 4) == 0 || strncasecmp(s + *i, "p.m.", 4) == 0)) {
			r->pm = tolower((unsigned char)s[*i]) == 'p';
			*i += 4;
		} else if (n - *i >= 2 && (strncasecmp(s + *i, "am", 2) == 0 ||
		                           strncasecmp(s + *i, "pm", 2) == 0)) {
			r->pm = tolower((unsigned char)s[*i]) == 'p';
			*i += 2;
		} else {
			v = -1;
		}
		break;
	case F_TZH:
		if (*i < n && (s[*i] == '+' || s[*i] == '-')) {
			r->tzsign = s[*i] == '-' ? -1 : 1;
			(*i)++;
		} else {
			return false;
		}
		v = r->tzh = (int)number(s, n, i, 1, 2, NULL);
		out->has_offset = true;
		break;
	case F_TZM:
		v = r->tzm = (int)number(s, n, i, 2, 2, NULL);
		break;
	}
	return v >= 0;
}

int
datefmt_parse(const struct datefmt *f, const char *s, size_t n, struct datefmt_value *out)
{
	memset(out, 0, sizeof *out);
	size_t i = 0;
	struct pending r = {.pm = -1, .h12 = -1, .tzh = 0, .tzm = 0, .tzsign = 1};
	for (int t = 0; t < f->ntok; t++)
		if (!read_tok(&f->tok[t], s, n, &i, out, &r))
			return -1;
	if (i != n)
		return -1;
	if (r.h12 >= 0) {
		if (r.h12 < 1 || r.h12 > 12)
			return 0;
		out->hour = r.h12 % 12 + (r.pm == 1 ? 12 : 0);
	}
	if (out->usec >= 1000000)
		return 0;
	if (out->has_offset) {
		if (r.tzh > 15 || r.tzm > 59)
			return 0;
		out->offset = r.tzsign * (r.tzh * 3600 + r.tzm * 60);
	}
	if (out->year < 1 || out->month < 1 || out->month > 12 || out->day < 1 ||
	    out->day > days_in(out->year, out->month))
		return 0;
	if (out->hour > 23 || out->minute > 59 || out->second > 59)
		return 0;
	return 1;
}
