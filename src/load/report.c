/*
 * report.c — summary table and JSON.
 */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safefile.h"
#include "valid.h"
#include "text.h"

static void
sum(const struct file_result *r, int n, struct file_result *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < n; i++) {
		t->rows_read += r[i].rows_read;
		t->rows_loaded += r[i].rows_loaded;
		t->rows_updated += r[i].rows_updated;
		t->rows_skipped += r[i].rows_skipped;
		t->rows_rejected += r[i].rows_rejected;
		t->seconds += r[i].seconds;
	}
}

void
report_table(FILE *out, const struct file_result *r, int n, bool dry_run)
{
	int w = 4;
	for (int i = 0; i < n; i++) {
		int len = (int)strlen(r[i].file);
		if (len > w)
			w = len;
	}
	if (w > 72) /* seed's names fit; a long path keeps its end */
		w = 72;
	(void)fprintf(out, "%-*s  %-8s  %-7s  %10s  %10s  %8s  %8s  %8s  %8s\n", w, "file", "kind",
	              "status", "read", dry_run ? "valid" : "loaded", "updated", "skipped",
	              "rejected", "seconds");
	for (int i = 0; i < n; i++) {
		const char *f = r[i].file;
		int len = (int)strlen(f);
		/* A dry run loads nothing: its rows are valid, not loaded. */
		const char *status =
		        dry_run && strcmp(r[i].status, "loaded") == 0 ? "valid" : r[i].status;
		(void)fprintf(out, "%-*s  %-8s  %-7s  %10llu  %10llu  %8llu  %8llu  %8llu  %8.2f\n",
		              w, len > w ? f + len - w : f, r[i].kind ? r[i].kind : "-", status,
		              (unsigned long long)r[i].rows_read,
		              (unsigned long long)r[i].rows_loaded,
		              (unsigned long long)r[i].rows_updated,
		              (unsigned long long)r[i].rows_skipped,
		              (unsigned long long)r[i].rows_rejected, r[i].seconds);
	}
	if (n > 1) {
		struct file_result t;
		sum(r, n, &t);
		(void)fprintf(out, "%-*s  %-8s  %-7s  %10llu  %10llu  %8llu  %8llu  %8llu  %8.2f\n",
		              w, "total", "", "", (unsigned long long)t.rows_read,
		              (unsigned long long)t.rows_loaded, (unsigned long long)t.rows_updated,
		              (unsigned long long)t.rows_skipped,
		              (unsigned long long)t.rows_rejected, t.seconds);
	}
	for (int i = 0; i < n; i++)
		if (r[i].reject_file != NULL)
			(void)fprintf(out, "rejected rows of %s: %s\n", r[i].file,
			              r[i].reject_file);
	if (dry_run)
		(void)fprintf(out, "dry run: nothing was written to the database\n");
}

void
report_json_bytes(FILE *f, const char *s, size_t n)
{
	(void)fputc('"', f);
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			/* Copy a valid UTF-8 sequence whole, or replace the byte. */
			size_t len = (c & 0xE0) == 0xC0   ? 2
			             : (c & 0xF0) == 0xE0 ? 3
			             : (c & 0xF8) == 0xF0 ? 4
			                                  : 1;
			size_t chars;
			if (len > 1 && i + len <= n && text_utf8(s + i, len, &chars, NULL)) {
				(void)fwrite(s + i, 1, len, f);
				i += len;
			} else {
				(void)fputs("\\ufffd", f);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"':
			(void)fputs("\\\"", f);
			break;
		case '\\':
			(void)fputs("\\\\", f);
			break;
		case '\n':
			(void)fputs("\\n", f);
			break;
		case '\r':
			(void)fputs("\\r", f);
			break;
		case '\t':
			(void)fputs("\\t", f);
			break;
		default:
			if (c < 0x20)
				(void)fprintf(f, "\\u%04x", c);
			else
				(void)fputc(c, f);
		}
		i++;
	}
	(void)fputc('"', f);
}

void
report_json_string(FILE *f, const char *s)
{
	if (s == NULL)
		(void)fputs("null", f);
	else
		report_json_bytes(f, s, strlen(s));
}

static void
counts(FILE *f, const struct file_result *r)
{
	(void)fprintf(f,
	              "\"rows_read\": %llu, \"rows_loaded\": %llu, \"rows_updated\": %llu, "
	              "\"rows_skipped\": %llu, \"rows_rejected\": %llu",
	              (unsigned long long)r->rows_read, (unsigned long long)r->rows_loaded,
	              (unsigned long long)r->rows_updated, (unsigned long long)r->rows_skipped,
	              (unsigned long long)r->rows_rejected);
}

enum etl_code
report_json(const char *path, const struct file_result *r, int n, int exit_code, const char *error,
            struct etl_error *err)
{
	bool to_stdout = strcmp(path, "-") == 0;
	/* Written beside path under a name of its own, then renamed over it:
	 * never through a link that stands at path. */
	char *tmp = NULL;
	int fd = to_stdout ? -1 : safefile_temp(path, 0644, &tmp);
	FILE *f = to_stdout ? stdout : fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		int e = errno;
		if (fd >= 0) {
			(void)close(fd);
			(void)safefile_unlink(tmp);
		}
		free(tmp);
		return error_set(err, ETL_ESYSTEM, path, 0, "cannot write the summary: %s",
		                 strerror(e));
	}
	(void)fputs("{\"files\": [", f);
	for (int i = 0; i < n; i++) {
		(void)fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", f);
		report_json_string(f, r[i].file);
		(void)fputs(", \"kind\": ", f);
		report_json_string(f, r[i].kind);
		(void)fputs(", \"status\": ", f);
		report_json_string(f, r[i].status);
		(void)fputs(", ", f);
		counts(f, &r[i]);
		(void)fputs(", \"reject_file\": ", f);
		report_json_string(f, r[i].reject_file);
		if (r[i].load_id > 0)
			(void)fprintf(f, ", \"load_id\": %lld", (long long)r[i].load_id);
		else
			(void)fputs(", \"load_id\": null", f);
		(void)fprintf(f, ", \"seconds\": %.3f", r[i].seconds);
		if (r[i].error != NULL) {
			(void)fputs(", \"error\": ", f);
			report_json_string(f, r[i].error);
		}
		(void)fputc('}', f);
	}
	struct file_result t;
	sum(r, n, &t);
	(void)fputs("],\n \"totals\": {", f);
	counts(f, &t);
	(void)fprintf(f, ", \"seconds\": %.3f},\n \"exit_code\": %d", t.seconds, exit_code);
	if (error != NULL) {
		(void)fputs(",\n \"error\": ", f);
		report_json_string(f, error);
	}
	(void)fputs("}\n", f);
	bool bad = ferror(f) != 0;
	if (to_stdout) {
		bad |= fflush(f) != 0;
	} else {
		bad |= fclose(f) != 0;
		if (bad)
			(void)safefile_unlink(tmp);
		else
			bad = !safefile_commit(tmp, path);
		free(tmp);
	}
	if (bad)
		return error_set(err, ETL_ESYSTEM, to_stdout ? "stdout" : path, 0,
		                 "cannot write the summary: %s", strerror(errno));
	return ETL_OK;
}
