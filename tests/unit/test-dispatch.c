/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The daemon's request path without a kernel: a real manager and connection over a
 * socketpair, a fake sysfs tree, the event loop run by hand. Checks what a client sees. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "../fakes/fake-vfio.h"
#include "audit.h"
#include "util.h"
#include "connection.h"
#include "dispatch.h"
#include "json.h"
#include "manager.h"
#include "monitor.h"
#include "message.h"
#include "protocol.h"
#include "wire.h"

typedef struct Fixture {
	Manager *manager;
	FakeSysfs *sysfs;
	int client;
	WireReader reader;
	int fds_before;
} Fixture;

/* The real kernel calls but the viability probe, which asks the fake (no group node unless a
 * test says otherwise): the fake tree's group numbers are no groups of the machine's. */
static VfioOps kernel_but_probe;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	f->manager = test_manager_new();
	fake_vfio_reset();
	kernel_but_probe = vfio_kernel;
	kernel_but_probe.group_probe_viable = fake_vfio_ops.group_probe_viable;
	f->manager->state.vfio = &kernel_but_probe;
	f->sysfs = test_manager_fake_sysfs(f->manager);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:01:00.0", 0x8086, 0x100e, 5, "e1000"), 0);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:01:01.0", 0x8086, 0x100e, 5, NULL), 0);
	f->client = test_add_pair_client(f->manager);
	wire_reader_init(&f->reader, PROTOCOL_MAX_REPLY_BYTES);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	wire_reader_done(&f->reader);
	safe_close(f->client);
	manager_free(f->manager);
	fake_sysfs_free(f->sysfs);
	/* Every fd the daemon received, opened or queued is gone. */
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void pump(Fixture *f) {
	test_run_loop(f->manager->event, 0);
}

/* Sends raw bytes (a NUL is not added) with optional fds on the first sendmsg. */
static void send_raw(Fixture *f, const void *data, size_t size, const int *fds, size_t n_fds) {
	test_send_raw(f->client, data, size, fds, n_fds);
}

static void send_call(Fixture *f, const char *json) {
	send_raw(f, json, strlen(json) + 1, NULL, 0);
}

/* The next reply, parsed (its fds closed); fails the test when none comes. */
static VarlinkReply receive_reply(Fixture *f) {
	return test_receive_reply(f->manager->event, &f->reader, f->client, 0);
}

/* Sends json as one call and returns the reply to it. */
static VarlinkReply call_method(Fixture *f, const char *json) {
	send_call(f, json);
	return receive_reply(f);
}

/* The string member key of object o, which must be there. */
static const char *member_string(json_object *o, const char *key) {
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

/* The string parameter key of reply r, which must be there. */
static const char *string_parameter(VarlinkReply *r, const char *key) {
	assert_non_null(r->parameters);
	return member_string(r->parameters, key);
}

/* The daemon closed the connection: reading gives end of stream once pumped. */
static void assert_closed(Fixture *f) {
	char byte;
	ssize_t n = -1;

	for (int i = 0; i < 50 && n != 0; i++) {
		pump(f);
		n = recv(f->client, &byte, 1, MSG_DONTWAIT);
	}
	assert_int_equal(n, 0);
}

/* The call json is answered ProtocolError, and the connection closed. */
static void assert_call_closes(Fixture *f, const char *json) {
	_cleanup_(varlink_reply_done) VarlinkReply r = call_method(f, json);

	assert_string_equal(r.error, VFIOD_ERROR_PROTOCOL_ERROR);
	assert_closed(f);
}

static void get_info_names_interfaces(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *interfaces = NULL;

	r = call_method(f, "{\"method\":\"org.varlink.service.GetInfo\"}");
	assert_null(r.error);
	assert_string_equal(string_parameter(&r, "vendor"), VFIOD_VENDOR);
	assert_true(json_object_object_get_ex(r.parameters, "interfaces", &interfaces));
	assert_int_equal(json_object_array_length(interfaces), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(interfaces, 1)),
	                    VFIOD_INTERFACE);
}

/* What a client reads is the interface text (tests/unit/test-interface.c checks that text). */
static void interface_description_is_the_idl(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	r = call_method(f, "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
	                   "\"interface\":\"io.vfiod\"}}");
	assert_null(r.error);
	assert_string_equal(string_parameter(&r, "description"), protocol_interface_description);
}

static void interface_description_unknown_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	r = call_method(f, "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
	                   "\"interface\":\"com.example\"}}");
	assert_string_equal(r.error, VARLINK_ERROR_INTERFACE_NOT_FOUND);
	assert_string_equal(string_parameter(&r, "interface"), "com.example");
}

static void missing_parameter_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	r = call_method(f, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}");
	assert_string_equal(r.error, VARLINK_ERROR_INVALID_PARAMETER);
	assert_string_equal(string_parameter(&r, "parameter"), "interface");
}

static void unknown_method_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};

	r1 = call_method(f, "{\"method\":\"io.vfiod.Explode\"}");
	assert_string_equal(r1.error, VARLINK_ERROR_METHOD_NOT_FOUND);
	assert_string_equal(string_parameter(&r1, "method"), "io.vfiod.Explode");
	r2 = call_method(f, "{\"method\":\"com.example.Explode\"}");
	assert_string_equal(r2.error, VARLINK_ERROR_INTERFACE_NOT_FOUND);
	assert_string_equal(string_parameter(&r2, "interface"), "com.example");
}

/* An unknown method's name is echoed bounded (PROTOCOL_MAX_ECHO_BYTES), cut at a character
 * boundary: a 60 KiB name with a two-byte character across the bound gives a short reply
 * of valid UTF-8, whether the interface is known or not. */
