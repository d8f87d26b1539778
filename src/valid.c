/*
 * valid.c — the validation rules of SPEC's "Input files" table.
 */
#include "valid.h"

#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tzfile.h"

#define MONEY_MAX_CENTS INT64_C(9999999999) /* NUMERIC(10,2): 99999999.99 */
#define USEC            INT64_C(1000000)
#define DAY_USEC        (INT64_C(86400) * USEC)
#define UNIX_2000       INT64_C(946684800) /* 2000-01-01 in Unix seconds */

struct validator {
	regex_t re;
	bool has_re;
	bool allow_future;
	struct tz *zone; /* offsets are converted to it */
	bool utc;        /* no conversion needed for offsets */
	int32_t max_date;
};

/* ---- dates ----------------------------------------------------------------
 * Howard Hinnant's days_from_civil, shifted to 2000-01-01. */

int64_t
valid_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468 - 10957;
}

void
valid_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 10957 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* ---- helpers ------------------------------------------------------------ */

void
valid_show(char *buf, size_t size, const char *s, size_t n)
{
	size_t o = 0, i = 0;
	const size_t limit = 60;
	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (; i < n && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Stop at the limit, but not inside a UTF-8 sequence. */
		if (i >= limit && (c & 0xC0) != 0x80)
			break;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\r') {
			buf[o++] = '\\';
			buf[o++] = 'r';
		} else if (c == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else if (c >= 0x80) {
			/* A whole valid UTF-8 character, or the byte escaped, so
			 * that messages stay valid UTF-8. */
			size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
			size_t chars;
			if (len > 1 && i + len <= n && o + len + 8 < size &&
			    valid_utf8(s + i, len, &chars, NULL)) {
				memcpy(buf + o, s + i, len);
				o += len;
				i += len - 1;
			} else {
				o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
			}
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < n && o + 5 < size) {
		memcpy(buf + o, "\xe2\x80\xa6", 3); /* … */
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

bool
valid_utf8(const char *str, size_t n, size_t *chars, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, count = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x01 && c < 0x80) {
			/* The common case: a run of ASCII. */
			i++;
			count++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if (c == 0x00)
			goto bad;
		else if (c >= 0xC2 && c <= 0xDF)
			len = 2, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4, cp = c & 0x07;
		else
			goto bad;
		if (i + len > n)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += len;
		count++;
	}
	if (chars != NULL)
		*chars = count;
	return true;
bad:
	if (bad != NULL)
		*bad = i;
	return false;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static int
digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Formats a reason "VALUE rest…" into why. */
static bool reason(char *why, size_t wsize, const char *s, size_t n, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static bool
reason(char *why, size_t wsize, const char *s, size_t n, const char *fmt, ...)
{
	char shown[128];
	valid_show(shown, sizeof shown, s, n);
	int k = snprintf(why, wsize, "%s ", shown);
	va_list ap;
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < wsize)
		(void)vsnprintf(why + k, wsize - (size_t)k, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- the rules ------------------------------------------------------------ */

static bool
check_text(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
           size_t wsize)
{
	size_t chars, bad;
	bool secret = c->flags & COL_SECRET;
	if (!valid_utf8(s, n, &chars, &bad)) {
		if (secret)
			(void)snprintf(why, wsize, "is not valid UTF-8 (byte %zu)%s", bad + 1,
			               memchr(s, 0, n) ? " or holds a NUL byte" : "");
		else if (s[bad] == '\0')
			(void)reason(why, wsize, s, n, "holds a NUL byte (byte %zu)", bad + 1);
		else
			(void)reason(why, wsize, s, n, "is not valid UTF-8 (byte %zu)", bad + 1);
		return false;
	}
	if (c->max_chars > 0 && chars > (size_t)c->max_chars) {
		(void)snprintf(why, wsize, "has %zu characters, more than %d", chars, c->max_chars);
		return false;
	}
	if (chars < (size_t)c->min_chars) {
		(void)snprintf(why, wsize, "is empty");
		return false;
	}
	out->type = V_TEXT;
	out->s = s;
	out->n = n;
	return true;
}

static bool
check_sku(const struct validator *v, const struct col_def *c, const char *s, size_t n,
          struct value *out, char *why, size_t wsize)
{
	if (!check_text(c, s, n, out, why, wsize))
		return false;
	if (c->flags & COL_REF)
		return true; /* only whether it names a product counts */
	bool ok;
	if (v->has_re) {
		char buf[512];
		if (n >= sizeof buf)
			return reason(why, wsize, s, n, "is too long for the SKU pattern");
		memcpy(buf, s, n);
		buf[n] = '\0';
		ok = regexec(&v->re, buf, 0, NULL, 0) == 0;
	} else {
		ok = isalnum((unsigned char)s[0]) && (unsigned char)s[0] < 0x80;
		for (size_t i = 1; i < n && ok; i++) {
			unsigned char ch = (unsigned char)s[i];
			ok = ch < 0x80 &&
			     (isalnum(ch) || ch == '.' || ch == '_' || ch == '/' || ch == '-');
		}
	}
	if (!ok)
		return reason(why, wsize, s, n, "does not match the SKU pattern %s",
		              v->has_re ? "given by --sku-pattern"
		                        : "^[A-Za-z0-9][A-Za-z0-9._/-]*$");
	return true;
}

static bool
check_money(const char *s, size_t n, struct value *out, char *why, size_t wsize)
{
	const char *p = s;
	size_t len = n;
	bool neg = len > 0 && *p == '-';
	if (neg) {
		p++;
		len--;
	}
	const char *dot = memchr(p, '.', len);
	size_t ilen = dot ? (size_t)(dot - p) : len;
	size_t flen = dot ? len - ilen - 1 : 0;
	if ((ilen > 0 && !all_digits(p, ilen)) || (flen > 0 && !all_digits(dot + 1, flen)) ||
	    ilen + flen == 0)
		return reason(why, wsize, s, n,
		              "is not a plain decimal (digits, an optional '.' and cents)");
	if (flen > 2)
		return reason(why, wsize, s, n, "has more than 2 decimals");
	while (ilen > 1 && *p == '0') {
		p++;
		ilen--;
	}
	if (ilen > 10)
		return reason(why, wsize, s, n, "is more than 99999999.99");
	int64_t cents = 0;
	for (size_t i = 0; i < ilen; i++)
		cents = cents * 10 + (p[i] - '0');
	cents *= 100;
	if (flen >= 1)
		cents += (dot[1] - '0') * 10;
	if (flen == 2)
		cents += dot[2] - '0';
	if (neg && cents != 0)
		return reason(why, wsize, s, n, "is negative");
	if (cents > MONEY_MAX_CENTS)
		return reason(why, wsize, s, n, "is more than 99999999.99");
	out->type = V_MONEY;
	out->i = cents;
	return true;
}

static bool
check_int(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
          size_t wsize)
{
	const char *p = s;
	size_t len = n;
	bool neg = false;
	if (len > 0 && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
		len--;
	}
	if (!all_digits(p, len))
		return reason(why, wsize, s, n, "is not an integer");
	int64_t v = 0;
	bool big = false;
	for (size_t i = 0; i < len; i++) {
		v = v * 10 + (p[i] - '0');
		if (v > INT64_C(1) << 40) {
			big = true;
			break;
		}
	}
	if (neg)
		v = -v;
	if (big || v < c->min || v > c->max)
		return reason(why, wsize, s, n, "is out of range %lld..%lld", (long long)c->min,
		              (long long)c->max);
	out->type = V_INT;
	out->i = v;
	return true;
}

/* Parses YYYY-MM-DD at s; returns false when it is not one. */
static bool
parse_date(const char *s, size_t n, int64_t *days, bool *real)
{
	if (n < 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) || !all_digits(s + 5, 2) ||
	    !all_digits(s + 8, 2))
		return false;
	int y = digits(s, 4);
	unsigned m = (unsigned)digits(s + 5, 2), d = (unsigned)digits(s + 8, 2);
	*real = y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
	if (*real)
		*days = valid_days_from_civil(y, m, d);
	return true;
}

static bool
check_date(const char *s, size_t n, struct value *out, char *why, size_t wsize)
{
	int64_t days;
	bool real;
	if (n != 10 || !parse_date(s, n, &days, &real))
		return reason(why, wsize, s, n, "is not a date YYYY-MM-DD");
	if (!real)
		return reason(why, wsize, s, n, "is not a real calendar date");
	out->type = V_DATE;
	out->i = days;
	return true;
}

static bool
check_timestamp(const struct validator *v, const char *s, size_t n, struct value *out, char *why,
                size_t wsize)
{
	static const char form[] = "is not YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM|-HH:MM]";
	int64_t days;
	bool real;
	if (!parse_date(s, n, &days, &real))
		return reason(why, wsize, s, n, "%s", form);
	size_t i = 10;
	int hh = 0, mi = 0, ss = 0;
	int64_t us = 0;
	bool has_offset = false;
	int64_t offset = 0; /* seconds east of UTC */
	if (i < n) {
		if (s[i] != ' ' && s[i] != 'T' && s[i] != 't')
			return reason(why, wsize, s, n, "%s", form);
		i++;
		if (n - i < 5 || !all_digits(s + i, 2) || s[i + 2] != ':' ||
		    !all_digits(s + i + 3, 2))
			return reason(why, wsize, s, n, "%s", form);
		hh = digits(s + i, 2);
		mi = digits(s + i + 3, 2);
		i += 5;
		if (i < n && s[i] == ':') {
			if (n - i < 3 || !all_digits(s + i + 1, 2))
				return reason(why, wsize, s, n, "%s", form);
			ss = digits(s + i + 1, 2);
			i += 3;
			if (i < n && s[i] == '.') {
				size_t f = 0;
				i++;
				while (i + f < n && f < 7 && s[i + f] >= '0' && s[i + f] <= '9')
					f++;
				if (f == 0 || f > 6)
					return reason(why, wsize, s, n, "%s", form);
				us = digits(s + i, f);
				for (size_t k = f; k < 6; k++)
					us *= 10;
				i += f;
			}
		}
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			has_offset = true;
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			if (n - i != 6 || !all_digits(s + i + 1, 2) || s[i + 3] != ':' ||
			    !all_digits(s + i + 4, 2))
				return reason(why, wsize, s, n, "%s", form);
			int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
			if (oh > 15 || om > 59)
				return reason(why, wsize, s, n, "has an offset beyond +-15:59");
			offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
			has_offset = true;
			i += 6;
		}
		if (i != n)
			return reason(why, wsize, s, n, "%s", form);
	}
	if (!real)
		return reason(why, wsize, s, n, "is not a real calendar date");
	if (hh > 23 || mi > 59 || ss > 59)
		return reason(why, wsize, s, n, "is not a real time of day");
	int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss; /* wall, or UTC with offset */
	if (has_offset) {
		secs -= offset;
		if (!v->utc)
			secs += tz_offset(v->zone, secs + UNIX_2000);
		days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		int y, m, d;
		valid_civil_from_days(days, &y, &m, &d);
		if (y < 1 || y > 9999)
			return reason(why, wsize, s, n, "is outside years 1 to 9999 in the zone");
	}
	if (!v->allow_future && days > v->max_date) {
		int y, m, d;
		valid_civil_from_days(v->max_date, &y, &m, &d);
		return reason(why, wsize, s, n,
		              "is later than tomorrow (%04d-%02d-%02d); --allow-future accepts it",
		              y, m, d);
	}
	out->type = V_TIMESTAMP;
	out->i = secs * USEC + us;
	return true;
}

static bool
check_bool(const char *s, size_t n, struct value *out, char *why, size_t wsize)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {{"true", 1},  {"t", 1}, {"yes", 1}, {"y", 1}, {"1", 1},
	             {"false", 0}, {"f", 0}, {"no", 0},  {"n", 0}, {"0", 0}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strlen(words[i].word) == n && strncasecmp(words[i].word, s, n) == 0) {
			out->type = V_BOOL;
			out->i = words[i].value;
			return true;
		}
	}
	return reason(why, wsize, s, n, "is not a boolean (true/false, t/f, yes/no, y/n, 1/0)");
}

static bool
check_label(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
            size_t wsize)
{
	int i = table_label_index(c, s, n);
	if (i >= 0) {
		out->type = V_ENUM;
		out->i = i;
		return true;
	}
	char list[256];
	size_t used = 0;
	for (int k = 0; c->labels[k] != NULL; k++)
		used += (size_t)snprintf(list + used, used < sizeof list ? sizeof list - used : 0,
		                         "%s%s", k ? ", " : "", c->labels[k]);
	return reason(why, wsize, s, n, "is not one of %s", list);
}

/* An e-mail address as HTML's input type=email accepts it: a dot-atom
 * local part (at most 64 characters), '@', and host name labels. */
static bool
check_email(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
            size_t wsize)
{
	static const char atext[] = "!#$%&'*+/=?^_`{|}~.-";
	if (n > (size_t)c->max_chars)
		return reason(why, wsize, s, n, "has %zu characters, more than %d", n,
		              c->max_chars);
	const char *at = memchr(s, '@', n);
	if (at == NULL || at == s || at - s > 64)
		return reason(why, wsize, s, n, "is not an e-mail address");
	for (const char *p = s; p < at; p++)
		if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 0x80) && !strchr(atext, *p))
			return reason(why, wsize, s, n, "is not an e-mail address");
	const char *d = at + 1, *end = s + n;
	if (d == end)
		return reason(why, wsize, s, n, "is not an e-mail address");
	while (d < end) {
		const char *dot = memchr(d, '.', (size_t)(end - d));
		const char *lend = dot ? dot : end;
		size_t llen = (size_t)(lend - d);
		if (llen == 0 || llen > 63 || d[0] == '-' || lend[-1] == '-')
			return reason(why, wsize, s, n, "is not an e-mail address");
		for (const char *p = d; p < lend; p++)
			if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 0x80) && *p != '-')
				return reason(why, wsize, s, n, "is not an e-mail address");
		d = dot ? dot + 1 : end;
		if (dot != NULL && d == end)
			return reason(why, wsize, s, n, "is not an e-mail address");
	}
	out->type = V_TEXT;
	out->s = s;
	out->n = n;
	return true;
}

