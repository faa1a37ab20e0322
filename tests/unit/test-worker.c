/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The worker pool: jobs run off the loop thread, several at once, their done() on the loop in
 * the order they finished; a job that blocks holds no other; freeing the pool waits for every
 * job and still runs its done(). */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "util.h"
#include "worker.h"

typedef struct TestJob {
	WorkerJob job; /* first */
	int gate;      /* run() blocks until a byte can be read here; -1: runs through */
	pthread_t ran_on, done_on;
	bool ran, done;
	unsigned *done_order, *n_done;
	unsigned order;
} TestJob;

static void test_run(WorkerJob *job) {
	TestJob *t = (TestJob *) job;
	char byte;

	t->ran_on = pthread_self();
	if (t->gate >= 0)
		assert_int_equal(read(t->gate, &byte, 1), 1);
	t->ran = true;
}

static void test_done(WorkerJob *job) {
	TestJob *t = (TestJob *) job;

	t->done_on = pthread_self();
	t->done = true;
	t->order = (*t->n_done)++;
}

typedef struct Fixture {
	sd_event *event;
	Workers *workers;
	int fds_before;
	unsigned n_done;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	assert_int_equal(sd_event_new(&f->event), 0);
	assert_int_equal(workers_new(f->event, &f->workers), 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	workers_free(f->workers);
	sd_event_unref(f->event);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void job_init(Fixture *f, TestJob *t, int gate) {
	*t = (TestJob){ .job = { .run = test_run, .done = test_done }, .gate = gate, .n_done = &f->n_done };
}

/* Runs the loop until n jobs are done, waiting as long as it takes (no timing). */
static void run_until_done(Fixture *f, unsigned n) {
	while (f->n_done < n)
		assert_true(sd_event_run(f->event, UINT64_MAX) >= 0);
}

static void jobs_run_off_the_loop_and_finish_on_it(void **state) {
	Fixture *f = *state;
	TestJob t;

	job_init(f, &t, -1);
	assert_int_equal(workers_submit(f->workers, &t.job), 0);
	assert_int_equal(workers_pending(f->workers), 1);
	run_until_done(f, 1);
	assert_true(t.ran && t.done);
	assert_false(pthread_equal(t.ran_on, pthread_self()));
	assert_true(pthread_equal(t.done_on, pthread_self()));
	assert_int_equal(workers_pending(f->workers), 0);
}

/* A job blocked in the kernel holds up no other: the second finishes while the first still
 * waits, and the first once released. */
static void blocked_job_holds_no_other(void **state) {
	Fixture *f = *state;
	TestJob blocked, free_running;
	int gate[2];

	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	job_init(f, &blocked, gate[0]);
	job_init(f, &free_running, -1);
	assert_int_equal(workers_submit(f->workers, &blocked.job), 0);
	assert_int_equal(workers_submit(f->workers, &free_running.job), 0);
	run_until_done(f, 1);
	assert_true(free_running.done);
	assert_false(blocked.done);
	assert_int_equal(write(gate[1], "x", 1), 1);
	run_until_done(f, 2);
	assert_true(blocked.done);
	assert_int_equal(blocked.order, 1);
	close(gate[0]);
	close(gate[1]);
}

/* As many jobs as there are threads run side by side: each waits until all have started, which
 * jobs run one after the other never would (the wait gives up after a minute, and the job
 * then reports that it did not see the others). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t all_started;
	unsigned started;
} rendezvous = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void rendezvous_run(WorkerJob *job) {
	TestJob *t = (TestJob *) job;
	struct timespec deadline;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &deadline), 0);
	deadline.tv_sec += 60;
	pthread_mutex_lock(&rendezvous.lock);
	rendezvous.started++;
	pthread_cond_broadcast(&rendezvous.all_started);
	while (rendezvous.started < WORKER_THREADS &&
	       pthread_cond_timedwait(&rendezvous.all_started, &rendezvous.lock, &deadline) == 0)
		;
	t->ran = rendezvous.started >= WORKER_THREADS;
	pthread_mutex_unlock(&rendezvous.lock);
}

static void jobs_run_side_by_side(void **state) {
	Fixture *f = *state;
	TestJob jobs[WORKER_THREADS];

	for (unsigned i = 0; i < WORKER_THREADS; i++) {
		job_init(f, &jobs[i], -1);
		jobs[i].job.run = rendezvous_run;
		assert_int_equal(workers_submit(f->workers, &jobs[i].job), 0);
	}
	run_until_done(f, WORKER_THREADS);
	for (unsigned i = 0; i < WORKER_THREADS; i++)
		assert_true(jobs[i].ran && jobs[i].done);
}

/* More jobs than threads wait their turn, and every one runs. */
static void queue_beyond_the_threads(void **state) {
	Fixture *f = *state;
	TestJob jobs[WORKER_THREADS * 4];

	for (unsigned i = 0; i < ELEMENTSOF(jobs); i++) {
		job_init(f, &jobs[i], -1);
		assert_int_equal(workers_submit(f->workers, &jobs[i].job), 0);
	}
	run_until_done(f, ELEMENTSOF(jobs));
	for (unsigned i = 0; i < ELEMENTSOF(jobs); i++)
		assert_true(jobs[i].done);
}

/* Freeing the pool waits for a running job and runs its done(). */
static void free_finishes_every_job(void **state) {
	Fixture *f = *state;
	TestJob t;
	int gate[2];

	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	job_init(f, &t, gate[0]);
	assert_int_equal(workers_submit(f->workers, &t.job), 0);
	assert_int_equal(write(gate[1], "x", 1), 1);
	f->workers = workers_free(f->workers);
	assert_true(t.ran && t.done);
	assert_true(pthread_equal(t.done_on, pthread_self()));
	close(gate[0]);
	close(gate[1]);
	assert_int_equal(workers_new(f->event, &f->workers), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(jobs_run_off_the_loop_and_finish_on_it),
		T(blocked_job_holds_no_other),
		T(jobs_run_side_by_side),
		T(queue_beyond_the_threads),
		T(free_finishes_every_job),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