static void long_unknown_names_are_echoed_bounded(void **state) {
	static const char *prefixes[] = { "io.vfiod.", "com.example." };
	Fixture *f = *state;

	for (size_t k = 0; k < 2; k++) {
		_cleanup_(varlink_reply_done) VarlinkReply r = {};
		_cleanup_free_ char *call = malloc(61 * 1024);
		size_t at = (size_t) sprintf(call, "{\"method\":\"%s", prefixes[k]);
		const char *echoed;

		assert_non_null(call);
		/* "é" (c3 a9) from byte 255 of the name on, so the bound falls inside one. */
		memset(call + at, 'a', 255 - strlen(prefixes[k]));
		at += 255 - strlen(prefixes[k]);
		for (int i = 0; i < 1000; i++, at += 2)
			memcpy(call + at, "\xc3\xa9", 2);
		memset(call + at, 'b', 58 * 1024 - at);
		at = 58 * 1024;
		strcpy(call + at, k == 0 ? "\"}" : ".Nothing\"}");
		r = call_method(f, call);
		assert_string_equal(r.error, k == 0 ? VARLINK_ERROR_METHOD_NOT_FOUND
		                                    : VARLINK_ERROR_INTERFACE_NOT_FOUND);
		echoed = string_parameter(&r, k == 0 ? "method" : "interface");
		assert_int_equal(strlen(echoed), 255);
		assert_memory_equal(echoed, call + strlen("{\"method\":\""), 255);
	}
}

static json_object *find_device(json_object *devices, const char *address) {
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i), *a = NULL;
		if (json_object_object_get_ex(d, "address", &a) &&
		    strcmp(json_object_get_string(a), address) == 0)
			return d;
	}
	return NULL;
}

/* Sends call (a ListDevices) and returns the devices of its reply, kept in *r. */
static json_object *list_devices(Fixture *f, const char *call, VarlinkReply *r) {
	json_object *devices = NULL;

	*r = call_method(f, call);
	assert_null(r->error);
	assert_true(json_object_object_get_ex(r->parameters, "devices", &devices));
	return devices;
}

static void list_devices_reads_sysfs(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *devices, *d, *v = NULL;

	devices = list_devices(f, "{\"method\":\"io.vfiod.ListDevices\",\"parameters\":null}", &r);
	assert_int_equal(json_object_array_length(devices), 3);
	d = find_device(devices, "0000:00:02.0");
	assert_non_null(d);
	assert_true(json_object_object_get_ex(d, "device", &v));
	assert_string_equal(json_object_get_string(v), "10d3");
	assert_true(json_object_object_get_ex(d, "viable", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(d, "attachment", &v));
	assert_null(v);
	d = find_device(devices, "0000:01:01.0");
	assert_non_null(d);
	assert_true(json_object_object_get_ex(d, "driver", &v));
	assert_null(v);
	/* Its group-mate is bound to e1000: the group is not viable. */
	assert_true(json_object_object_get_ex(d, "viable", &v));
	assert_false(json_object_get_boolean(v));
}

/* The viable of address in a ListDevices reply. */
static bool listed_viable(Fixture *f, const char *address) {
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *d, *v = NULL;

	d = find_device(list_devices(f, "{\"method\":\"io.vfiod.ListDevices\"}", &r), address);
	assert_non_null(d);
	assert_true(json_object_object_get_ex(d, "viable", &v));
	return json_object_get_boolean(v);
}

/* ListDevices' viable is the kernel's where it can be asked (the group no one holds), sysfs's
 * rule where it cannot (open elsewhere: EBUSY). Group 5 has a member on e1000. */
static void list_devices_takes_the_kernels_viability(void **state) {
	Fixture *f = *state;

	assert_false(listed_viable(f, "0000:01:01.0"));
	fake_vfio.probe_errno = 0;
	assert_true(listed_viable(f, "0000:01:01.0"));
	assert_true(listed_viable(f, "0000:01:00.0"));
	fake_vfio.not_viable = true;
	assert_false(listed_viable(f, "0000:01:01.0"));
	fake_vfio.not_viable = false;
	fake_vfio.probe_errno = EBUSY;
	assert_false(listed_viable(f, "0000:01:01.0"));
	/* One question a listing, for group 5: group 2, on vfio-pci alone, is viable in sysfs and
	 * never asked. */
	assert_true(listed_viable(f, "0000:00:02.0"));
	assert_int_equal(fake_vfio.calls[FAKE_CALL_PROBE_VIABLE], 6);
}

/* Adds the rules of text to the policy in force, as a vfiod.conf(5) would. */
static void policy_add(Fixture *f, const char *text) {
	PolicyError error = {};
	char path[512];

	snprintf(path, sizeof(path), "%s/vfiod.conf", fake_sysfs_path(f->sysfs));
	test_write_file(path, text, strlen(text));
	assert_int_equal(policy_parse_file(path, &f->manager->policy, &error), 0);
}

/* The number of devices a ListDevices reply lists. */
static size_t listed_devices(Fixture *f) {
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	return json_object_array_length(list_devices(f, "{\"method\":\"io.vfiod.ListDevices\"}", &r));
}

/* A user sees a device only when allowed every device of its group, however large the group:
 * here 70 functions in group 9, the last of them of another ID. */
static void list_devices_hides_groups_not_wholly_allowed(void **state) {
	Fixture *f = *state;
	char address[16];

	for (unsigned i = 0; i < 70; i++) {
		snprintf(address, sizeof(address), "0000:%02x:00.0", 0x10 + i);
		assert_int_equal(fake_sysfs_add_device(f->sysfs, address, 0x8086, i < 69 ? 0x1533 : 0x1534,
		                                       9, "vfio-pci"),
		                 0);
	}
	f->manager->connections->peer.uid = 1000;
	f->manager->connections->peer.gid = 1000;
	policy_add(f, "allow user:1000 device:0000:00:02.0\nallow user:1000 id:8086:1533\n");
	assert_int_equal(listed_devices(f), 1);
	policy_add(f, "allow user:1000 id:8086:1534\n");
	assert_int_equal(listed_devices(f), 71);
}

/* A group with a member the daemon cannot name (a VMD domain, a non-PCI device) is shown to no
 * user, whatever the rules say of the members it can name. */
static void list_devices_hides_groups_with_unknown_members(void **state) {
	Fixture *f = *state;

	f->manager->connections->peer.uid = 1000;
	f->manager->connections->peer.gid = 1000;
	policy_add(f, "allow user:1000 any\n");
	assert_int_equal(listed_devices(f), 3);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "10000:01:00.0", 0x8086, 0x10d3, 2, "vfio-pci"), 0);
	assert_int_equal(listed_devices(f), 2);
	assert_int_equal(fake_sysfs_add_foreign_member(f->sysfs, 5, "ACPI0007:00"), 0);
	assert_int_equal(listed_devices(f), 0);
}

