/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* AttachDevice, the cdev mode, as a client meets it: a real manager and connections over
 * socketpairs, a fake sysfs tree with the devices' vfio-dev entries, and the fake kernel behind
 * the state model's seam, whose iommufds and cdevs are memfds the test can count
 * (fake_vfio_count_open()). What the reply passes and names, which VM an iommufd names and
 * whose it may be, the group rule against the group mode in both directions, the errors that
 * name a missing node, the parameter decoding of the table's row, and that every copy the
 * daemon holds is closed when the attachment ends, however it ends. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "../fakes/fake-vfio.h"
#include "audit.h"
#include "connection.h"
#include "manager.h"
#include "message.h"
#include "protocol.h"
#include "util.h"
#include "wire.h"

#define N_CLIENTS 2

typedef struct Fixture {
	Manager *manager;
	FakeSysfs *sysfs;
	int clients[N_CLIENTS];
	WireReader readers[N_CLIENTS];
	int gate[2]; /* device_cdev_open reads a byte from gate[0] when the case sets the gate */
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	assert_int_equal(pipe2(f->gate, O_CLOEXEC), 0);
	assert_int_equal(manager_new(&f->manager), 0);
	test_wait_for_workers(f->manager->workers);
	fake_vfio_reset();
	f->manager->state.vfio = &fake_vfio_ops;
	f->sysfs = fake_sysfs_new();
	assert_non_null(f->sysfs);
	assert_int_equal(fake_sysfs_add_cdev_devices(f->sysfs), 0);
	assert_int_equal(manager_open_sysfs(f->manager, fake_sysfs_path(f->sysfs)), 0);
	for (size_t i = 0; i < N_CLIENTS; i++) {
		f->clients[i] = test_add_pair_client(f->manager);
		wire_reader_init(&f->readers[i], PROTOCOL_MAX_REPLY_BYTES);
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	/* Whatever waits at the gate goes through. */
	safe_close(f->gate[1]);
	for (size_t i = 0; i < N_CLIENTS; i++) {
		wire_reader_done(&f->readers[i]);
		safe_close(f->clients[i]);
	}
	manager_free(f->manager);
	fake_sysfs_free(f->sysfs);
	safe_close(f->gate[0]);
	/* Every copy the daemon held is closed with it. */
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void pump(Fixture *f) {
	test_run_loop(f->manager->event, 0);
}

/* A reply and the fds that came with it. */
typedef struct Answer {
	VarlinkReply reply;
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds;
} Answer;

static void answer_done(Answer *a) {
	varlink_reply_done(&a->reply);
	close_many(a->fds, a->n_fds);
	a->n_fds = 0;
}

/* Sends call on client i with n_fds fds and returns its answer. */
static Answer call_with_fds(Fixture *f, size_t i, const char *call, const int *fds, size_t n_fds) {
	Answer a = {};

	test_send_raw(f->clients[i], call, strlen(call) + 1, fds, n_fds);
	a.reply =
	        test_receive_reply_fds(f->manager->event, &f->readers[i], f->clients[i], 0, a.fds, &a.n_fds);
	return a;
}

/* AttachDevice(address) on client i, naming iommu_fd as iommuFd when it is not -EBADF. */
static Answer attach_device(Fixture *f, size_t i, const char *address, int iommu_fd) {
	char call[256];

	snprintf(call, sizeof(call),
	         "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":\"%s\"%s}}", address,
	         iommu_fd >= 0 ? ",\"iommuFd\":0" : "");
	return call_with_fds(f, i, call, &iommu_fd, iommu_fd >= 0 ? 1 : 0);
}

/* Attach(address) on client i, a memfd standing in for the VM fd (the fake kernel takes it). */
static Answer attach_group(Fixture *f, size_t i, const char *address, int vm_fd) {
	char call[256];

	snprintf(call, sizeof(call),
	         "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"%s\",\"vmFd\":0}}", address);
	return call_with_fds(f, i, call, &vm_fd, 1);
}

static json_object *member(json_object *o, const char *key) {
	json_object *v = NULL;

	assert_non_null(o);
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member '%s'", key);
	return v;
}

static int64_t attachment_id(const Answer *a) {
	return json_object_get_int64(member(member(a->reply.parameters, "attachment"), "id"));
}

/* Whether fd's /proc link reads target. */
static bool fd_links_to(int fd, const char *target) {
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, target) == 0;
}

/* Whether fd is a memfd the fake kernel made under name. */
static bool fd_is(int fd, const char *name) {
	char want[128];

	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	return fd_links_to(fd, want);
}

/* How many fds of this process link to target. */
static int count_links(const char *target) {
	int n = 0, max = (int) sysconf(_SC_OPEN_MAX);

	for (int fd = 0; fd < max && fd < 4096; fd++)
		n += fd_links_to(fd, target);
	return n;
}

static void assert_error(const Answer *a, const char *error) {
	if (!a->reply.error || strcmp(a->reply.error, error) != 0)
		fail_msg("answered %s, not %s", a->reply.error ?: "a reply", error);
	assert_int_equal(a->n_fds, 0);
}

/* Runs the loop until every worker job ended. */
static void pump_until_jobs_done(Fixture *f) {
	while (workers_pending(f->manager->workers) > 0)
		assert_true(sd_event_run(f->manager->event, UINT64_MAX) >= 0);
	pump(f);
}

/* The first device of a VM: its cdev and a new iommufd, named deviceFd 0 and iommuFd 1, and an
 * attachment of mode "cdev" that counts as open. A second device of the same group, given that
 * iommufd, gets its cdev only (iommuFd null) and the same VM. */
static void attach_device_passes_cdev_and_iommufd(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer first = {}, second = {}, listed = {};
	json_object *attachment, *list;

	first = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_null(first.reply.error);
	assert_int_equal(first.n_fds, 2);
	assert_int_equal(json_object_get_int(member(first.reply.parameters, "deviceFd")), 0);
	assert_int_equal(json_object_get_int(member(first.reply.parameters, "iommuFd")), 1);
	assert_true(fd_is(first.fds[0], FAKE_VFIO_CDEV));
	assert_true(fd_is(first.fds[1], FAKE_VFIO_IOMMUFD));
	assert_string_equal(fake_vfio.cdev.name, "vfio1");
	attachment = member(first.reply.parameters, "attachment");
	assert_string_equal(json_object_get_string(member(attachment, "mode")), "cdev");
	assert_true(json_object_get_boolean(member(attachment, "deviceOpen")));
	assert_string_equal(json_object_get_string(member(attachment, "address")), "0000:02:01.0");

	second = attach_device(f, 0, "0000:02:02.0", first.fds[1]);
	assert_null(second.reply.error);
	assert_int_equal(second.n_fds, 1);
	assert_true(fd_is(second.fds[0], FAKE_VFIO_CDEV));
	assert_null(member(second.reply.parameters, "iommuFd"));
	assert_int_equal(fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN], 1);
	assert_int_equal(json_object_get_int64(member(member(second.reply.parameters, "attachment"), "vm")),
	                 json_object_get_int64(member(attachment, "vm")));

	listed = call_with_fds(f, 0, "{\"method\":\"io.vfiod.ListAttachments\"}", NULL, 0);
	list = member(listed.reply.parameters, "attachments");
	assert_int_equal(json_object_array_length(list), 2);
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(
		        json_object_get_string(member(json_object_array_get_idx(list, i), "mode")), "cdev");
}

