/*
 * signals.c — noting SIGINT/SIGTERM and cancelling the running query.
 */
#include "signals.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

static volatile sig_atomic_t received;
/* One query to cancel per thread that loads (--jobs): a slot each. */
#define SLOTS 64
static PGcancel *volatile cancel_target[SLOTS];
static _Thread_local int slot;

static void
on_signal(int sig)
{
	received = sig;
	for (int i = 0; i < SLOTS; i++) {
		PGcancel *c = cancel_target[i];
		if (c != NULL) {
			char buf[256];
			(void)PQcancel(c, buf, sizeof buf);
		}
	}
}

void
signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

int
signals_received(void)
{
	return received;
}

void
signals_set_cancel(PGcancel *cancel)
{
	cancel_target[slot] = cancel;
}

void
signals_use_slot(int n)
{
	slot = n >= 0 && n < SLOTS ? n : 0;
}
