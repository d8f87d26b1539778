/*
 * text.c — text in messages: UTF-8 checks, and values shown quoted,
 * escaped and cut short so that a message stays one valid line.
 */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool
text_utf8(const char *str, size_t n, size_t *chars, size_t *bad)
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

void
text_show(char *buf, size_t size, const char *s, size_t n)
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
			    text_utf8(s + i, len, &chars, NULL)) {
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

const char *
text_s(long long n)
{
	return n == 1 ? "" : "s";
}