/* An attachment made by Attach says so too: "group", not null. */
static void group_mode_attachment_says_group(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer attached = {};
	int vm = memfd_create("vm", MFD_CLOEXEC);

	assert_true(vm >= 0);
	attached = attach_group(f, 0, "0000:02:01.0", vm);
	assert_null(attached.reply.error);
	assert_string_equal(
	        json_object_get_string(member(member(attached.reply.parameters, "attachment"), "mode")),
	        "group");
	safe_close(vm);
}

/* Monitors hear of the cdev mode's attachments with their mode, at attach and at detach. */
static void monitor_events_carry_the_mode(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer attached = {}, detached = {}, heard_attach = {}, heard_detach = {};
	char call[128];
	json_object *event;

	test_send_raw(f->clients[1], "{\"method\":\"io.vfiod.Monitor\",\"more\":true}",
	              sizeof("{\"method\":\"io.vfiod.Monitor\",\"more\":true}"), NULL, 0);
	pump(f);
	attached = attach_device(f, 0, "0000:05:00.0", -EBADF);
	assert_null(attached.reply.error);
	snprintf(call, sizeof(call), "{\"method\":\"io.vfiod.Detach\",\"parameters\":{\"id\":%lld}}",
	         (long long) attachment_id(&attached));
	detached = call_with_fds(f, 0, call, NULL, 0);
	assert_null(detached.reply.error);
	heard_attach.reply = test_receive_reply(f->manager->event, &f->readers[1], f->clients[1], 0);
	heard_detach.reply = test_receive_reply(f->manager->event, &f->readers[1], f->clients[1], 0);
	event = member(heard_attach.reply.parameters, "event");
	assert_string_equal(json_object_get_string(member(event, "kind")), "attach");
	assert_string_equal(json_object_get_string(member(member(event, "attachment"), "mode")), "cdev");
	event = member(heard_detach.reply.parameters, "event");
	assert_string_equal(json_object_get_string(member(event, "kind")), "detach");
	assert_string_equal(json_object_get_string(member(member(event, "attachment"), "mode")), "cdev");
	pump_until_jobs_done(f);
}

