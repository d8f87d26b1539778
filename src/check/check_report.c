/*
 * check_report.c — what the pre-check writes: each line the load would not
 * simply insert, as it is decided, then each file's totals and the run's,
 * as text, CSV or JSON.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check_impl.h"
#include "csvout.h"
#include "report.h"

static const char *const outcome_names[OUT_STOP + 1] = {"insert", "update", "unchanged", "skip",
                                                        "reject", "",       "stop"};
static const char *const outcome_text[OUT_STOP + 1] = {
        "will be inserted",       "will update the row", "will leave the row unchanged",
        "will be skipped",        "will be rejected",    "",
        "the load stops after it"};
static const char *const mode_names[] = {"error", "skip", "update"};

void
check_report_head(struct check *c)
{
	if (c->started)
		return;
	c->started = true;
	FILE *out = c->o.out;
	switch (c->o.format) {
	case CHECK_TEXT:
		fprintf(out, "what a load with --on-conflict %s would do%s\n",
		        mode_names[c->o.mode],
		        c->database_checked ? "" : " (no database: keys against the files only)");
		if (!c->database_checked && c->db_why[0] != '\0')
			fprintf(out, "%s\n", c->db_why);
		break;
	case CHECK_CSV:
		fputs("file,line,kind,key,outcome,reason\n", out);
		break;
	case CHECK_JSON:
		fprintf(out, "{\"on_conflict\": \"%s\", \"database_checked\": %s, \"lines\": [",
		        mode_names[c->o.mode], c->database_checked ? "true" : "false");
		break;
	}
}

void
check_report_line(struct check *c, long line, enum outcome what, const char *key,
                  const char *reason)
{
	const struct check_file *f = &c->files[c->nfiles - 1];
	FILE *out = c->o.out;
	switch (c->o.format) {
	case CHECK_TEXT:
		if (line > 0)
			fprintf(out, "%s:%ld: %s: %s\n", f->name, line, outcome_text[what], reason);
		else
			fprintf(out, "%s: %s: %s\n", f->name, outcome_text[what], reason);
		break;
	case CHECK_CSV: {
		struct buf b = {0};
		char num[24];
		int n = line > 0 ? snprintf(num, sizeof num, "%ld", line) : 0;
		csv_put_field(&b, f->name, strlen(f->name), ',', true);
		csv_put_field(&b, num, (size_t)n, ',', false);
		csv_put_field(&b, f->t->name, strlen(f->t->name), ',', false);
		csv_put_field(&b, key ? key : "", key ? strlen(key) : 0, ',', false);
		csv_put_field(&b, outcome_names[what], strlen(outcome_names[what]), ',', false);
		csv_put_field(&b, reason, strlen(reason), ',', false);
		buf_put(&b, "\n", 1);
		if (b.failed)
			c->failed = true;
		else
			fwrite(b.data, 1, b.len, out);
		buf_free(&b);
		break;
	}
	case CHECK_JSON:
		fprintf(out, "%s\n  {\"file\": ", c->written ? "," : "");
		report_json_string(out, f->name);
		fprintf(out, ", \"line\": %ld, \"kind\": \"%s\", \"key\": ", line, f->t->name);
		if (key != NULL)
			report_json_string(out, key);
		else
			fputs("null", out);
		fprintf(out, ", \"outcome\": \"%s\", \"reason\": ", outcome_names[what]);
		report_json_string(out, reason);
		fputs("}", out);
		break;
	}
	c->written++;
}

/* "3 inserted, 1 rejected" of the counts that are not zero ("nothing"). */
static void
counts(FILE *out, const uint64_t *n)
{
	static const char *const past[OUT_COUNT] = {"inserted", "updated", "unchanged", "skipped",
	                                            "rejected"};
	int shown = 0;
	for (int i = 0; i < OUT_COUNT; i++)
		if (n[i] > 0)
			fprintf(out, "%s%" PRIu64 " %s", shown++ ? ", " : "", n[i], past[i]);
	if (shown == 0)
		fputs("no rows", out);
}

void
check_report_file(struct check *c, const struct check_file *f)
{
	if (c->o.format != CHECK_TEXT)
		return;
	FILE *out = c->o.out;
	if (f->t == NULL) {
		fprintf(out, "%s: cannot be read: %s\n", f->name, f->failed);
		return;
	}
	fprintf(out, "%s (%s): ", f->name, f->t->name);
	counts(out, f->n);
	if (f->stopped)
		fputs("; then the load stops it (exit 5), to resume", out);
	if (f->failed != NULL)
		fprintf(out, "; then it cannot be read on: %s", f->failed);
	fputs("\n", out);
}

void
check_report_end(struct check *c)
{
	FILE *out = c->o.out;
	uint64_t total[OUT_COUNT] = {0};
	for (int i = 0; i < c->nfiles; i++)
		for (int k = 0; k < OUT_COUNT; k++)
			total[k] += c->files[i].n[k];
	switch (c->o.format) {
	case CHECK_TEXT: {
		int bad = 0;
		for (int i = 0; i < c->nfiles; i++)
			bad += c->files[i].failed != NULL;
		fputs("total: ", out);
		counts(out, total);
		if (bad > 0)
			fprintf(out, "; %d file%s cannot be read (the load fails %s)\n", bad,
			        bad == 1 ? "" : "s", bad == 1 ? "it" : "them");
		else
			fprintf(out, "%s\n",
			        total[OUT_REJECT] > 0 ? "" : "; nothing would be rejected");
		break;
	}
	case CHECK_CSV:
		break;
	case CHECK_JSON:
		fputs(c->written ? "\n], \"files\": [" : "], \"files\": [", out);
		for (int i = 0; i < c->nfiles; i++) {
			const struct check_file *f = &c->files[i];
			fprintf(out, "%s\n  {\"file\": ", i ? "," : "");
			report_json_string(out, f->name);
			if (f->t != NULL)
				fprintf(out, ", \"kind\": \"%s\"", f->t->name);
			else
				fputs(", \"kind\": null", out);
			for (int k = 0; k < OUT_COUNT; k++)
				fprintf(out, ", \"%s\": %" PRIu64, outcome_names[k], f->n[k]);
			fprintf(out, ", \"stopped\": %s", f->stopped ? "true" : "false");
			fputs(", \"same_content_as\": ", out);
			if (f->same_as != NULL)
				report_json_string(out, f->same_as);
			else
				fputs("null", out);
			fputs(", \"error\": ", out);
			if (f->failed != NULL)
				report_json_string(out, f->failed);
			else
				fputs("null", out);
			fputs("}", out);
		}
		fputs(c->nfiles ? "\n], \"total\": {" : "], \"total\": {", out);
		for (int k = 0; k < OUT_COUNT; k++)
			fprintf(out, "%s\"%s\": %" PRIu64, k ? ", " : "", outcome_names[k],
			        total[k]);
		fputs("}}\n", out);
		break;
	}
}