static void pipelined_calls_answered_in_order(void **state) {
	Fixture *f = *state;
	char calls[100 * 64] = "";
	size_t used = 0;

	for (int i = 0; i < 100; i++) {
		const char *call = i % 2 ? "{\"method\":\"org.varlink.service.GetInfo\"}"
		                         : "{\"method\":\"io.vfiod.Nope\"}";
		memcpy(calls + used, call, strlen(call) + 1);
		used += strlen(call) + 1;
	}
	send_raw(f, calls, used, NULL, 0);
	for (int i = 0; i < 100; i++) {
		_cleanup_(varlink_reply_done) VarlinkReply r = receive_reply(f);
		if (i % 2)
			assert_null(r.error);
		else
			assert_string_equal(r.error, VARLINK_ERROR_METHOD_NOT_FOUND);
	}
}

static void invalid_json_fails_and_closes(void **state) {
	Fixture *f = *state;

	assert_call_closes(f, "{\"method\":");
	assert_int_equal(f->manager->n_connections, 0);
}

static void invalid_utf8_fails_and_closes(void **state) {
	assert_call_closes(*state, "{\"method\":\"io.vfiod.ListDevices\",\"x\":\"\xff\xfe\"}");
}

static void oversized_request_fails_and_closes(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	size_t size = PROTOCOL_MAX_REQUEST_BYTES + 100;
	char *big = malloc(size);

	assert_non_null(big);
	memset(big, ' ', size);
	/* No NUL: the daemon must give up at the bound, not wait for the end. */
	for (size_t sent = 0; sent < size;) {
		ssize_t n = send(f->client, big + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			pump(f);
			continue;
		}
		sent += (size_t) n;
	}
	free(big);
	r = receive_reply(f);
	assert_string_equal(r.error, VFIOD_ERROR_PROTOCOL_ERROR);
	assert_closed(f);
}

static void fds_on_method_without_fds_are_closed(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {}, r2 = {};
	const char *call = "{\"method\":\"io.vfiod.ListDevices\"}";
	int memfd = test_memfd("test");

	send_raw(f, call, strlen(call) + 1, &memfd, 1);
	close(memfd);
	r = receive_reply(f);
	assert_string_equal(r.error, VFIOD_ERROR_PROTOCOL_ERROR);
	/* Not fatal: the connection still answers. */
	r2 = call_method(f, "{\"method\":\"org.varlink.service.GetInfo\"}");
	assert_null(r2.error);
}

/* Attach(address) with a memfd standing in for the VM fd, and its reply. */
static VarlinkReply attach_with_memfd(Fixture *f, const char *address) {
	char call[256];
	int memfd = test_memfd("vm");

	snprintf(call, sizeof(call),
	         "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"%s\",\"vmFd\":0}}", address);
	send_raw(f, call, strlen(call) + 1, &memfd, 1);
	close(memfd);
	return receive_reply(f);
}

static void attach_with_bad_address_fails(void **state) {
	static const char *const bad[] = { "../..", "0000:00:02.0/../../x", "%s", "", "0000:00:02.0 " };
	Fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(varlink_reply_done) VarlinkReply r = attach_with_memfd(f, bad[i]);
		assert_string_equal(r.error, VFIOD_ERROR_INVALID_ADDRESS);
		assert_string_equal(string_parameter(&r, "address"), bad[i]);
	}
}

static void attach_unknown_device_fails(void **state) {
	_cleanup_(varlink_reply_done) VarlinkReply r = attach_with_memfd(*state, "0000:09:00.0");

	assert_string_equal(r.error, VFIOD_ERROR_NO_SUCH_DEVICE);
}

/* r is KernelError with errno e. */
static void assert_kernel_error(VarlinkReply *r, int e) {
	json_object *v = NULL;

	assert_string_equal(r->error, VFIOD_ERROR_KERNEL_ERROR);
	assert_true(json_object_object_get_ex(r->parameters, "errno", &v));
	assert_int_equal(json_object_get_int(v), e);
}

/* r is GroupNotViable naming blocker alone. */
static void assert_blocked_by(VarlinkReply *r, const char *blocker) {
	json_object *blockers = NULL;

	assert_string_equal(r->error, VFIOD_ERROR_GROUP_NOT_VIABLE);
	assert_true(json_object_object_get_ex(r->parameters, "blockers", &blockers));
	assert_int_equal(json_object_array_length(blockers), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(blockers, 0)), blocker);
}