static bool
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* werkzeug: "METHOD$salt$hexhash" with METHOD "pbkdf2:NAME[:N]" or
 * "scrypt[:N:r:p]"; bcrypt: "$2b$NN$" and 53 characters of ./A-Za-z0-9. */
static bool
pwhash_ok(const char *s, size_t n)
{
	if (n == 60 && s[0] == '$' && s[1] == '2' && strchr("aby", s[2]) && s[3] == '$' &&
	    all_digits(s + 4, 2) && s[6] == '$') {
		int cost = digits(s + 4, 2);
		for (size_t i = 7; i < n; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '/')
				return false;
		return cost >= 4 && cost <= 31;
	}
	const char *d1 = memchr(s, '$', n);
	if (d1 == NULL)
		return false;
	const char *d2 = memchr(d1 + 1, '$', (size_t)(s + n - d1 - 1));
	if (d2 == NULL || d2 == d1 + 1)
		return false;
	const char *hex = d2 + 1;
	size_t hexlen = (size_t)(s + n - hex);
	if (memchr(hex, '$', hexlen) || !is_hex(hex, hexlen))
		return false;
	size_t mlen = (size_t)(d1 - s);
	char method[64];
	if (mlen >= sizeof method)
		return false;
	memcpy(method, s, mlen);
	method[mlen] = '\0';
	static const struct {
		const char *name;
		size_t hexlen;
	} digests[] = {
	        {"sha1", 40}, {"sha224", 56}, {"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	if (strncmp(method, "pbkdf2:", 7) == 0) {
		char *name = method + 7, *iter = strchr(name, ':');
		if (iter != NULL) {
			*iter++ = '\0';
			if (!all_digits(iter, strlen(iter)) || strlen(iter) > 9)
				return false;
		}
		for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++)
			if (strcmp(name, digests[i].name) == 0)
				return hexlen == digests[i].hexlen;
		return false;
	}
	if (strncmp(method, "scrypt", 6) == 0) {
		const char *p = method + 6;
		if (*p == ':') {
			int parts = 0;
			for (const char *q = p; *q != '\0';) {
				size_t k = strspn(q + 1, "0123456789");
				if (*q != ':' || k == 0 || k > 9)
					return false;
				q += 1 + k;
				parts++;
			}
			if (parts != 3)
				return false;
		} else if (*p != '\0') {
			return false;
		}
		return hexlen == 128;
	}
	return false;
}

