/*
 * valid_rules.c — one value against its column's rule: text, SKUs, money,
 * integers, booleans, labels, e-mail addresses and password hashes; dates
 * and timestamps are valid_time.c's.
 */
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "pwhash.h"
#include "tzfile.h"
#include "valid_impl.h"
#include "text.h"

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

/* ---- the rules ------------------------------------------------------------ */

static bool
check_text(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
           size_t wsize)
{
	size_t chars, bad;
	bool secret = c->flags & COL_SECRET;
	if (!text_utf8(s, n, &chars, &bad)) {
		if (secret)
			(void)snprintf(why, wsize, "is not valid UTF-8 (byte %zu)%s", bad + 1,
			               memchr(s, 0, n) ? " or holds a NUL byte" : "");
		else if (s[bad] == '\0')
			(void)valid_reason(why, wsize, s, n, "holds a NUL byte (byte %zu)",
			                   bad + 1);
		else
			(void)valid_reason(why, wsize, s, n, "is not valid UTF-8 (byte %zu)",
			                   bad + 1);
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
			return valid_reason(why, wsize, s, n, "is too long for the SKU pattern");
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
		return valid_reason(why, wsize, s, n, "does not match the SKU pattern %s",
		                    v->has_re ? "given by --sku-pattern"
		                              : "^[A-Za-z0-9][A-Za-z0-9._/-]*$");
	return true;
}

/*
 * The plain form of a number written the file's way, into buf: for money,
 * the --currency symbol taken off (before or after the number, spaces
 * between allowed); with --decimal-comma, the thousands marks ('.', a space
 * or a no-break space, groups of three) dropped and the decimal comma made
 * a point.  Returns true with *len set, or false with the reason.
 */
static bool
plain_number(const struct validator *v, bool money, const char *s, size_t n, char *buf, size_t size,
             size_t *len, char *why, size_t wsize)
{
	const char *p = s, *e = s + n;
	bool neg = false;
	*len = 0;
	if (p < e && *p == '-') {
		neg = true;
		p++;
	}
	if (money && v->ncurrency > 0) {
		if ((size_t)(e - p) >= v->ncurrency &&
		    strncasecmp(p, v->currency, v->ncurrency) == 0) {
			p += v->ncurrency;
			while (p < e && *p == ' ')
				p++;
		} else if ((size_t)(e - p) >= v->ncurrency &&
		           strncasecmp(e - v->ncurrency, v->currency, v->ncurrency) == 0) {
			e -= v->ncurrency;
			while (e > p && e[-1] == ' ')
				e--;
		}
		if (!neg && p < e && *p == '-') {
			neg = true;
			p++;
		}
	}
	if ((size_t)(e - p) + 2 > size)
		return valid_reason(why, wsize, s, n, "is too long for a number");
	if (neg)
		buf[(*len)++] = '-';
	if (!v->decimal_comma) {
		memcpy(buf + *len, p, (size_t)(e - p));
		*len += (size_t)(e - p);
		return true;
	}
	/* --decimal-comma: digits in groups, then an optional ",dd". */
	int group = -1; /* digits in the current group; -1 before the first mark */
	size_t first = 0;
	char mark = 0;
	bool comma = false;
	while (p < e) {
		unsigned char ch = (unsigned char)*p;
		size_t w = 1;
		char kind = 0;
		if (ch == '.' || ch == ' ')
			kind = (char)ch;
		else if (ch == 0xc2 && e - p >= 2 && (unsigned char)p[1] == 0xa0)
			kind = ' ', w = 2; /* U+00A0 no-break space */
		else if (ch == 0xe2 && e - p >= 3 && (unsigned char)p[1] == 0x80 &&
		         (unsigned char)p[2] == 0xaf)
			kind = ' ', w = 3; /* U+202F narrow no-break space */
		if (kind != 0 && !comma) {
			if ((group < 0 && (first == 0 || first > 3)) || group == 0 ||
			    (group > 0 && group != 3) || (mark != 0 && mark != kind))
				goto bad;
			mark = kind;
			group = 0;
		} else if (ch == ',' && !comma) {
			if (group >= 0 && group != 3)
				goto bad;
			comma = true;
			buf[(*len)++] = '.';
		} else if (isdigit(ch)) {
			if (!comma) {
				if (group < 0)
					first++;
				else
					group++;
			}
			buf[(*len)++] = (char)ch;
		} else {
			goto bad;
		}
		p += w;
	}
	if (group >= 0 && group != 3)
		goto bad;
	return true;
bad:
	return valid_reason(why, wsize, s, n,
	                    "is not a number with a decimal comma (thousands grouped by three "
	                    "with '.' or a space, as in 1.250.000,50)");
}

/* A money value; os, on is the value as written, for messages. */
static bool
check_money(const char *s, size_t n, const char *os, size_t on, struct value *out, char *why,
            size_t wsize)
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
	if ((ilen > 0 && !text_all_digits(p, ilen)) ||
	    (flen > 0 && !text_all_digits(dot + 1, flen)) || ilen + flen == 0)
		return valid_reason(why, wsize, os, on,
		                    "is not a plain decimal (digits, an optional '.' and cents)");
	if (flen > 2)
		return valid_reason(why, wsize, os, on, "has more than 2 decimals");
	while (ilen > 1 && *p == '0') {
		p++;
		ilen--;
	}
	if (ilen > 10)
		return valid_reason(why, wsize, os, on, "is more than 99999999.99");
	int64_t cents = 0;
	for (size_t i = 0; i < ilen; i++)
		cents = cents * 10 + (p[i] - '0');
	cents *= 100;
	if (flen >= 1)
		cents += (dot[1] - '0') * 10;
	if (flen == 2)
		cents += dot[2] - '0';
	if (neg && cents != 0)
		return valid_reason(why, wsize, os, on, "is negative");
	if (cents > MONEY_MAX_CENTS)
		return valid_reason(why, wsize, os, on, "is more than 99999999.99");
	out->type = V_MONEY;
	out->i = cents;
	return true;
}