static void attach_not_viable_names_blockers(void **state) {
	_cleanup_(varlink_reply_done) VarlinkReply r = attach_with_memfd(*state, "0000:01:01.0");

	assert_blocked_by(&r, "0000:01:00.0");
}

/* Only a device on vfio-pci or a variant is attachable: one on no driver or on pci-stub in a
 * viable group is refused KernelError ENODEV; GroupNotViable names exactly the members on
 * drivers that use the kernel's DMA API, not those on pcieport or pci-stub. */
static void attach_of_device_on_no_vfio_driver_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {}, r3 = {};

	assert_int_equal(fake_sysfs_bind(f->sysfs, "0000:01:00.0", "pci-stub"), 0);
	r1 = attach_with_memfd(f, "0000:01:01.0");
	assert_kernel_error(&r1, ENODEV);
	r2 = attach_with_memfd(f, "0000:01:00.0");
	assert_string_equal(r2.error, VFIOD_ERROR_KERNEL_ERROR);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:01:02.0", 0x8086, 0x100e, 5, "e1000"), 0);
	assert_int_equal(fake_sysfs_add_device(f->sysfs, "0000:01:03.0", 0x104c, 0x8233, 5, "pcieport"), 0);
	r3 = attach_with_memfd(f, "0000:01:01.0");
	assert_blocked_by(&r3, "0000:01:02.0");
}

/* A device on vfio-pci whose group sysfs calls not viable goes to the kernel, which decides
 * (the fake kernel here): a driver vfiod does not know may well declare driver_managed_dma.
 * When the kernel says not viable, GroupNotViable names the members on host drivers. */
static void attach_viability_is_the_kernels(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};

	f->manager->state.vfio = &fake_vfio_ops;
	assert_int_equal(fake_sysfs_bind(f->sysfs, "0000:01:01.0", "vfio-pci"), 0);
	fake_vfio.not_viable = true;
	r1 = attach_with_memfd(f, "0000:01:01.0");
	assert_blocked_by(&r1, "0000:01:00.0");
	assert_int_equal(fake_vfio.calls[FAKE_CALL_GET_VIABLE], 1);
	fake_vfio.not_viable = false;
	r2 = attach_with_memfd(f, "0000:01:01.0");
	assert_null(r2.error);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_GET_VIABLE], 2);
	assert_non_null(state_find_attachment_by_group(&f->manager->state, 5));
}

static void attach_non_vm_fd_fails(void **state) {
	_cleanup_(varlink_reply_done) VarlinkReply r = attach_with_memfd(*state, "0000:00:02.0");

	assert_string_equal(r.error, VFIOD_ERROR_NOT_A_VIRTUAL_MACHINE);
}

static void attach_vm_fd_index_out_of_range_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {}, r2 = {};

	r = call_method(
	        f,
	        "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"0000:00:02.0\",\"vmFd\":0}}");
	assert_string_equal(r.error, VARLINK_ERROR_INVALID_PARAMETER);
	assert_string_equal(string_parameter(&r, "parameter"), "vmFd");
	r2 = call_method(
	        f, "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"0000:00:02.0\",\"vmFd\":"
	           "99999999999999999999}}");
	assert_string_equal(r2.error, VARLINK_ERROR_INVALID_PARAMETER);
}

static void open_device_unknown_attachment_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {}, r2 = {};

	r = call_method(f, "{\"method\":\"io.vfiod.OpenDevice\",\"parameters\":{\"id\":7}}");
	assert_string_equal(r.error, VFIOD_ERROR_NO_SUCH_ATTACHMENT);
	r2 = call_method(f, "{\"method\":\"io.vfiod.Detach\",\"parameters\":{\"id\":\"7\"}}");
	assert_string_equal(r2.error, VARLINK_ERROR_INVALID_PARAMETER);
}

static void list_attachments_empty(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *a = NULL;

	r = call_method(f, "{\"method\":\"io.vfiod.ListAttachments\",\"parameters\":{}}");
	assert_null(r.error);
	assert_true(json_object_object_get_ex(r.parameters, "attachments", &a));
	assert_int_equal(json_object_array_length(a), 0);
}

/* A client that pipelines calls and never reads: the daemon stops reading it at the reply
 * bound instead of queueing without end. */
static void client_not_reading_is_bounded(void **state) {
	Fixture *f = *state;
	const char *call = "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
	                   "\"interface\":\"io.vfiod\"}}";
	size_t length = strlen(call) + 1;

	for (int i = 0; i < 4000; i++) {
		if (send(f->client, call, length, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		if (i % 50 == 0)
			pump(f);
	}
	pump(f);
	assert_non_null(f->manager->connections);
	assert_true(f->manager->connections->writer.bytes_queued <
	            CONNECTION_MAX_QUEUED_BYTES + 2 * strlen(protocol_interface_description) + 4096);
}

static void half_message_then_hangup_leaves_nothing(void **state) {
	Fixture *f = *state;

	send_raw(f, "{\"method\":\"org.var", 18, NULL, 0);
	pump(f);
	assert_int_equal(f->manager->n_connections, 1);
	shutdown(f->client, SHUT_WR);
	assert_closed(f);
	assert_int_equal(f->manager->n_connections, 0);
}

static void monitor_without_more_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	r = call_method(f, "{\"method\":\"io.vfiod.Monitor\"}");
	assert_string_equal(r.error, VARLINK_ERROR_EXPECTED_MORE);
}

static void monitor_streams_events(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};
	json_object *event = NULL, *v = NULL;

	send_call(f, "{\"method\":\"io.vfiod.Monitor\",\"more\":true}");
	pump(f);
	assert_true(f->manager->connections->monitoring);
	monitor_emit(f->manager, &(Event){ .kind = "attach" });
	monitor_emit(f->manager, &(Event){ .kind = "detach", .reason = "admin" });
	r1 = receive_reply(f);
	r2 = receive_reply(f);
	assert_null(r1.error);
	assert_true(r1.continues);
	assert_true(json_object_object_get_ex(r1.parameters, "event", &event));
	assert_true(json_object_object_get_ex(event, "kind", &v));
	assert_string_equal(json_object_get_string(v), "attach");
	assert_true(json_object_object_get_ex(r2.parameters, "event", &event));
	assert_true(json_object_object_get_ex(event, "reason", &v));
	assert_string_equal(json_object_get_string(v), "admin");
}