static bool
check_pwhash(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
             size_t wsize)
{
	if (n > (size_t)c->max_chars || !pwhash_ok(s, n))
		return reason(why, wsize, s, n,
		              "is not a werkzeug (pbkdf2:sha256:N$salt$hex, scrypt:…) or bcrypt "
		              "($2b$…) hash");
	out->type = V_TEXT;
	out->s = s;
	out->n = n;
	return true;
}

static bool
trims(enum rule r)
{
	return r != RULE_TEXT && r != RULE_PASSWORD;
}

bool
valid_value(const struct validator *v, const struct col_def *c, const char *s, size_t n,
            struct value *out, char *why, size_t wsize)
{
	memset(out, 0, sizeof *out);
	if (trims(c->rule))
		trim(&s, &n);
	if (n == 0) {
		switch (c->empty_rule) {
		case EMPTY_REJECT:
			(void)snprintf(why, wsize, "is empty, but required");
			return false;
		case EMPTY_DEFAULT:
			return valid_value(v, c, c->empty, strlen(c->empty), out, why, wsize);
		default:
			out->type = V_NULL;
			return true;
		}
	}
	switch (c->rule) {
	case RULE_SKU:
		return check_sku(v, c, s, n, out, why, wsize);
	case RULE_TEXT:
	case RULE_PASSWORD:
		return check_text(c, s, n, out, why, wsize);
	case RULE_MONEY:
		return check_money(s, n, out, why, wsize);
	case RULE_INT:
		return check_int(c, s, n, out, why, wsize);
	case RULE_DATE:
		return check_date(s, n, out, why, wsize);
	case RULE_TIMESTAMP:
		return check_timestamp(v, s, n, out, why, wsize);
	case RULE_BOOL:
		return check_bool(s, n, out, why, wsize);
	case RULE_LABEL:
		return check_label(c, s, n, out, why, wsize);
	case RULE_EMAIL:
		return check_email(c, s, n, out, why, wsize);
	case RULE_PWHASH:
		return check_pwhash(c, s, n, out, why, wsize);
	}
	return false;
}

