/*
 * signals.h — SIGINT, SIGTERM, SIGHUP (a closed terminal or ssh session),
 * SIGQUIT and SIGPIPE (a closed output) during a load: each stops it the
 * same way.  SIGXFSZ is ignored, so that a file over `ulimit -f` is a failed
 * write (EFBIG), an error like a full disk.
 *
 * The handler only notes the signal (an atomic) and wakes a thread of this
 * module through a pipe; that thread asks the server to cancel every query
 * that runs, so that a long COPY stops at once.  The load then rolls its
 * open batch back, records where it stopped and ends with exit status 5.
 */
#ifndef SIPREMS_SIGNALS_H
#define SIPREMS_SIGNALS_H

#include <libpq-fe.h>

/* Installs the handlers (once). */
void signals_install(void);

/* The signal received, or 0. */
int signals_received(void);

/* "SIGINT", "SIGTERM", … for a signal of signals_received(). */
const char *signals_name(int sig);

/* The query to cancel when a signal comes (NULL: none).  The caller keeps
 * ownership; set it back to NULL before freeing it. */
void signals_set_cancel(PGcancel *cancel);

/* The calling thread's slot for signals_set_cancel() (0 to 64: the main
 * thread's is 0, --jobs' connections 1 to 64): a signal cancels the query of
 * every slot. */
void signals_use_slot(int n);

#endif