/* A user's monitor hears of that user's attachments only, as ListAttachments shows them:
 * not of another user's, nor of an admin's Bind. */
static void monitor_of_user_hears_own_events_only(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	Group group = { .number = 3 };
	Vm vm = { .id = 1 };
	Attachment others = {
		.id = 7, .address = test_pci("0000:00:02.0"), .group = &group, .vm = &vm, .uid = 1001
	};
	Attachment own = {
		.id = 8, .address = test_pci("0000:00:02.0"), .group = &group, .vm = &vm, .uid = 1000
	};
	SysfsDevice device = { .address = test_pci("0000:00:02.0"), .group = 3 };
	json_object *event = NULL, *a = NULL, *v = NULL;

	f->manager->connections->peer.uid = 1000;
	send_call(f, "{\"method\":\"io.vfiod.Monitor\",\"more\":true}");
	pump(f);
	monitor_emit(f->manager, &(Event){ .kind = "attach", .attachment = &others });
	monitor_emit(f->manager, &(Event){ .kind = "bind", .device = &device });
	monitor_emit(f->manager, &(Event){ .kind = "attach", .attachment = &own });
	/* Events arrive in order: the first one heard is the user's own. */
	r = receive_reply(f);
	assert_true(json_object_object_get_ex(r.parameters, "event", &event));
	assert_true(json_object_object_get_ex(event, "attachment", &a));
	assert_true(json_object_object_get_ex(a, "id", &v));
	assert_int_equal(json_object_get_int(v), 8);
}

/* A monitor that never reads is dropped at the reply bound, not buffered without end. */
static void monitor_not_reading_is_dropped(void **state) {
	Fixture *f = *state;

	send_call(f, "{\"method\":\"io.vfiod.Monitor\",\"more\":true}");
	pump(f);
	assert_int_equal(f->manager->n_connections, 1);
	for (int i = 0; i < 100000 && f->manager->n_connections > 0; i++) {
		monitor_emit(f->manager, &(Event){ .kind = "attach" });
		if (i % 100 == 0)
			pump(f);
	}
	assert_int_equal(f->manager->n_connections, 0);
}

/* ---- Bind and Unbind ---- */

/* io.vfiod.<method>(address) and its reply. */
static VarlinkReply change_driver(Fixture *f, const char *method, const char *address) {
	char call[256];

	snprintf(call, sizeof(call), "{\"method\":\"io.vfiod.%s\",\"parameters\":{\"address\":\"%s\"}}",
	         method, address);
	return call_method(f, call);
}

static void assert_fake_file(Fixture *f, const char *relative, const char *expected) {
	char text[256];

	assert_int_equal(fake_sysfs_read_file(f->sysfs, relative, text, sizeof(text)), 0);
	assert_string_equal(text, expected);
}

/* What a Bind or Unbind of address wrote: its override, the address into driver's unbind
 * (or nothing when not unbound), and drivers_probe. */
static void assert_writes(Fixture *f, const char *address, const char *override, const char *driver,
                          bool unbound) {
	char path[256];

	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", address);
	assert_fake_file(f, path, override);
	snprintf(path, sizeof(path), "bus/pci/drivers/%s/unbind", driver);
	assert_fake_file(f, path, unbound ? address : "");
	assert_fake_file(f, "bus/pci/drivers_probe", address);
}

/* Nothing was written to the fake sysfs: no override, no probe. */
static void assert_no_driver_change(Fixture *f) {
	assert_fake_file(f, "bus/pci/devices/0000:00:02.0/driver_override", "(null)\n");
	assert_fake_file(f, "bus/pci/devices/0000:01:00.0/driver_override", "(null)\n");
	assert_fake_file(f, "bus/pci/drivers_probe", "");
}

/* Attachment id of address in group, on a VM of memfds (as restored from the fd store). */
static void hold_group(Fixture *f, int group, const char *address, unsigned id) {
	Attachment a = { .id = id, .pid = getpid(), .address = test_pci(address) };

	test_restore_group(&f->manager->state, 1, group);
	test_restore_attachment(&f->manager->state, &a, 1, group);
}

/* A oneway call is run and gets no reply at all (protocol.md): the next call's reply is the
 * first thing the client reads. */
static void oneway_calls_get_no_reply(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	send_call(f, "{\"method\":\"io.vfiod.ListAttachments\",\"oneway\":true}");
	send_call(f, "{\"method\":\"io.vfiod.Detach\",\"parameters\":{\"id\":77},\"oneway\":true}");
	r = call_method(f, "{\"method\":\"org.varlink.service.GetInfo\"}");
	assert_null(r.error);
	assert_string_equal(string_parameter(&r, "vendor"), VFIOD_VENDOR);
	assert_int_equal(f->manager->n_connections, 1);
}

/* A oneway Detach still detaches. */
static void oneway_detach_detaches(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	hold_group(f, 2, "0000:00:02.0", 9);
	f->manager->state.attachments->uid = 0;
	send_call(f, "{\"method\":\"io.vfiod.Detach\",\"parameters\":{\"id\":9},\"oneway\":true}");
	r = call_method(f, "{\"method\":\"org.varlink.service.GetInfo\"}");
	assert_null(r.error);
	assert_null(f->manager->state.attachments);
}

