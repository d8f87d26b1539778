/*
 * signals.h — SIGINT and SIGTERM during a load.
 *
 * The handler only notes the signal (an atomic) and wakes a thread of this
 * module through a pipe; that thread asks the server to cancel every query
 * that runs, so that a long COPY stops at once.  The load then rolls its
 * open batch back, records where it stopped and ends with exit status 5.
 */
#ifndef SIPREMS_SIGNALS_H
#define SIPREMS_SIGNALS_H

#include <libpq-fe.h>

/* Installs the handlers for SIGINT and SIGTERM. */
void signals_install(void);

/* The signal received (SIGINT, SIGTERM), or 0. */
int signals_received(void);

/* The query to cancel when a signal comes (NULL: none).  The caller keeps
 * ownership; set it back to NULL before freeing it. */
void signals_set_cancel(PGcancel *cancel);

/* The calling thread's slot for signals_set_cancel() (0 to 64: the main
 * thread's is 0, --jobs' connections 1 to 64): a signal cancels the query of
 * every slot. */
void signals_use_slot(int n);

#endif