/* An iommuFd that is no iommufd this broker handed out names no VM: NotAnIommufd, before any
 * kernel work. */
static void foreign_fd_is_not_an_iommufd(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer event = {}, memfd = {};
	int e = eventfd(0, EFD_CLOEXEC), m = memfd_create("iommu", MFD_CLOEXEC);

	assert_true(e >= 0 && m >= 0);
	event = attach_device(f, 0, "0000:02:01.0", e);
	assert_error(&event, VFIOD_ERROR_NOT_AN_IOMMUFD);
	memfd = attach_device(f, 0, "0000:02:01.0", m);
	assert_error(&memfd, VFIOD_ERROR_NOT_AN_IOMMUFD);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN] + fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 0);
	assert_null(f->manager->state.attachments);
	safe_close(e);
	safe_close(m);
}

/* Another process passing a VM's iommufd (which it may have been given) is refused as if the
 * fd were nothing: it names no VM of that caller. The VM's own process may add to it. */
static void iommufd_of_another_process_is_refused(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer first = {}, other = {}, same = {};
	_cleanup_(wire_reader_done) WireReader reader = {};
	char call[] = "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":\"0000:02:02.0\","
	              "\"iommuFd\":0}}";
	int hold = -EBADF, status = 0, daemon_end = -EBADF, client;
	unsigned long before;
	pid_t child = 0;

	first = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_null(first.reply.error);
	client = test_socketpair_from_child(&child, &hold, &daemon_end);
	assert_int_equal(manager_add_client(f->manager, daemon_end, NULL), 0);
	wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
	before = audit_records_made;
	test_send_raw(client, call, sizeof(call), &first.fds[1], 1);
	other.reply = test_receive_reply(f->manager->event, &reader, client, 0);
	assert_error(&other, VFIOD_ERROR_NOT_AN_IOMMUFD);
	assert_int_equal(audit_records_made - before, 1);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 1);
	same = attach_device(f, 0, "0000:02:02.0", first.fds[1]);
	assert_null(same.reply.error);
	safe_close(client);
	safe_close(hold);
	assert_int_equal(waitpid(child, &status, 0), child);
	pump(f);
}

/* A group's devices go to one VM, in whichever mode: DeviceBusy names the attachment holding
 * the group, from the daemon, before the kernel would refuse. */