/* What the table forbids never reaches a handler: a oneway call that passes fds or streams,
 * and an upgrade, are protocol errors that close the connection. */
static void forbidden_call_forms_close(void **state) {
	(void) state;
	static const char *const calls[] = {
		"{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"0000:00:02.0\",\"vmFd\":0},"
		"\"oneway\":true}",
		"{\"method\":\"io.vfiod.OpenDevice\",\"parameters\":{\"id\":1},\"oneway\":true}",
		"{\"method\":\"io.vfiod.Monitor\",\"more\":true,\"oneway\":true}",
		"{\"method\":\"org.varlink.service.GetInfo\",\"upgrade\":true}",
	};

	for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
		void *fixture = NULL;
		Fixture *f;

		setup(&fixture);
		f = fixture;
		assert_call_closes(f, calls[i]);
		assert_false(f->manager->connections && f->manager->connections->monitoring);
		teardown(&fixture);
	}
}

/* The table declares the trust boundary: fds only into Attach and AttachDevice, fds out of
 * those and OpenDevice, Monitor streams, Bind and Unbind for admins only; nothing else is
 * special. */
static void method_table_declares_the_boundary(void **state) {
	(void) state;
	static const struct {
		const char *name;
		MethodFlags flags;
	} expected[] = {
		{ VARLINK_METHOD_GET_INFO, 0 },
		{ VARLINK_METHOD_GET_INTERFACE_DESCRIPTION, 0 },
		{ VFIOD_METHOD_LIST_DEVICES, 0 },
		{ VFIOD_METHOD_LIST_ATTACHMENTS, 0 },
		{ VFIOD_METHOD_ATTACH, METHOD_FDS_IN | METHOD_FDS_OUT },
		{ VFIOD_METHOD_OPEN_DEVICE, METHOD_FDS_OUT },
		{ VFIOD_METHOD_DETACH, 0 },
		{ VFIOD_METHOD_ATTACH_DEVICE, METHOD_FDS_IN | METHOD_FDS_OUT },
		{ VFIOD_METHOD_MONITOR, METHOD_STREAMING },
		{ VFIOD_METHOD_BIND, METHOD_ADMIN },
		{ VFIOD_METHOD_UNBIND, METHOD_ADMIN },
	};
	size_t n = 0;
	const MethodEntry *table = dispatch_table(&n);

	assert_int_equal(n, ELEMENTSOF(expected));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(table[i].name, expected[i].name);
		assert_int_equal(table[i].flags, expected[i].flags);
		assert_true(!(table[i].flags & METHOD_ADMIN) || table[i].audit_action);
		assert_true(table[i].n_params == 0 || table[i].params);
	}
}

static void bind_by_non_admin_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};

	policy_add(f, "assignable any\n");
	f->manager->connections->peer.uid = 1000;
	f->manager->connections->peer.gid = 1000;
	r1 = change_driver(f, "Bind", "0000:00:02.0");
	assert_string_equal(r1.error, VFIOD_ERROR_PERMISSION_DENIED);
	r2 = change_driver(f, "Unbind", "0000:00:02.0");
	assert_string_equal(r2.error, VFIOD_ERROR_PERMISSION_DENIED);
	assert_no_driver_change(f);
}

/* A flood of denials is recorded up to the connection's budget, the rest counted and said in
 * one summary record when the connection closes; a Bind done meanwhile is recorded whatever
 * the flood (security review item 5). The bound allows one more budget for each interval
 * begun, however slow the machine. */
static void denial_flood_is_summarised_and_binds_are_recorded(void **state) {
	Fixture *f = *state;
	Connection *c = f->manager->connections;
	unsigned long before = audit_records_made;
	uint64_t start = 0, end = 0, intervals;

	policy_add(f, "assignable any\n");
	c->peer.uid = c->account_uid = 1000;
	assert_true(sd_event_now(f->manager->event, CLOCK_MONOTONIC, &start) >= 0);
	for (int i = 0; i < 200; i++) {
		_cleanup_(varlink_reply_done) VarlinkReply r = change_driver(f, "Bind", "0000:00:02.0");
		assert_string_equal(r.error, VFIOD_ERROR_PERMISSION_DENIED);
	}
	assert_true(sd_event_now(f->manager->event, CLOCK_MONOTONIC, &end) >= 0);
	intervals = 2 + (end - start) / AUDIT_DENIAL_INTERVAL_USEC;
	assert_in_range(audit_records_made - before, 1, intervals * AUDIT_DENIALS_PER_CONNECTION);
	assert_true(c->denials_suppressed >= 200 - intervals * AUDIT_DENIALS_PER_CONNECTION);

	/* As an admin now: the Bind is done and recorded. */
	c->peer.uid = 0;
	before = audit_records_made;
	{
		_cleanup_(varlink_reply_done) VarlinkReply r = change_driver(f, "Bind", "0000:00:02.0");
		assert_null(r.error);
	}
	assert_int_equal(audit_records_made - before, 1);

	/* The close says how many were suppressed, in one record. */
	before = audit_records_made;
	f->client = safe_close(f->client);
	for (int i = 0; i < 50 && f->manager->n_connections > 0; i++)
		pump(f);
	assert_int_equal(f->manager->n_connections, 0);
	assert_int_equal(audit_records_made - before, 1);
}

