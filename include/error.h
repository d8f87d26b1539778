/*
 * error.h — one error type for the whole program.
 *
 * An error is filled in where it is found (code, file, line, message) and
 * printed once, at the top, as "siprems-etl: FILE:LINE: message".  Library
 * code returns an etl_code; only main.c turns codes into exit statuses,
 * through error_exit_status().
 */
#ifndef SIPREMS_ERROR_H
#define SIPREMS_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Ordered by severity: when several files end differently, the run reports
 * the most severe code (see error_worst()). */
enum etl_code {
	ETL_OK = 0,   /* done, nothing to report */
	ETL_REJECTED, /* done, but rows were rejected / check found something */
	ETL_EINPUT,   /* unreadable or malformed input file; nothing of it loaded */
	ETL_EDB,      /* cannot connect, permission denied, incompatible schema */
	ETL_ESTOPPED, /* interrupted or --max-rejects exceeded; resumable */
	ETL_ELOCKED,  /* another session's lock kept the load waiting past
	                 --lock-timeout, or it gave way to one; resumable */
	ETL_ESYSTEM,  /* out of memory, disk full: stopped, resumable */
	ETL_EUSAGE,   /* bad command line */
};

struct etl_error {
	enum etl_code code;
	char file[512]; /* "" when the error has no file */
	long line;      /* 0 when the error has no line */
	char msg[1024];
	char sqlstate[6]; /* a database error's SQLSTATE, or "" */
};

/* Clears err to "no error".  err may be NULL. */
void error_clear(struct etl_error *err);

/*
 * Records an error in err (which may be NULL) and returns code, so callers
 * can write "return error_set(err, ETL_EINPUT, path, line, "...", ...)".
 * file may be NULL; line 0 means "no line".  The message follows the
 * project's style: lowercase, no trailing period.
 */
enum etl_code error_set(struct etl_error *err, enum etl_code code, const char *file, long line,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
enum etl_code error_vset(struct etl_error *err, enum etl_code code, const char *file, long line,
                         const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * Records "out of memory" (ETL_ESYSTEM) in err and returns it; when the
 * key memory bound (keyset.h) refused the memory, says that instead and
 * how to lift it.
 */
enum etl_code error_oom(struct etl_error *err, const char *file, long line);

/*
 * Replaces, in place, every password that msg may quote with "***": the
 * one in a URI's user information (scheme://user:PASSWORD@host) and the
 * value of a password keyword (password=..., quoted or not, also as a URI
 * parameter).  Every message the program prints goes through it, since
 * libpq quotes a connection string it cannot parse whole.  msg is in a
 * buffer of size bytes: a text made longer ("p" becomes "***") is cut at
 * its end, never written past it.
 */
void error_redact(char *msg, size_t size);

/*
 * A secret the tool was given (a database password, as written in a URI,
 * a conninfo string, .env or the environment, and decoded): error_redact()
 * masks every appearance of it, whatever the message around it.  Call
 * before any thread starts.  error_forget_secrets() forgets them (tests).
 */
void error_add_secret(const char *s, size_t n);
void error_forget_secrets(void);

/* Formats err as "siprems-etl: FILE:LINE: msg" into buf (always terminated). */
void error_format(const struct etl_error *err, char *buf, size_t size);

/* Prints err to stderr in the format above, followed by a newline. */
void error_print(const struct etl_error *err);

/* Prints a warning "siprems-etl: warning: ..." to stderr. */
void warnx_etl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --verbose: verbosex_etl() prints, else it does nothing. */
extern bool etl_verbose;

/* Prints "siprems-etl: ..." to stderr when etl_verbose is set. */
void verbosex_etl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a note "siprems-etl: ..." to stderr: something worth knowing that
 * is not wrong. */
void notex_etl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The more severe of two codes. */
enum etl_code error_worst(enum etl_code a, enum etl_code b);

/* The process exit status of a code, per the exit-status table (README, man page). */
int error_exit_status(enum etl_code code);

/* A short name of a code, for logs and tests ("input error"). */
const char *error_code_name(enum etl_code code);

#endif
