/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Kernel work off the loop, through real connections: while an Attach waits in the (fake)
 * kernel, other connections are answered; a call for the same group waits its turn and is
 * then decided on the state as it is; a VMM that goes away while its attach runs leaves
 * nothing behind. The fake kernel behind the state model's seam blocks group_open until the
 * test opens its gate. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "../fakes/fake-vfio.h"
#include "connection.h"
#include "manager.h"
#include "message.h"
#include "protocol.h"
#include "util.h"
#include "wire.h"

#define N_CLIENTS 3

static int gate[2] = { -1, -1 }; /* group_open reads a byte from gate[0] before it answers */

static int fake_fd(void) {
	int fd = memfd_create("test-async", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

typedef struct Fixture {
	Manager *manager;
	FakeSysfs *sysfs;
	int clients[N_CLIENTS];
	WireReader readers[N_CLIENTS];
	int vms[N_CLIENTS]; /* memfds standing in for each client's VM */
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	/* The test holds jobs at the gate on purpose: the loop must not wait for them. */
	assert_int_equal(manager_new(&f->manager), 0);
	test_wait_for_workers(NULL);
	fake_vfio_reset();
	fake_vfio.gate = gate[0];
	f->manager->state.vfio = &fake_vfio_ops;
	f->sysfs = fake_sysfs_new();
	assert_non_null(f->sysfs);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:00:02.0", 0x8086, 0x10d3, 2, "vfio-pci"), 0);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:00:03.0", 0x8086, 0x10d3, 3, "vfio-pci"), 0);
	assert_int_equal(manager_open_sysfs(f->manager, fake_sysfs_path(f->sysfs)), 0);
	for (size_t i = 0; i < N_CLIENTS; i++) {
		f->clients[i] = test_add_pair_client(f->manager);
		wire_reader_init(&f->readers[i], PROTOCOL_MAX_REPLY_BYTES);
		f->vms[i] = fake_fd();
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	/* Whatever still waits at the gate goes through. */
	safe_close(gate[1]);
	for (size_t i = 0; i < N_CLIENTS; i++) {
		wire_reader_done(&f->readers[i]);
		safe_close(f->clients[i]);
		safe_close(f->vms[i]);
	}
	manager_free(f->manager);
	fake_sysfs_free(f->sysfs);
	gate[0] = safe_close(gate[0]);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void pump(Fixture *f) {
	test_run_loop(f->manager->event, 0);
}

/* Runs the loop until every worker job is done (as long as that takes: no timing). */
static void pump_until_jobs_done(Fixture *f) {
	while (workers_pending(f->manager->workers) > 0)
		assert_true(sd_event_run(f->manager->event, UINT64_MAX) >= 0);
	pump(f);
}

static void send_call(Fixture *f, size_t i, const char *call, const int *fds, size_t n_fds) {
	test_send_raw(f->clients[i], call, strlen(call) + 1, fds, n_fds);
}

static void send_attach(Fixture *f, size_t i, const char *address) {
	char call[256];

	snprintf(call, sizeof(call),
	         "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"%s\",\"vmFd\":0}}", address);
	send_call(f, i, call, &f->vms[i], 1);
}

static VarlinkReply receive(Fixture *f, size_t i) {
	return test_receive_reply(f->manager->event, &f->readers[i], f->clients[i], 0);
}

/* Whether client i has anything to read now. */
static bool has_reply(Fixture *f, size_t i) {
	char byte;

	pump(f);
	return recv(f->clients[i], &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void open_gate(unsigned n) {
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(write(gate[1], "x", 1), 1);
}

/* While client 0's Attach waits in the kernel, client 1's introspection is answered. */
static void introspection_answered_while_attach_runs(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply info = {}, list = {}, attached = {};

	send_attach(f, 0, "0000:00:02.0");
	pump(f);
	assert_int_equal(workers_pending(f->manager->workers), 1);
	send_call(f, 1, "{\"method\":\"org.varlink.service.GetInfo\"}", NULL, 0);
	info = receive(f, 1);
	assert_null(info.error);
	send_call(f, 1, "{\"method\":\"io.vfiod.ListAttachments\"}", NULL, 0);
	list = receive(f, 1);
	assert_null(list.error);
	assert_false(has_reply(f, 0));
	open_gate(1);
	pump_until_jobs_done(f);
	attached = receive(f, 0);
	assert_null(attached.error);
	assert_non_null(f->manager->state.attachments);
}

/* An attach of another group runs beside the first; one of the same group waits until the
 * first ended and is then refused: the group is in the first VM's container. */
static void same_group_waits_other_group_runs(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply first = {}, other = {}, busy = {};

	send_attach(f, 0, "0000:00:02.0");
	pump(f);
	send_attach(f, 1, "0000:00:03.0");
	send_attach(f, 2, "0000:00:02.0");
	pump(f);
	/* Two jobs in the kernel (groups 2 and 3); the third call waits without a job. */
	assert_int_equal(workers_pending(f->manager->workers), 2);
	assert_false(has_reply(f, 2));
	open_gate(2);
	pump_until_jobs_done(f);
	first = receive(f, 0);
	other = receive(f, 1);
	assert_null(first.error);
	assert_null(other.error);
	busy = receive(f, 2);
	assert_string_equal(busy.error, VFIOD_ERROR_DEVICE_BUSY);
}

/* A VMM that goes away while its attach is in the kernel leaves nothing behind: no
 * attachment, no group, no VM, no fd. */
static void caller_gone_leaves_nothing(void **state) {
	Fixture *f = *state;

	send_attach(f, 0, "0000:00:02.0");
	pump(f);
	assert_int_equal(workers_pending(f->manager->workers), 1);
	f->clients[0] = safe_close(f->clients[0]);
	pump(f);
	open_gate(1);
	pump_until_jobs_done(f);
	assert_null(f->manager->state.attachments);
	assert_null(f->manager->state.groups);
	assert_null(f->manager->state.vms);
}

/* A connection whose peer is another process (test_socketpair_from_child()), added to the
 * manager. Returns the client's end. */
static int connect_from_child(Fixture *f, pid_t *ret_child, int *ret_hold) {
	int daemon_end = -EBADF, client = test_socketpair_from_child(ret_child, ret_hold, &daemon_end);

	assert_int_equal(manager_add_client(f->manager, daemon_end, NULL), 0);
	return client;
}

/* Another process's Attach with a VM fd that is attached already is refused before any kernel
 * work: joining that VM's container would reach its guest memory. The same process may add a
 * group to it. */
static void vm_of_another_process_is_refused(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply first = {}, other = {}, same = {};
	_cleanup_(wire_reader_done) WireReader reader = {};
	char call[] =
	        "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"0000:00:03.0\",\"vmFd\":0}}";
	int hold = -1, status = 0, client;
	pid_t child = 0;

	send_attach(f, 0, "0000:00:02.0");
	pump(f);
	open_gate(1);
	pump_until_jobs_done(f);
	first = receive(f, 0);
	assert_null(first.error);
	client = connect_from_child(f, &child, &hold);
	wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
	/* Were it let through, its job would pass the gate, not wait there. */
	open_gate(1);
	test_send_raw(client, call, sizeof(call), &f->vms[0], 1);
	other = test_receive_reply(f->manager->event, &reader, client, 0);
	assert_string_equal(other.error, VFIOD_ERROR_PERMISSION_DENIED);
	assert_int_equal(workers_pending(f->manager->workers), 0);
	assert_null(f->manager->state.attachments->next);
	send_call(f, 1, call, &f->vms[0], 1);
	pump(f);
	pump_until_jobs_done(f);
	same = receive(f, 1);
	assert_null(same.error);
	safe_close(client);
	safe_close(hold);
	assert_int_equal(waitpid(child, &status, 0), child);
	pump(f);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(introspection_answered_while_attach_runs),
		T(same_group_waits_other_group_runs),
		T(caller_gone_leaves_nothing),
		T(vm_of_another_process_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