static void bind_with_bad_address_fails(void **state) {
	static const char *const bad[] = { "../..", "0000:00:02.0/../../x", "%s", "", "0000:00:02.0 " };
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply unknown = {}, missing = {};

	policy_add(f, "assignable any\n");
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(varlink_reply_done) VarlinkReply r =
		        change_driver(f, i % 2 ? "Bind" : "Unbind", bad[i]);
		assert_string_equal(r.error, VFIOD_ERROR_INVALID_ADDRESS);
		assert_string_equal(string_parameter(&r, "address"), bad[i]);
	}
	unknown = change_driver(f, "Bind", "0000:09:00.0");
	assert_string_equal(unknown.error, VFIOD_ERROR_NO_SUCH_DEVICE);
	missing = call_method(f, "{\"method\":\"io.vfiod.Unbind\",\"parameters\":{\"address\":2}}");
	assert_string_equal(missing.error, VARLINK_ERROR_INVALID_PARAMETER);
	assert_string_equal(string_parameter(&missing, "parameter"), "address");
	assert_no_driver_change(f);
}

static void bind_not_assignable_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};

	policy_add(f, "assignable device:0000:01:01.0\n");
	r1 = change_driver(f, "Bind", "0000:00:02.0");
	assert_string_equal(r1.error, VFIOD_ERROR_NOT_ASSIGNABLE);
	assert_string_equal(string_parameter(&r1, "address"), "0000:00:02.0");
	r2 = change_driver(f, "Unbind", "0000:01:00.0");
	assert_string_equal(r2.error, VFIOD_ERROR_NOT_ASSIGNABLE);
	assert_no_driver_change(f);
}

/* A device of a group that is attached stays where it is, whichever member is asked for. */
static void bind_while_attached_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {};
	json_object *v = NULL;

	policy_add(f, "assignable any\n");
	hold_group(f, 5, "0000:01:01.0", 7);
	r1 = change_driver(f, "Bind", "0000:01:00.0");
	assert_string_equal(r1.error, VFIOD_ERROR_DEVICE_BUSY);
	assert_string_equal(string_parameter(&r1, "address"), "0000:01:00.0");
	assert_true(json_object_object_get_ex(r1.parameters, "attachment", &v));
	assert_int_equal(json_object_get_int64(v), 7);
	r2 = change_driver(f, "Unbind", "0000:01:01.0");
	assert_string_equal(r2.error, VFIOD_ERROR_DEVICE_BUSY);
	assert_no_driver_change(f);
}

/* A second connection that called Monitor, and its reader. */
static int open_monitor(Fixture *f, WireReader *reader) {
	const char *call = "{\"method\":\"io.vfiod.Monitor\",\"more\":true}";
	int monitor = test_add_pair_client(f->manager);

	test_send_raw(monitor, call, strlen(call) + 1, NULL, 0);
	pump(f);
	wire_reader_init(reader, PROTOCOL_MAX_REPLY_BYTES);
	return monitor;
}

/* The device is on vfio-pci already in the fake tree: the override is written, nothing is
 * unbound, the probe asked; the reply and the monitors' event carry the device. */
static void bind_writes_sysfs_and_tells_monitors(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {}, e = {};
	json_object *device = NULL, *event = NULL, *v = NULL;
	WireReader reader;
	int monitor;

	policy_add(f, "assignable device:0000:00:02.0\n");
	monitor = open_monitor(f, &reader);
	r = change_driver(f, "Bind", "0000:00:02.0");
	assert_null(r.error);
	assert_true(json_object_object_get_ex(r.parameters, "device", &device));
	assert_string_equal(member_string(device, "address"), "0000:00:02.0");
	assert_string_equal(member_string(device, "driver"), "vfio-pci");
	assert_writes(f, "0000:00:02.0", "vfio-pci", "vfio-pci", false);
	e = test_receive_reply(f->manager->event, &reader, monitor, 0);
	assert_true(json_object_object_get_ex(e.parameters, "event", &event));
	assert_string_equal(member_string(event, "kind"), "bind");
	assert_true(json_object_object_get_ex(event, "device", &v));
	assert_string_equal(member_string(v, "address"), "0000:00:02.0");
	wire_reader_done(&reader);
	safe_close(monitor);
}

/* From a host driver: override, unbind from e1000, probe. The fake kernel binds nothing, so
 * vfio-pci's verdict (the driver link) is no: a KernelError naming the probe, and the device
 * restored. */
static void bind_not_taken_by_vfio_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	policy_add(f, "assignable device:0000:01:00.0\n");
	r = change_driver(f, "Bind", "0000:01:00.0");
	/* The override is taken back, so that no later probe binds vfio-pci. */
	assert_writes(f, "0000:01:00.0", "\n", "e1000", true);
	assert_kernel_error(&r, ENODEV);
	assert_string_equal(string_parameter(&r, "operation"), "probe the device with vfio-pci");
}

/* A device the host visibly uses is refused before anything is written, unless forced. */
static void bind_of_device_in_host_use_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r1 = {}, r2 = {}, r3 = {};

	policy_add(f, "assignable id:8086:10d3\nassignable id:8086:100e\n");
	assert_int_equal(fake_sysfs_write_attribute(f->sysfs, "0000:00:02.0", "boot_vga", "1\n"), 0);
	assert_int_equal(fake_sysfs_add_class_device(f->sysfs, "0000:01:00.0", "net/eth0", "net"), 0);
	assert_int_equal(fake_sysfs_write_attribute(f->sysfs, "0000:01:00.0", "net/eth0/flags", "0x1003\n"),
	                 0);
	r1 = change_driver(f, "Bind", "0000:00:02.0");
	assert_kernel_error(&r1, EBUSY);
	assert_string_equal(string_parameter(&r1, "operation"),
	                    "the host uses the device: it is the boot VGA device");
	r2 = change_driver(f, "Bind", "0000:01:00.0");
	assert_string_equal(r2.error, VFIOD_ERROR_KERNEL_ERROR);
	assert_string_equal(string_parameter(&r2, "operation"),
	                    "the host uses the device: network interface eth0 is up");
	assert_no_driver_change(f);
	/* An admin's force goes ahead. */
	r3 = call_method(
	        f, "{\"method\":\"io.vfiod.Bind\",\"parameters\":{\"address\":\"0000:00:02.0\",\"force\":"
	           "true}}");
	assert_null(r3.error);
	assert_writes(f, "0000:00:02.0", "vfio-pci", "vfio-pci", false);
}