static void group_busy_across_modes(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer legacy = {}, cdev = {}, refused_cdev = {}, refused_legacy = {},
	                              other_vm = {};
	int vm = memfd_create("vm", MFD_CLOEXEC);

	assert_true(vm >= 0);
	legacy = attach_group(f, 0, "0000:02:01.0", vm);
	assert_null(legacy.reply.error);
	refused_cdev = attach_device(f, 0, "0000:02:02.0", -EBADF);
	assert_error(&refused_cdev, VFIOD_ERROR_DEVICE_BUSY);
	assert_int_equal(json_object_get_int64(member(refused_cdev.reply.parameters, "attachment")),
	                 attachment_id(&legacy));

	cdev = attach_device(f, 1, "0000:05:00.0", -EBADF);
	assert_null(cdev.reply.error);
	refused_legacy = attach_group(f, 0, "0000:05:00.1", vm);
	assert_error(&refused_legacy, VFIOD_ERROR_DEVICE_BUSY);
	assert_int_equal(json_object_get_int64(member(refused_legacy.reply.parameters, "attachment")),
	                 attachment_id(&cdev));
	/* Another cdev VM of the same process, for the same group. */
	other_vm = attach_device(f, 1, "0000:05:00.1", -EBADF);
	assert_error(&other_vm, VFIOD_ERROR_DEVICE_BUSY);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 1);
	safe_close(vm);
}

/* A kernel without the cdev or without iommufd: KernelError naming the node, ENOENT, and
 * nothing left behind. */
static void missing_nodes_are_named(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer no_cdev = {}, no_iommu = {};

	no_cdev = attach_device(f, 0, "0000:06:00.0", -EBADF);
	assert_error(&no_cdev, VFIOD_ERROR_KERNEL_ERROR);
	assert_string_equal(json_object_get_string(member(no_cdev.reply.parameters, "operation")),
	                    "open /dev/vfio/devices/vfioN");
	assert_int_equal(json_object_get_int(member(no_cdev.reply.parameters, "errno")), ENOENT);
	fake_vfio.fail_at = FAKE_CALL_IOMMUFD_OPEN;
	fake_vfio.fail_errno = ENOENT;
	no_iommu = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_error(&no_iommu, VFIOD_ERROR_KERNEL_ERROR);
	assert_string_equal(json_object_get_string(member(no_iommu.reply.parameters, "operation")),
	                    "open /dev/iommu");
	assert_int_equal(json_object_get_int(member(no_iommu.reply.parameters, "errno")), ENOENT);
	assert_null(f->manager->state.attachments);
	assert_null(f->manager->state.vms);
	assert_null(f->manager->state.groups);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
}

/* The policy, the group rule and the limits of Attach: a user not allowed the whole group is
 * denied (and audited), one at attachments-per-user is refused, before any kernel work. */
static void policy_and_limits_apply(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer denied = {}, first = {}, limited = {};
	PolicyRule *allow = calloc(1, sizeof(*allow));
	Connection *c = f->manager->connections;
	unsigned long before = audit_records_made;

	assert_non_null(allow);
	/* Client 1 was added last, so it heads the list: client 0 is the next. */
	c = c->next;
	c->peer.uid = c->account_uid = 1000;
	denied = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_error(&denied, VFIOD_ERROR_PERMISSION_DENIED);
	assert_int_equal(audit_records_made - before, 1);
	*allow = (PolicyRule){
		.kind = RULE_ALLOW, .subject = SUBJECT_USER, .id = 1000, .object = OBJECT_ANY
	};
	f->manager->policy.rules = allow;
	f->manager->policy.n_rules = 1;
	f->manager->policy.limits.attachments_per_user = 1;
	first = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_null(first.reply.error);
	limited = attach_device(f, 0, "0000:05:00.0", -EBADF);
	assert_error(&limited, VFIOD_ERROR_LIMIT_EXCEEDED);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 1);
}

/* OpenDevice has nothing to open for an attachment of the cdev mode: its device counts as open
 * from AttachDevice on, so it answers as for a second OpenDevice. */