/* Appends "column: reason" to the row's reasons. */
static void
add_problem(char *why, size_t wsize, size_t *used, const char *col, const char *r)
{
	if (*used >= wsize)
		return;
	int k = snprintf(why + *used, wsize - *used, "%s%s%s%s", *used ? "; " : "", col,
	                 col[0] ? ": " : "", r);
	if (k > 0)
		*used += (size_t)k;
	if (*used >= wsize)
		*used = wsize;
}

/* A record of the wrong shape is rejected whole. */
static bool
shape_ok(const struct colmap *m, const struct csvrow_record *rec, char *why, size_t wsize)
{
	if (rec->error != NULL) {
		(void)snprintf(why, wsize, "malformed CSV: %s", rec->error);
		return false;
	}
	if (rec->nfields != m->nfields) {
		(void)snprintf(why, wsize, "the row has %d field%s, the header %d", rec->nfields,
		               rec->nfields == 1 ? "" : "s", m->nfields);
		return false;
	}
	return true;
}

bool
valid_row(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
          struct keyset *skus, struct valid_row *out, char *why, size_t wsize)
{
	const struct table_def *t = m->t;
	size_t used = 0;
	char r[384];
	why[0] = '\0';

	if (!shape_ok(m, rec, why, wsize))
		return false;
	int64_t *product = NULL;
	int one_of = 0, one_of_cols = 0;
	for (int c = 0; c < t->ncols; c++) {
		const struct col_def *cd = &t->cols[c];
		struct value *val = &out->v[c];
		int f = m->col_field[c];
		if (f < 0) {
			memset(val, 0, sizeof *val); /* V_ABSENT */
			continue;
		}
		if (!valid_value(v, cd, rec->fields[f], rec->lens[f], val, r, sizeof r)) {
			add_problem(why, wsize, &used, cd->name, r);
			continue;
		}
		if (cd->empty_rule == EMPTY_ONE_OF) {
			one_of_cols++;
			one_of += val->type != V_NULL;
		}
		if ((cd->flags & COL_REF) && skus != NULL) {
			product = keyset_find(skus, val->s, val->n, false, NULL);
			if (product == NULL) {
				(void)reason(r, sizeof r, val->s, val->n, "is not a known product");
				add_problem(why, wsize, &used, cd->name, r);
			}
		}
		if (cd->flags & COL_REF) {
			val->type = V_INT; /* the product id; the SKU stays in s, n */
			val->i = product ? product[0] : 0;
		}
	}
	if (one_of_cols > 0 && one_of != 1)
		add_problem(why, wsize, &used, "password_hash/password",
		            one_of == 0 ? "one of the two is required"
		                        : "give one of the two, not both");
	if (used > 0)
		return false;
	/* An empty (or missing) price_per_unit takes the product's price. */
	for (int c = 0; c < t->ncols; c++)
		if (t->cols[c].empty_rule == EMPTY_REF &&
		    (out->v[c].type == V_NULL || out->v[c].type == V_ABSENT) && product != NULL) {
			out->v[c].type = V_MONEY;
			out->v[c].i = product[1];
		}
	return true;
}

