/*
 * signals.c — noting SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE, and
 * cancelling the running queries.
 *
 * The handler does what is safe in any thread at any moment: it stores the
 * signal in an atomic and writes a byte to a pipe.  A thread of its own
 * reads the pipe and sends the cancel requests, one at a time outside the
 * lock, each slot marked meanwhile: signals_set_cancel() waits only for its
 * own slot's request, so no cancel object is freed while it is used and no
 * loading thread waits for another's server.
 */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static atomic_int received;
/* One query to cancel per thread that loads: the main thread's slot 0 and
 * one for each of --jobs' 64 connections at most. */
#define SLOTS 65
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t settled = PTHREAD_COND_INITIALIZER;
static PGcancel *cancel_target[SLOTS]; /* under lock */
static bool cancelling[SLOTS];         /* under lock: its PQcancel() runs */
static _Thread_local int slot;
static int wake[2] = {-1, -1};

static void
on_signal(int sig)
{
	int saved = errno;
	int none = 0;
	/* The first signal is the one the load reports. */
	(void)atomic_compare_exchange_strong(&received, &none, sig);
	char b = (char)sig;
	if (write(wake[1], &b, 1) < 0) {
		/* The pipe is full: a cancel is on its way already. */
	}
	errno = saved;
}

/* The thread that cancels: each byte in the pipe, every armed query. */
static void *
canceller(void *arg)
{
	(void)arg;
	for (;;) {
		char b[64]; /* signals that came together: one pass */
		ssize_t n = read(wake[0], b, sizeof b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		/* Each request outside the lock (it waits for the server), its
		 * slot marked so that its thread does not free it meanwhile. */
		pthread_mutex_lock(&lock);
		for (int i = 0; i < SLOTS; i++) {
			PGcancel *c = cancel_target[i];
			if (c == NULL)
				continue;
			cancelling[i] = true;
			pthread_mutex_unlock(&lock);
			char buf[256];
			(void)PQcancel(c, buf, sizeof buf);
			pthread_mutex_lock(&lock);
			cancelling[i] = false;
			pthread_cond_broadcast(&settled);
		}
		pthread_mutex_unlock(&lock);
	}
}

void
signals_install(void)
{
	static bool installed;
	if (installed)
		return;
	/* Without the pipe and its thread the signal is still noted; only
	 * the running query is not cancelled at once. */
	if (pipe2(wake, O_CLOEXEC) == 0) {
		(void)fcntl(wake[1], F_SETFL, fcntl(wake[1], F_GETFL) | O_NONBLOCK);
		pthread_attr_t attr;
		pthread_t t;
		sigset_t all, old;
		(void)sigfillset(&all);
		/* The canceller never runs the handler itself. */
		(void)pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_attr_init(&attr) == 0) {
			(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			(void)pthread_create(&t, &attr, canceller, NULL);
			(void)pthread_attr_destroy(&attr);
		}
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		struct sigaction was;
		/* nohup's SIGHUP, a caller's SIGPIPE, ignored: left so. */
		if ((stops[i] == SIGHUP || stops[i] == SIGPIPE) &&
		    sigaction(stops[i], NULL, &was) == 0 && was.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(stops[i], &sa, NULL);
	}
	/* A file over the size limit (ulimit -f) is a failed write (EFBIG),
	 * an error like a full disk, not the end of the process. */
	(void)signal(SIGXFSZ, SIG_IGN);
	installed = true;
}

const char *
signals_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGPIPE:
		return "SIGPIPE";
	default:
		return "a signal";
	}
}

int
signals_received(void)
{
	return atomic_load(&received);
}

void
signals_set_cancel(PGcancel *cancel)
{
	pthread_mutex_lock(&lock);
	while (cancelling[slot])
		pthread_cond_wait(&settled, &lock);
	cancel_target[slot] = cancel;
	pthread_mutex_unlock(&lock);
}

void
signals_use_slot(int n)
{
	slot = n >= 0 && n < SLOTS ? n : 0;
}