static void open_device_of_cdev_attachment_is_busy(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer attached = {}, opened = {};
	char call[128];

	attached = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_null(attached.reply.error);
	snprintf(call, sizeof(call), "{\"method\":\"io.vfiod.OpenDevice\",\"parameters\":{\"id\":%lld}}",
	         (long long) attachment_id(&attached));
	opened = call_with_fds(f, 0, call, NULL, 0);
	assert_error(&opened, VFIOD_ERROR_DEVICE_BUSY);
	assert_int_equal(json_object_get_int64(member(opened.reply.parameters, "attachment")),
	                 attachment_id(&attached));
	assert_int_equal(fake_vfio.calls[FAKE_CALL_GET_DEVICE_FD], 0);
}

/* Client 0 detaches the first attachment of the list, and the release job runs. */
static void detach_first(Fixture *f) {
	_cleanup_(answer_done) Answer detached = {};
	char call[128];

	snprintf(call, sizeof(call), "{\"method\":\"io.vfiod.Detach\",\"parameters\":{\"id\":%u}}",
	         f->manager->state.attachments->id);
	detached = call_with_fds(f, 0, call, NULL, 0);
	assert_null(detached.reply.error);
	pump_until_jobs_done(f);
}

/* Detach closes the daemon's cdev of the device, and with the VM's last attachment its
 * iommufd: once the client closed its own copies, none is left open. */
static void detach_closes_the_daemons_copies(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer first = {}, second = {};

	first = attach_device(f, 0, "0000:02:01.0", -EBADF);
	second = attach_device(f, 0, "0000:02:02.0", first.fds[1]);
	assert_null(second.reply.error);
	answer_done(&first);
	answer_done(&second);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 2);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 1);
	detach_first(f);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 1);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 1);
	detach_first(f);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
	assert_null(f->manager->state.vms);
	assert_null(f->manager->state.groups);
}

/* A VM ends with its last attachment: the iommufd its VMM still holds names no VM after that,
 * and a device asked for with it is refused NotAnIommufd before any kernel work. */
static void iommufd_of_an_ended_vm_names_none(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer first = {}, again = {};
	int kept, opens;

	first = attach_device(f, 0, "0000:02:01.0", -EBADF);
	assert_null(first.reply.error);
	kept = fcntl(first.fds[1], F_DUPFD_CLOEXEC, 3);
	assert_true(kept >= 0);
	answer_done(&first);
	detach_first(f);
	assert_null(f->manager->state.vms);
	opens = fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN] + fake_vfio.calls[FAKE_CALL_CDEV_OPEN];
	again = attach_device(f, 0, "0000:02:01.0", kept);
	assert_error(&again, VFIOD_ERROR_NOT_AN_IOMMUFD);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN] + fake_vfio.calls[FAKE_CALL_CDEV_OPEN], opens);
	assert_null(f->manager->state.attachments);
	safe_close(kept);
}

/* The owner process exits: its attachments end, and the daemon's copies are closed. */
static void owner_exit_closes_the_daemons_copies(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer attached = {};
	_cleanup_(wire_reader_done) WireReader reader = {};
	char call[] = "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":\"0000:05:00.0\"}}";
	int hold = -EBADF, status = 0, daemon_end = -EBADF, client;
	pid_t child = 0;

	client = test_socketpair_from_child(&child, &hold, &daemon_end);
	assert_int_equal(manager_add_client(f->manager, daemon_end, NULL), 0);
	wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
	test_send_raw(client, call, sizeof(call), NULL, 0);
	attached.reply = test_receive_reply(f->manager->event, &reader, client, 0);
	assert_null(attached.reply.error);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 1);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 1);
	safe_close(hold);
	assert_int_equal(waitpid(child, &status, 0), child);
	for (int i = 0; i < 50 && f->manager->state.attachments; i++)
		test_run_loop(f->manager->event, 10000);
	pump_until_jobs_done(f);
	assert_null(f->manager->state.attachments);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
	safe_close(client);
	pump(f);
}