void
valid_show_key(const struct table_def *t, const struct valid_row *row, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int k = 0; k < t->nkey && n < size; k++) {
		const struct value *v = &row->v[t->key[k]];
		char part[160];
		if (v->type == V_DATE) {
			int y, m, d;
			valid_civil_from_days(v->i, &y, &m, &d);
			(void)snprintf(part, sizeof part, "%04d-%02d-%02d", y, m, d);
		} else {
			valid_show(part, sizeof part, v->s, v->n);
		}
		n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? "+" : "", part);
	}
}

bool
valid_row_keys(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
               struct valid_row *out, char *why, size_t wsize)
{
	const struct table_def *t = m->t;
	size_t used = 0;
	char r[384];
	why[0] = '\0';
	if (!shape_ok(m, rec, why, wsize))
		return false;
	for (int c = 0; c < t->ncols; c++) {
		const struct col_def *cd = &t->cols[c];
		int f = m->col_field[c];
		memset(&out->v[c], 0, sizeof out->v[c]);
		if (f < 0 || !(cd->flags & (COL_KEY | COL_REF)))
			continue;
		if (!valid_value(v, cd, rec->fields[f], rec->lens[f], &out->v[c], r, sizeof r))
			add_problem(why, wsize, &used, cd->name, r);
	}
	return used == 0;
}