static bool
check_int(const struct col_def *c, const char *s, size_t n, const char *os, size_t on,
          struct value *out, char *why, size_t wsize)
{
	const char *p = s;
	size_t len = n;
	bool neg = false;
	if (len > 0 && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
		len--;
	}
	if (!text_all_digits(p, len))
		return valid_reason(why, wsize, os, on, "is not an integer");
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
		return valid_reason(why, wsize, os, on, "is out of range %lld..%lld",
		                    (long long)c->min, (long long)c->max);
	out->type = V_INT;
	out->i = v;
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
	return valid_reason(why, wsize, s, n,
	                    "is not a boolean (true/false, t/f, yes/no, y/n, 1/0)");
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
	return valid_reason(why, wsize, s, n, "is not one of %s", list);
}

/* An e-mail address as HTML's input type=email accepts it: a dot-atom
 * local part (at most 64 characters), '@', and host name labels. */
static bool
check_email(const struct col_def *c, const char *s, size_t n, struct value *out, char *why,
            size_t wsize)
{
	static const char atext[] = "!#$%&'*+/=?^_`{|}~.-";
	if (n > (size_t)c->max_chars)
		return valid_reason(why, wsize, s, n, "has %zu characters, more than %d", n,
		                    c->max_chars);
	const char *at = memchr(s, '@', n);
	if (at == NULL || at == s || at - s > 64)
		return valid_reason(why, wsize, s, n, "is not an e-mail address");
	for (const char *p = s; p < at; p++)
		if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 0x80) && !strchr(atext, *p))
			return valid_reason(why, wsize, s, n, "is not an e-mail address");
	const char *d = at + 1, *end = s + n;
	if (d == end)
		return valid_reason(why, wsize, s, n, "is not an e-mail address");
	while (d < end) {
		const char *dot = memchr(d, '.', (size_t)(end - d));
		const char *lend = dot ? dot : end;
		size_t llen = (size_t)(lend - d);
		if (llen == 0 || llen > 63 || d[0] == '-' || lend[-1] == '-')
			return valid_reason(why, wsize, s, n, "is not an e-mail address");
		for (const char *p = d; p < lend; p++)
			if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 0x80) && *p != '-')
				return valid_reason(why, wsize, s, n, "is not an e-mail address");
		d = dot ? dot + 1 : end;
		if (dot != NULL && d == end)
			return valid_reason(why, wsize, s, n, "is not an e-mail address");
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
	    text_all_digits(s + 4, 2) && s[6] == '$') {
		int cost = text_digits(s + 4, 2);
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
			if (!text_all_digits(iter, strlen(iter)) || strlen(iter) > 9)
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
		return valid_reason(
		        why, wsize, s, n,
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
	if (v != NULL && v->nnull > 0 && n == v->nnull && memcmp(s, v->null, n) == 0)
		n = 0; /* --null */
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
	case RULE_INT: {
		char plain[64];
		size_t len;
		if (v == NULL ||
		    (!v->decimal_comma && (v->ncurrency == 0 || c->rule != RULE_MONEY)))
			return c->rule == RULE_MONEY ? check_money(s, n, s, n, out, why, wsize)
			                             : check_int(c, s, n, s, n, out, why, wsize);
		if (!plain_number(v, c->rule == RULE_MONEY, s, n, plain, sizeof plain, &len, why,
		                  wsize))
			return false;
		return c->rule == RULE_MONEY ? check_money(plain, len, s, n, out, why, wsize)
		                             : check_int(c, plain, len, s, n, out, why, wsize);
	}
	case RULE_DATE:
		return valid_check_date(v, s, n, out, why, wsize);
	case RULE_TIMESTAMP:
		return valid_check_timestamp(v, s, n, out, why, wsize);
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
