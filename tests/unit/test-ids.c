/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The id watermark (ids.h): an instance started on a state directory never hands out an id an
 * earlier instance may have handed out, whatever the fd store kept; the file is rewritten
 * before a counter gets near it, and a damaged or missing one is said and replaced. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ids.h"
#include "state.h"
#include "util.h"

typedef struct Fixture {
	char dir[64];
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	test_make_dir(f->dir, sizeof(f->dir), "ids");
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	test_remove_tree(f->dir);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

/* The watermark file's text, "" when there is none. */
static void read_watermark(const Fixture *f, char *buffer, size_t size) {
	char path[128];
	FILE *file;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/" IDS_FILE, f->dir);
	file = fopen(path, "re");
	if (file) {
		n = fread(buffer, 1, size - 1, file);
		fclose(file);
	}
	buffer[n] = '\0';
}

static void write_watermark(const Fixture *f, const char *text) {
	char path[128];

	snprintf(path, sizeof(path), "%s/" IDS_FILE, f->dir);
	test_write_file(path, text, strlen(text));
}

/* One instance of the daemon: its state and watermark, opened on the fixture's directory. */
typedef struct Instance {
	State state;
	IdWatermark ids;
} Instance;

static void instance_start(Instance *i, const Fixture *f) {
	state_init(&i->state);
	ids_init(&i->ids);
	assert_int_equal(ids_open(&i->ids, f ? f->dir : NULL, &i->state), 0);
}

static void instance_stop(Instance *i) {
	ids_done(&i->ids);
	state_done(&i->state);
}

/* Hands out n attachment ids (and a VM and an owner id each), as attaches do, syncing as
 * lifecycle_commit() does; returns the last attachment id. */
static unsigned hand_out(Instance *i, unsigned n) {
	unsigned last = 0;

	for (unsigned k = 0; k < n; k++) {
		i->state.next_vm_id++;
		i->state.next_owner_id++;
		last = i->state.next_attachment_id++;
		assert_int_equal(ids_sync(&i->ids, &i->state), 0);
	}
	return last;
}

/* The case of the review: a stop (the store, and its counters, gone) and a start. */
static void ids_after_a_stop_are_new(void **state) {
	Fixture *f = *state;
	Instance first, second;
	unsigned last;

	instance_start(&first, f);
	assert_int_equal(first.state.next_attachment_id, 1);
	last = hand_out(&first, 3 * IDS_RESERVE);
	instance_stop(&first);
	instance_start(&second, f);
	assert_true(second.state.next_attachment_id > last);
	assert_true(second.state.next_vm_id > 3 * IDS_RESERVE);
	assert_true(second.state.next_owner_id > 3 * IDS_RESERVE);
	instance_stop(&second);
}

/* The file is rewritten only when a counter gets near it, and stays ahead of every counter. */
static void watermark_moves_ahead_of_the_counters(void **state) {
	Fixture *f = *state;
	Instance i;
	char before[128], after[128];
	unsigned vm, attachment, owner;

	instance_start(&i, f);
	read_watermark(f, before, sizeof(before));
	assert_string_equal(before, "vm=4097 attachment=4097 owner=4097\n");
	hand_out(&i, 10);
	read_watermark(f, after, sizeof(after));
	assert_string_equal(after, before);
	hand_out(&i, IDS_RESERVE);
	read_watermark(f, after, sizeof(after));
	assert_int_equal(sscanf(after, "vm=%u attachment=%u owner=%u", &vm, &attachment, &owner), 3);
	assert_true(attachment > i.state.next_attachment_id + IDS_RESERVE / 2);
	assert_true(vm > i.state.next_vm_id && owner > i.state.next_owner_id);
	instance_stop(&i);
}

/* Counters the fd store restored above the file win, and the new watermark is above them. */
static void restored_counters_above_the_file_win(void **state) {
	Fixture *f = *state;
	Instance i;
	char text[128];

	write_watermark(f, "vm=10 attachment=20 owner=30\n");
	state_init(&i.state);
	state_reserve_ids(&i.state, 50, 5, 60);
	ids_init(&i.ids);
	assert_int_equal(ids_open(&i.ids, f->dir, &i.state), 0);
	assert_int_equal(i.state.next_vm_id, 50);
	assert_int_equal(i.state.next_attachment_id, 20);
	assert_int_equal(i.state.next_owner_id, 60);
	read_watermark(f, text, sizeof(text));
	assert_string_equal(text, "vm=4146 attachment=4116 owner=4156\n");
	instance_stop(&i);
}

/* A file that says anything else gives no floor: the counters go on from where they are, and a
 * valid file replaces it. */
static void damaged_file_is_replaced(void **state) {
	static const char *const damaged[] = { "",
		                               "vm=1\n",
		                               "vm=1 attachment=2 owner=3 extra\n",
		                               "vm=-1 attachment=2 owner=3\n",
		                               "attachment=2 vm=1 owner=3\n",
		                               "vm=1 attachment=2 owner=99999999999\n",
		                               "vm= 1 attachment=2 owner=3\n" };
	Fixture *f = *state;

	for (size_t k = 0; k < sizeof(damaged) / sizeof(damaged[0]); k++) {
		Instance i;
		char text[128];

		write_watermark(f, damaged[k]);
		instance_start(&i, f);
		assert_int_equal(i.state.next_attachment_id, 1);
		read_watermark(f, text, sizeof(text));
		assert_string_equal(text, "vm=4097 attachment=4097 owner=4097\n");
		instance_stop(&i);
	}
}

/* Without a state directory (started by hand) or with one that cannot be opened, ids live in
 * memory only: the daemon runs on. */
static void no_directory_keeps_ids_in_memory(void **state) {
	Fixture *f = *state;
	Instance i;
	char missing[128];

	instance_start(&i, NULL);
	assert_int_equal(i.ids.dir_fd, -EBADF);
	hand_out(&i, 3);
	instance_stop(&i);
	snprintf(missing, sizeof(missing), "%s/missing", f->dir);
	state_init(&i.state);
	ids_init(&i.ids);
	assert_true(ids_open(&i.ids, missing, &i.state) < 0);
	assert_int_equal(i.ids.dir_fd, -EBADF);
	assert_int_equal(ids_sync(&i.ids, &i.state), 0);
	instance_stop(&i);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(ids_after_a_stop_are_new),
		T(watermark_moves_ahead_of_the_counters),
		T(restored_counters_above_the_file_win),
		T(damaged_file_is_replaced),
		T(no_directory_keeps_ids_in_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