/* A VMM that goes away while its AttachDevice is in the kernel leaves nothing behind. */
static void caller_gone_leaves_nothing(void **state) {
	Fixture *f = *state;
	char call[] = "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":\"0000:02:01.0\"}}";

	fake_vfio.gate = f->gate[0];
	test_send_raw(f->clients[0], call, sizeof(call), NULL, 0);
	pump(f);
	assert_int_equal(workers_pending(f->manager->workers), 1);
	f->clients[0] = safe_close(f->clients[0]);
	pump(f);
	assert_int_equal(write(f->gate[1], "x", 1), 1);
	pump_until_jobs_done(f);
	assert_null(f->manager->state.attachments);
	assert_null(f->manager->state.vms);
	assert_null(f->manager->state.groups);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 1);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
}

/* The row decodes iommuFd as an index among the call's fds: present, within 0..15 and below
 * the number of fds passed, or absent (null is absent). An fd passed without iommuFd is closed,
 * not guessed at. AttachDevice passes fds back, so it is never oneway. */
static void row_decodes_iommufd_as_an_index(void **state) {
	static const char *const bad[] = {
		"\"iommuFd\":0",     "\"iommuFd\":1",   "\"iommuFd\":16",   "\"iommuFd\":-1",
		"\"iommuFd\":\"0\"", "\"iommuFd\":0.5", "\"iommuFd\":true",
	};
	Fixture *f = *state;
	char call[256];
	int e = eventfd(0, EFD_CLOEXEC), eventfds = count_links("anon_inode:[eventfd]");

	assert_true(e >= 0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(answer_done) Answer a = {};
		snprintf(call, sizeof(call),
		         "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":\"0000:02:01."
		         "0\",%s}}",
		         bad[i]);
		a = call_with_fds(f, 0, call, &e, i == 1 ? 1 : 0);
		assert_error(&a, VARLINK_ERROR_INVALID_PARAMETER);
		assert_string_equal(json_object_get_string(member(a.reply.parameters, "parameter")),
		                    "iommuFd");
	}
	{
		_cleanup_(answer_done) Answer no_address = {}, null_fd = {};
		no_address = call_with_fds(f, 0, "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{}}",
		                           NULL, 0);
		assert_error(&no_address, VARLINK_ERROR_INVALID_PARAMETER);
		assert_string_equal(json_object_get_string(member(no_address.reply.parameters, "parameter")),
		                    "address");
		/* null is no iommufd, and the eventfd passed along is closed: a new VM. */
		null_fd = call_with_fds(f, 0,
		                        "{\"method\":\"io.vfiod.AttachDevice\",\"parameters\":{\"address\":"
		                        "\"0000:02:01.0\",\"iommuFd\":null}}",
		                        &e, 1);
		assert_null(null_fd.reply.error);
		assert_int_equal(null_fd.n_fds, 2);
	}
	safe_close(e);
	/* The test's own eventfd is closed: any other would be one the daemon kept. */
	assert_int_equal(count_links("anon_inode:[eventfd]"), eventfds - 1);
}

/* oneway AttachDevice: a protocol error, and the connection closes. */
static void oneway_attach_device_closes(void **state) {
	Fixture *f = *state;
	_cleanup_(answer_done) Answer a = {};

	a = call_with_fds(
	        f, 0,
	        "{\"method\":\"io.vfiod.AttachDevice\",\"oneway\":true,\"parameters\":{\"address\":"
	        "\"0000:02:01.0\"}}",
	        NULL, 0);
	assert_error(&a, VFIOD_ERROR_PROTOCOL_ERROR);
	assert_true(test_is_closed(f->manager->event, f->clients[0]));
	assert_null(f->manager->state.attachments);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(attach_device_passes_cdev_and_iommufd),
		T(group_mode_attachment_says_group),
		T(monitor_events_carry_the_mode),
		T(foreign_fd_is_not_an_iommufd),
		T(iommufd_of_another_process_is_refused),
		T(group_busy_across_modes),
		T(missing_nodes_are_named),
		T(policy_and_limits_apply),
		T(open_device_of_cdev_attachment_is_busy),
		T(detach_closes_the_daemons_copies),
		T(iommufd_of_an_ended_vm_names_none),
		T(owner_exit_closes_the_daemons_copies),
		T(caller_gone_leaves_nothing),
		T(row_decodes_iommufd_as_an_index),
		T(oneway_attach_device_closes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
