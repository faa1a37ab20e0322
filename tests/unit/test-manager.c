/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager's signals, as systemd and an admin send them: SIGTERM and SIGINT end the event
 * loop with success, SIGHUP reloads the policy (on a worker) and the loop goes on. Signals go
 * to this process with raise(); manager_new() blocked them, so they wait for the loop. And the
 * start after a restart, when the fd store cannot be updated. */

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "manager.h"
#include "util.h"

typedef struct Fixture {
	Manager *manager;
	char directory[64];
	char policy_path[96];
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	f->manager = test_manager_new();
	test_make_dir(f->directory, sizeof(f->directory), "manager");
	snprintf(f->policy_path, sizeof(f->policy_path), "%s/vfiod.conf", f->directory);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	f->manager = manager_free(f->manager);
	(void) unlink(f->policy_path);
	assert_int_equal(rmdir(f->directory), 0);
	/* The loop, its signal sources and the worker pool are gone. */
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void write_policy(const Fixture *f, const char *text) {
	test_write_file(f->policy_path, text, strlen(text));
}

static void sigterm_ends_the_loop(void **state) {
	Fixture *f = *state;

	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(sd_event_loop(f->manager->event), 0);
}

static void sigint_ends_the_loop(void **state) {
	Fixture *f = *state;

	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(sd_event_loop(f->manager->event), 0);
}

static void sighup_reloads_the_policy(void **state) {
	Fixture *f = *state;
	Manager *m = f->manager;

	write_policy(f, "allow user:1000 any\n");
	assert_int_equal(manager_load_policy(m, f->policy_path), 0);
	assert_int_equal(m->policy.n_rules, 1);
	write_policy(f, "allow user:1000 any\nadmin user:0\n");
	assert_int_equal(raise(SIGHUP), 0);
	for (int i = 0; i < 100 && (m->reloading || m->policy.n_rules != 2); i++)
		test_run_loop(m->event, 100000);
	assert_false(m->reloading);
	assert_int_equal(m->policy.n_rules, 2);
	/* The loop goes on: nobody asked it to exit. */
	assert_int_equal(sd_event_get_exit_code(m->event, &(int){ 0 }), -ENODATA);
}

/* The first update of the fd store after a restore fails (here: the notify socket is gone;
 * in production also EMFILE or ENOMEM): the daemon logs it and serves on. Exiting would make
 * systemd start it again on the same store until the start limit, then discard the store. */
static void failed_store_update_at_start_is_not_fatal(void **state) {
	Fixture *f = *state;
	Manager *m = f->manager;
	int fds[1] = { memfd_create("test-manager", MFD_CLOEXEC) };
	char *names[1] = { strdup("junk-1") };

	assert_true(fds[0] >= 0);
	assert_non_null(names[0]);
	assert_int_equal(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
	m->persist.enabled = true;
	assert_int_equal(manager_restore(m, fds, names, 1), 0);
	/* Every passed fd was taken. */
	assert_int_equal(fds[0], -EBADF);
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	free(names[0]);
}

/* Limits whose connections cannot have their fds are refused at start and at a reload, where
 * the policy in force stays: 65536 connections need about 1.3 million fds. */
static void limits_beyond_the_fd_limit_are_refused(void **state) {
	Fixture *f = *state;
	Manager *m = f->manager;

	write_policy(f, "limit connections 65536\n");
	assert_true(manager_load_policy(m, f->policy_path) < 0);
	write_policy(f, "limit connections 4\n");
	assert_int_equal(manager_load_policy(m, f->policy_path), 0);
	assert_int_equal(m->policy.limits.connections, 4);
	write_policy(f, "limit connections 65536\n");
	assert_int_equal(raise(SIGHUP), 0);
	test_run_loop(m->event, 100000);
	for (int i = 0; i < 100 && m->reloading; i++)
		test_run_loop(m->event, 100000);
	assert_false(m->reloading);
	assert_int_equal(m->policy.limits.connections, 4);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(sigterm_ends_the_loop),
		T(sigint_ends_the_loop),
		T(sighup_reloads_the_policy),
		T(failed_store_update_at_start_is_not_fatal),
		T(limits_beyond_the_fd_limit_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
