/*
 * progress.c — the progress line.
 *
 * The first line is drawn at the first update (after 1024 rows), then at
 * most every REFRESH seconds: a short load on a terminal still shows where
 * it is, and how often the line is redrawn never decides whether it is.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REFRESH 0.25 /* seconds between redraws */

struct progress {
	char name[64];
	int64_t total;
	double start, last;
	uint64_t calls;
	bool drawn;
};

static double
now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress *
progress_start(const char *name, int64_t total, bool enabled)
{
	if (!enabled || !isatty(STDERR_FILENO))
		return NULL;
	struct progress *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	size_t n = strlen(name);
	/* The end of a long path says more than its beginning. */
	(void)snprintf(p->name, sizeof p->name, "%s", n >= sizeof p->name ? name + n - 40 : name);
	p->total = total;
	p->start = p->last = now();
	return p;
}

/* 1234567 -> "1,234,567" */
static void
grouped(char *buf, size_t size, uint64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void
progress_update(struct progress *p, uint64_t rows, uint64_t bytes)
{
	if (p == NULL || (++p->calls & 1023) != 0)
		return;
	double t = now();
	if (p->drawn && t - p->last < REFRESH)
		return;
	p->last = t;
	double elapsed = t - p->start;
	char r[32], rate[32], line[256];
	grouped(r, sizeof r, rows);
	grouped(rate, sizeof rate, elapsed > 0 ? (uint64_t)((double)rows / elapsed) : 0);
	int k = snprintf(line, sizeof line, "%s  %s rows  %.1f", p->name, r, (double)bytes / 1e6);
	if (p->total > 0) {
		double frac = (double)bytes / (double)p->total;
		if (frac > 1)
			frac = 1;
		k += snprintf(line + k, sizeof line - (size_t)k, "/%.1f MB  %s rows/s  %.0f%%",
		              (double)p->total / 1e6, rate, frac * 100);
		if (frac > 0.001) {
			long eta = (long)(elapsed / frac - elapsed + 0.5);
			k += snprintf(line + k, sizeof line - (size_t)k, "  ETA %ld:%02ld",
			              eta / 60, eta % 60);
		}
	} else {
		k += snprintf(line + k, sizeof line - (size_t)k, " MB  %s rows/s", rate);
	}
	(void)fprintf(stderr, "\r\033[K%s", line);
	(void)fflush(stderr);
	p->drawn = true;
}

void
progress_done(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->drawn)
		(void)fputs("\r\033[K", stderr);
	free(p);
}
