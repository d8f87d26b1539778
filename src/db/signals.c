/*
 * signals.c — noting SIGINT/SIGTERM and cancelling the running queries.
 *
 * The handler does what is safe in any thread at any moment: it stores the
 * signal in an atomic and writes a byte to a pipe.  A thread of its own
 * reads the pipe and sends the cancel requests, under the lock that
 * signals_set_cancel() takes, so that no cancel object is used while a
 * loading thread disarms or frees it.
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
static PGcancel *cancel_target[SLOTS]; /* under lock */
static _Thread_local int slot;
static int wake[2] = {-1, -1};

static void
on_signal(int sig)
{
	int saved = errno;
	atomic_store(&received, sig);
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
		char b;
		ssize_t n = read(wake[0], &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		pthread_mutex_lock(&lock);
		for (int i = 0; i < SLOTS; i++)
			if (cancel_target[i] != NULL) {
				char buf[256];
				(void)PQcancel(cancel_target[i], buf, sizeof buf);
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
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	installed = true;
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
	cancel_target[slot] = cancel;
	pthread_mutex_unlock(&lock);
}

void
signals_use_slot(int n)
{
	slot = n >= 0 && n < SLOTS ? n : 0;
}
