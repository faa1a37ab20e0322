/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "macro.h"
#include "worker.h"

struct Workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;          /* a job was queued, or the pool stops */
	WorkerJob *queue, *queue_end; /* submitted, not started */
	unsigned n_queued;
	WorkerJob *finished; /* run, done() not called yet (LIFO; reversed when drained) */
	pthread_t threads[WORKER_THREADS];
	unsigned n_threads;
	unsigned n_running;
	unsigned n_pending; /* loop side: submitted and not done; read on the loop only */
	bool stopping;
	int event_fd; /* written when a job finished */
	sd_event_source *event_source;
};

static void *worker_main(void *userdata) {
	Workers *w = userdata;
	sigset_t all;

	/* Signals are the loop thread's (signalfd): none may land here. */
	(void) sigfillset(&all);
	(void) pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		WorkerJob *job;

		while (!w->queue && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->queue)
			break;
		job = w->queue;
		w->queue = job->next;
		if (!w->queue)
			w->queue_end = NULL;
		w->n_queued--;
		w->n_running++;
		pthread_mutex_unlock(&w->lock);

		job->run(job);

		pthread_mutex_lock(&w->lock);
		w->n_running--;
		job->next = w->finished;
		w->finished = job;
		/* An eventfd counter only overflows after 2^64-2 writes: the write cannot fail but
		 * for a closed fd, which the pool keeps open while threads run. */
		(void) eventfd_write(w->event_fd, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Runs the loop-side completions that are ready, without waiting: what the eventfd handler
 * and workers_free() do. */
static void workers_complete(Workers *w) {
	WorkerJob *done, *reversed = NULL;
	eventfd_t count;

	(void) eventfd_read(w->event_fd, &count);
	pthread_mutex_lock(&w->lock);
	done = w->finished;
	w->finished = NULL;
	pthread_mutex_unlock(&w->lock);
	/* In the order they finished. */
	while (done) {
		WorkerJob *next = done->next;
		done->next = reversed;
		reversed = done;
		done = next;
	}
	while (reversed) {
		WorkerJob *job = reversed;
		reversed = job->next;
		w->n_pending--;
		job->done(job);
	}
}

static int on_event_fd(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                       void *userdata) {
	workers_complete(userdata);
	return 0;
}

int workers_new(sd_event *event, Workers **ret) {
	_cleanup_(workers_freep) Workers *w = NULL;
	int r;

	assert(event);
	assert(ret);

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* First, so that workers_free() can take the pool apart from here on. */
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->event_fd < 0)
		return negative_errno();
	r = sd_event_add_io(event, &w->event_source, w->event_fd, EPOLLIN, on_event_fd, w);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(w);
	return 0;
}

/* A new thread when the queue holds more jobs than there are idle threads, up to the bound:
 * the pool grows with demand. */
static int workers_grow(Workers *w) {
	int r;

	if (w->n_threads == WORKER_THREADS || w->n_queued <= w->n_threads - w->n_running)
		return 0;
	r = -pthread_create(&w->threads[w->n_threads], NULL, worker_main, w);
	if (r < 0)
		return w->n_threads > 0 ? 0 : r; /* the threads there are will do */
	w->n_threads++;
	return 0;
}

int workers_submit(Workers *w, WorkerJob *job) {
	int r;

	assert(w);
	assert(job);
	assert(job->run && job->done);

	pthread_mutex_lock(&w->lock);
	job->next = NULL;
	if (w->queue_end)
		w->queue_end->next = job;
	else
		w->queue = job;
	w->queue_end = job;
	w->n_queued++;
	r = workers_grow(w);
	if (r < 0) {
		/* No thread at all: the queue held this job alone. */
		w->queue = w->queue_end = NULL;
		w->n_queued = 0;
		pthread_mutex_unlock(&w->lock);
		return r;
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->n_pending++;
	return 0;
}

unsigned workers_pending(const Workers *w) {
	assert(w);
	return w->n_pending;
}

Workers *workers_free(Workers *w) {
	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	/* Threads run the queue dry before they see stopping. */
	for (unsigned i = 0; i < w->n_threads; i++)
		(void) pthread_join(w->threads[i], NULL);
	workers_complete(w);
	sd_event_source_disable_unref(w->event_source);
	safe_close(w->event_fd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return NULL;
}