/* Bind(address, driver): a driver that is no vfio-pci variant by the kernel's sign, or no
 * driver name, is InvalidParameter "driver" and moves nothing; a variant gets the device's
 * override (the fake kernel binds nothing, so its verdict is no, and the device goes back). */
static void bind_to_a_named_driver(void **state) {
	static const char *const refused[] = {
		"e1000", "../../x", "pci-stub",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	char call[256];

	policy_add(f, "assignable any\n");
	assert_int_equal(fake_sysfs_add_driver_module(f->sysfs, "pci-stub", "pci_stub", false), 0);
	assert_int_equal(fake_sysfs_add_driver_module(f->sysfs, "mlx5_vfio_pci", "mlx5_vfio_pci", true), 0);
	for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
		_cleanup_(varlink_reply_done) VarlinkReply bad = {};
		snprintf(call, sizeof(call),
		         "{\"method\":\"io.vfiod.Bind\",\"parameters\":{\"address\":\"0000:01:00.0\","
		         "\"driver\":\"%s\"}}",
		         refused[i]);
		bad = call_method(f, call);
		assert_string_equal(bad.error, VARLINK_ERROR_INVALID_PARAMETER);
		assert_string_equal(string_parameter(&bad, "parameter"), "driver");
	}
	assert_no_driver_change(f);
	r = call_method(f, "{\"method\":\"io.vfiod.Bind\",\"parameters\":{\"address\":\"0000:01:00.0\","
	                   "\"driver\":\"mlx5_vfio_pci\"}}");
	assert_string_equal(r.error, VFIOD_ERROR_KERNEL_ERROR);
	assert_string_equal(string_parameter(&r, "operation"), "probe the device with the named driver");
	assert_writes(f, "0000:01:00.0", "\n", "e1000", true);
}

static void unbind_writes_sysfs(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *device = NULL;

	policy_add(f, "assignable id:8086:10d3\n");
	r = change_driver(f, "Unbind", "0000:00:02.0");
	assert_null(r.error);
	assert_true(json_object_object_get_ex(r.parameters, "device", &device));
	assert_string_equal(member_string(device, "address"), "0000:00:02.0");
	assert_writes(f, "0000:00:02.0", "\n", "vfio-pci", true);
}

/* A device fd held open with no group fd anywhere (vfio-pci enables the device while it is
 * open): unbinding would block in the kernel, so it is refused and nothing is written. */
static void unbind_of_open_device_fails(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	policy_add(f, "assignable id:8086:10d3\n");
	/* The kernel shows its enable count, which may be above 1. */
	assert_int_equal(fake_sysfs_write_attribute(f->sysfs, "0000:00:02.0", "enable", "2\n"), 0);
	r = change_driver(f, "Unbind", "0000:00:02.0");
	assert_kernel_error(&r, EBUSY);
	assert_string_equal(member_string(r.parameters, "operation"), "device fd open (sysfs enable)");
	assert_no_driver_change(f);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(get_info_names_interfaces),
		T(interface_description_is_the_idl),
		T(interface_description_unknown_fails),
		T(missing_parameter_fails),
		T(unknown_method_fails),
		T(long_unknown_names_are_echoed_bounded),
		T(list_devices_reads_sysfs),
		T(list_devices_takes_the_kernels_viability),
		T(list_devices_hides_groups_not_wholly_allowed),
		T(list_devices_hides_groups_with_unknown_members),
		T(pipelined_calls_answered_in_order),
		T(invalid_json_fails_and_closes),
		T(invalid_utf8_fails_and_closes),
		T(oversized_request_fails_and_closes),
		T(fds_on_method_without_fds_are_closed),
		T(attach_with_bad_address_fails),
		T(attach_unknown_device_fails),
		T(attach_not_viable_names_blockers),
		T(attach_of_device_on_no_vfio_driver_fails),
		T(attach_viability_is_the_kernels),
		T(attach_non_vm_fd_fails),
		T(attach_vm_fd_index_out_of_range_fails),
		T(open_device_unknown_attachment_fails),
		T(list_attachments_empty),
		T(client_not_reading_is_bounded),
		T(half_message_then_hangup_leaves_nothing),
		T(monitor_without_more_fails),
		T(monitor_streams_events),
		T(monitor_not_reading_is_dropped),
		T(monitor_of_user_hears_own_events_only),
		T(oneway_calls_get_no_reply),
		T(oneway_detach_detaches),
		cmocka_unit_test(forbidden_call_forms_close),
		cmocka_unit_test(method_table_declares_the_boundary),
		T(bind_by_non_admin_fails),
		T(denial_flood_is_summarised_and_binds_are_recorded),
		T(bind_with_bad_address_fails),
		T(bind_not_assignable_fails),
		T(bind_while_attached_fails),
		T(bind_writes_sysfs_and_tells_monitors),
		T(bind_not_taken_by_vfio_fails),
		T(bind_of_device_in_host_use_fails),
		T(bind_to_a_named_driver),
		T(unbind_writes_sysfs),
		T(unbind_of_open_device_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
