/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer harness for everything a client's bytes reach before the kernel: the wire reader
 * (framing, bounds), message parsing, the dispatcher and the method handlers, driven through
 * a real manager and connection over a socketpair, against a fake sysfs tree. The first
 * input byte picks the size of the writes, so framing splits vary too. ASan and LSan, which
 * the harness is built with, turn any memory error or leak into a finding; an fd leak fails
 * the check after each input. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../fakes/fake-sysfs.h"
#include "connection.h"
#include "fuzz-util.h"
#include "log.h"
#include "manager.h"
#include "worker.h"

static Manager *manager;
static FakeSysfs *sysfs;
/* The kernel but for ListDevices' viability probe: the fake tree's group numbers are no
 * groups of the machine the harness runs on, whose /dev/vfio it must not open. */
static VfioOps kernel_but_probe;

static int probe_no_node(int group _unused_, bool *ret_viable _unused_,
                         const char **ret_operation _unused_) {
	return -ENOENT;
}

static void setup_once(void) {
	sd_event_source *timer = NULL;

	log_set_max_level(LOG_CRIT);
	if (manager_new(&manager) < 0 || !(sysfs = fake_sysfs_new()) ||
	    fake_sysfs_add_device(sysfs, "0000:00:02.0", 0x8086, 0x10d3, 2, "vfio-pci") < 0 ||
	    fake_sysfs_add_device(sysfs, "0000:01:00.0", 0x8086, 0x100e, 5, "e1000") < 0 ||
	    fake_sysfs_add_device(sysfs, "0000:01:01.0", 0x8086, 0x100e, 5, NULL) < 0)
		abort();
	manager->sysfs_fd = dup(fake_sysfs_root_fd(sysfs));
	kernel_but_probe = vfio_kernel;
	kernel_but_probe.group_probe_viable = probe_no_node;
	manager->state.vfio = &kernel_but_probe;
	/* SIGTERM and SIGINT are libFuzzer's (stop, print the stats): taken by the manager's loop,
	 * they ended it, and the next input's connection could not be added (sd-event refuses new
	 * sources once the loop is finished), which aborted as if it were a finding. */
	if (sd_event_set_signal_exit(manager->event, false) < 0)
		abort();
	/* sd-event opens its CLOCK_MONOTONIC timerfd with the first timer (a connection's request
	 * timeout) and keeps it: open it here, so that the fd count per input stays level. */
	if (sd_event_add_time_relative(manager->event, &timer, CLOCK_MONOTONIC, UINT64_C(3600000000), 0,
	                               NULL, NULL) < 0)
		abort();
	sd_event_source_unref(timer);
}

static void pump(void) {
	for (int i = 0; i < 4; i++)
		(void) sd_event_run(manager->event, 0);
}

static void drain(int fd) {
	char buffer[65536];

	while (recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	int sv[2], before;
	size_t chunk;

	if (!manager)
		setup_once();
	if (size == 0)
		return 0;
	before = fuzz_count_fds();
	chunk = 1 + data[0] % 64 * 64;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0 ||
	    manager_add_client(manager, sv[0], NULL) < 0)
		abort();
	/* A connection the daemon no longer reads (a Monitor, one that waits for its client to
	 * read, or one being closed) fills the socket: after a few rounds without progress the
	 * rest of the input is not sent. */
	for (size_t sent = 0, stalled = 0; sent < size && stalled < 16;) {
		size_t n = size - sent < chunk ? size - sent : chunk;
		ssize_t k = send(sv[1], data + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			sent += (size_t) k;
			stalled = 0;
		} else
			stalled++;
		pump();
		drain(sv[1]);
		if (k < 0 && manager->n_connections == 0)
			break;
	}
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 64 && manager->n_connections > 0; i++) {
		pump();
		drain(sv[1]);
	}
	close(sv[1]);
	while (manager->connections)
		connection_free(manager->connections);
	/* A call whose work runs on a worker (ListDevices' scan of sysfs) ends first: its job
	 * holds fds until then. */
	while (workers_pending(manager->workers) > 0)
		if (sd_event_run(manager->event, UINT64_MAX) < 0)
			abort();
	/* No attachment can come out of a fake tree, and no fd may stay behind. */
	if (manager->state.attachments || fuzz_count_fds() != before)
		abort();
	return 0;
}