void
valid_columns(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
              struct valid_row *out, bool *ok)
{
	const struct table_def *t = m->t;
	char r[384];
	bool shaped = rec->error == NULL && rec->nfields == m->nfields;
	for (int c = 0; c < t->ncols; c++) {
		int f = m->col_field[c];
		memset(&out->v[c], 0, sizeof out->v[c]);
		ok[c] = false;
		if (f < 0 || !shaped) {
			ok[c] = f < 0; /* absent is fine: not compared */
			continue;
		}
		ok[c] = valid_value(v, &t->cols[c], rec->fields[f], rec->lens[f], &out->v[c], r,
		                    sizeof r);
	}
}

/* ---- set-up -------------------------------------------------------------- */

enum etl_code
valid_open(struct validator **out, const struct valid_opts *o, struct etl_error *err)
{
	struct validator *v = calloc(1, sizeof *v);
	*out = NULL;
	if (v == NULL)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	if (o->sku_pattern != NULL) {
		int rc = regcomp(&v->re, o->sku_pattern, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[256];
			(void)regerror(rc, &v->re, msg, sizeof msg);
			free(v);
			return error_set(err, ETL_EUSAGE, NULL, 0, "--sku-pattern: %s", msg);
		}
		v->has_re = true;
	}
	enum etl_code rc = tz_open(&v->zone, o->timezone ? o->timezone : "UTC", err);
	if (rc != ETL_OK) {
		valid_close(v);
		return rc;
	}
	v->utc = tz_is_utc(v->zone);
	v->allow_future = o->allow_future;
	int32_t today = o->today;
	if (!o->fixed_today) {
		/* Today in the zone. */
		int64_t now = (int64_t)time(NULL);
		int64_t local = now + tz_offset(v->zone, now) - UNIX_2000;
		today = (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
	}
	v->max_date = today + 1;
	*out = v;
	return ETL_OK;
}

void
valid_close(struct validator *v)
{
	if (v == NULL)
		return;
	if (v->has_re)
		regfree(&v->re);
	tz_close(v->zone);
	free(v);
}

int32_t
valid_max_date(const struct validator *v)
{
	return v->max_date;
}
