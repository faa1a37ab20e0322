/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fd store protocol without systemd: NOTIFY_SOCKET points at a datagram socket of the
 * test, which reads what the daemon would tell systemd, and a stand-in store applies systemd's
 * rules to it. Restoring with fds that are not what they claim releases them all, and the ids
 * restored are never handed out again. Allocation failures are injected into the sync (this
 * binary is linked with --wrap for the allocators and json-c's constructors, see the
 * Makefile). The cdev mode's kernel checks are wrapped too, so that a cdev attachment makes
 * the whole round trip here, and the group's; the group mode's restores that succeed run in
 * the rig, against Debian's systemd and a real kernel. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "lifecycle.h"
#include "macro.h"
#include "manager.h"
#include "persist.h"
#include "state.h"
#include "util.h"
#include "vfio.h"

/* ---- Allocation failure injection ----
 * Every allocation of the code under test (malloc and friends, json-c's constructors and
 * adders, the serializer) counts down fail_countdown while it is positive; the call that
 * brings it to 0 fails as it would without memory. */
static int fail_countdown;
static bool failure_injected;

static bool allocation_fails(void) {
	if (fail_countdown <= 0 || --fail_countdown > 0)
		return false;
	failure_injected = true;
	return true;
}

#define WRAP(type, name, params, args)                                                                      \
	type __real_##name params;                                                                          \
	type __wrap_##name params;                                                                          \
	type __wrap_##name params {                                                                         \
		return allocation_fails() ? 0 : __real_##name args;                                         \
	}
WRAP(void *, malloc, (size_t size), (size))
WRAP(void *, calloc, (size_t n, size_t size), (n, size))
WRAP(void *, realloc, (void *p, size_t size), (p, size))
WRAP(void *, reallocarray, (void *p, size_t n, size_t size), (p, n, size))
WRAP(char *, strdup, (const char *text), (text))
WRAP(json_object *, json_object_new_object, (void), ())
WRAP(json_object *, json_object_new_array, (void), ())
WRAP(json_object *, json_object_new_int, (int32_t v), (v))
WRAP(json_object *, json_object_new_int64, (int64_t v), (v))
WRAP(json_object *, json_object_new_string, (const char *v), (v))
WRAP(json_object *, json_object_new_boolean, (json_bool v), (v))
WRAP(const char *, json_object_to_json_string_length, (json_object * o, int flags, size_t *length),
     (o, flags, length))

int __real_json_object_object_add(json_object *o, const char *key, json_object *v);
int __wrap_json_object_object_add(json_object *o, const char *key, json_object *v);
int __wrap_json_object_object_add(json_object *o, const char *key, json_object *v) {
	return allocation_fails() ? -1 : __real_json_object_object_add(o, key, v);
}
int __real_json_object_array_add(json_object *o, json_object *v);
int __wrap_json_object_array_add(json_object *o, json_object *v);
int __wrap_json_object_array_add(json_object *o, json_object *v) {
	return allocation_fails() ? -1 : __real_json_object_array_add(o, v);
}

/* ---- The cdev mode's restore checks, and the group's ----
 * Memfds stand in for /dev/iommu, a device's cdev and a group: what the test stored as such
 * passes (the same open file, kcmp), anything else fails, as a real check fails on a file that
 * is not the node. */
static int iommufd_standin = -EBADF, cdev_standin = -EBADF, group_standin = -EBADF, vm_standin = -EBADF,
           container_standin = -EBADF;
#define CDEV_ADDRESS         "0000:00:05.0"
#define GROUP_STANDIN_NUMBER 7

bool __wrap_vfio_iommufd_check(int fd);
bool __wrap_vfio_iommufd_check(int fd) {
	return iommufd_standin >= 0 && vm_fd_same(fd, iommufd_standin) > 0;
}

bool __wrap_vfio_device_cdev_check(int fd, int root_fd, PciAddress address);
bool __wrap_vfio_device_cdev_check(int fd, int root_fd _unused_, PciAddress address) {
	return cdev_standin >= 0 && vm_fd_same(fd, cdev_standin) > 0 &&
	       pci_address_equal(address, test_pci(CDEV_ADDRESS));
}

int __wrap_vm_fd_is_kvm(int fd);
int __wrap_vm_fd_is_kvm(int fd) {
	return vm_standin >= 0 && vm_fd_same(fd, vm_standin) > 0;
}

bool __wrap_vfio_container_check(int fd);
bool __wrap_vfio_container_check(int fd) {
	return container_standin >= 0 && vm_fd_same(fd, container_standin) > 0;
}

bool __wrap_vfio_group_check(int fd, int group);
bool __wrap_vfio_group_check(int fd, int group) {
	return group_standin >= 0 && vm_fd_same(fd, group_standin) > 0 && group == GROUP_STANDIN_NUMBER;
}

typedef struct Message {
	char text[256];
	int fd; /* -EBADF when none came */
} Message;

typedef struct Fixture {
	int notify;
	char path[64];
	int fds_before;
	State state;
	Persist persist;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	assert_non_null(f);
	f->fds_before = test_count_fds();
	snprintf(f->path, sizeof(f->path), "/tmp/vfiod-notify-%d", (int) getpid());
	(void) unlink(f->path);
	strcpy(address.sun_path, f->path);
	f->notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(f->notify >= 0);
	assert_int_equal(bind(f->notify, (struct sockaddr *) &address, sizeof(address)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	state_init(&f->state);
	persist_init(&f->persist);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	state_done(&f->state);
	persist_done(&f->persist);
	close(f->notify);
	unlink(f->path);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

/* The next notification, with the fd it carried. */
static bool receive(Fixture *f, Message *m) {
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m->text, .iov_len = sizeof(m->text) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)
	};
	ssize_t n = recvmsg(f->notify, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	struct cmsghdr *c;

	if (n < 0)
		return false;
	m->text[n] = '\0';
	m->fd = -EBADF;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&m->fd, CMSG_DATA(c), sizeof(int));
	return true;
}

static int memfd(void) {
	return test_memfd("persist-test");
}

/* One VM with one group and two attachments, memfds standing in for every fd. */
static void build_state(Fixture *f) {
	Attachment a = { .id = 7, .owner = 1, .address = test_pci("0000:00:02.0"), .pid = 1, .uid = 1000 };
	Attachment b = { .id = 8, .owner = 2, .address = test_pci("0000:00:03.0"), .pid = 1, .uid = 1000 };

	test_restore_group(&f->state, 3, 12);
	test_restore_attachment(&f->state, &a, 3, 12);
	test_restore_attachment(&f->state, &b, 3, 12);
}

/* What one sync sent: the names stored, with their fds (the test's to close), and removed. */
typedef struct Sync {
	char stored[512];
	char removed[512];
	int fds[16];
	char *names[16];
	size_t n;
} Sync;

/* Syncs f's state and collects into *s (emptied first) what the sync sent. */
static void sync_collect(Fixture *f, Sync *s) {
	Message m;

	*s = (Sync){};
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	while (receive(f, &m)) {
		const char *name = strstr(m.text, "FDNAME=");
		assert_non_null(name);
		name += strlen("FDNAME=");
		size_t length = strcspn(name, "\n");
		if (strstr(m.text, "FDSTOREREMOVE=1")) {
			strncat(s->removed, name, length);
			strcat(s->removed, " ");
			continue;
		}
		assert_non_null(strstr(m.text, "FDSTORE=1"));
		assert_non_null(strstr(m.text, "FDPOLL=0"));
		assert_true(m.fd >= 0);
		assert_true(s->n < ELEMENTSOF(s->fds));
		strncat(s->stored, name, length);
		strcat(s->stored, " ");
		s->fds[s->n] = m.fd;
		s->names[s->n] = strndup(name, length);
		s->n++;
	}
}

/* Closes the fds of s and frees its names. */
static void sync_release(Sync *s) {
	for (size_t i = 0; i < s->n; i++) {
		safe_close(s->fds[i]);
		free(s->names[i]);
	}
	s->n = 0;
}

static void sync_stores_every_fd_and_the_description(void **state) {
	Fixture *f = *state;
	Sync s;
	char text[2048] = "";

	build_state(f);
	assert_true(f->persist.enabled);
	sync_collect(f, &s);
	assert_string_equal(s.stored, "vm-3 container-3 group-12 owner-2 owner-1 state ");
	assert_string_equal(s.removed, "");
	/* The description is sealed and names the attachments. */
	assert_true(pread(s.fds[s.n - 1], text, sizeof(text) - 1, 0) > 0);
	assert_non_null(strstr(text, "\"address\":\"0000:00:02.0\""));
	assert_true(fcntl(s.fds[s.n - 1], F_GET_SEALS) & F_SEAL_WRITE);
	sync_release(&s);
}

static void detach_removes_what_it_releases(void **state) {
	Fixture *f = *state;
	Sync s;

	build_state(f);
	sync_collect(f, &s);
	sync_release(&s);
	/* One of two attachments of the group goes: only its owner pidfd leaves the store. */
	state_detach_now(&f->state, state_find_attachment(&f->state, 7));
	sync_collect(f, &s);
	assert_string_equal(s.removed, "owner-1 state ");
	assert_string_equal(s.stored, "state ");
	sync_release(&s);
	/* The last one: group, VM and container go too. */
	state_detach_now(&f->state, state_find_attachment(&f->state, 8));
	sync_collect(f, &s);
	assert_non_null(strstr(s.removed, "vm-3 "));
	assert_non_null(strstr(s.removed, "container-3 "));
	assert_non_null(strstr(s.removed, "group-12 "));
	assert_non_null(strstr(s.removed, "owner-2 "));
	sync_release(&s);
}

/* Restores the n fds (which it takes) and names (which it frees) through p into restored, a
 * new state. Returns what persist_restore() returns. */
static int restore(Persist *p, State *restored, int *fds, char **names, size_t n) {
	int r;

	state_init(restored);
	r = persist_restore(p, restored, -EBADF, fds, names, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

/* Restores the n fds and names into a new state, which must come to nothing: no attachment,
 * VM or group, and every fd taken and closed. Frees the names. */
static void restore_nothing(Persist *p, int *fds, char **names, size_t n) {
	State restored;

	assert_int_equal(restore(p, &restored, fds, names, n), 0);
	assert_null(restored.attachments);
	assert_null(restored.vms);
	assert_null(restored.groups);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fds[i], -EBADF);
	state_done(&restored);
}

static void restore_releases_what_is_not_what_it_claims(void **state) {
	Fixture *f = *state;
	Sync s;

	build_state(f);
	sync_collect(f, &s);
	/* The stored copies come back, plus one unknown entry. */
	assert_true(s.n < ELEMENTSOF(s.fds));
	s.fds[s.n] = memfd();
	s.names[s.n++] = strdup("junk-1");
	/* memfds are no KVM VM, container or group: nothing survives, every fd is closed. */
	restore_nothing(&f->persist, s.fds, s.names, s.n);
}

static void garbage_description_is_refused(void **state) {
	Fixture *f = *state;
	int fds[2] = { memfd(), memfd() };
	char *names[2] = { strdup("state"), strdup("vm-1") };
	State restored;

	assert_int_equal(write(fds[0], "{\"vms\":[{\"id\":1", 15), 15);
	assert_int_equal(restore(&f->persist, &restored, fds, names, 2), 0);
	assert_null(restored.vms);
	assert_int_equal(fds[0], -EBADF);
	assert_int_equal(fds[1], -EBADF);
	state_done(&restored);
}

/* systemd's fd store, played by the test: FDSTORE adds the fd under its name unless the store
 * holds that open file already (systemd's same_fd(), kcmp KCMP_FILE: "Suppressing duplicate fd
 * in fd store", and the name is dropped with it); FDSTOREREMOVE removes every fd of the name. */
typedef struct Store {
	int fds[64];
	char *names[64];
	size_t n;
} Store;

static void store_remove_at(Store *st, size_t i) {
	safe_close(st->fds[i]);
	free(st->names[i]);
	st->n--;
	st->fds[i] = st->fds[st->n];
	st->names[i] = st->names[st->n];
}

static void store_add(Store *st, char *name, int fd) {
	for (size_t i = 0; i < st->n; i++)
		if (vm_fd_same(st->fds[i], fd) > 0) {
			safe_close(fd);
			free(name);
			return;
		}
	assert_true(st->n < ELEMENTSOF(st->fds));
	st->fds[st->n] = fd;
	st->names[st->n++] = name;
}

/* Applies what the daemon sent since the last call. */
static void store_apply(Fixture *f, Store *st) {
	Message m;

	while (receive(f, &m)) {
		const char *name = strstr(m.text, "FDNAME=");
		assert_non_null(name);
		name += strlen("FDNAME=");
		char *copy = strndup(name, strcspn(name, "\n"));
		assert_non_null(copy);
		if (strstr(m.text, "FDSTOREREMOVE=1")) {
			for (size_t i = 0; i < st->n;)
				if (strcmp(st->names[i], copy) == 0)
					store_remove_at(st, i);
				else
					i++;
			free(copy);
			continue;
		}
		assert_true(m.fd >= 0);
		store_add(st, copy, m.fd);
	}
}

static size_t store_count(const Store *st, const char *name) {
	size_t n = 0;

	for (size_t i = 0; i < st->n; i++)
		n += strcmp(st->names[i], name) == 0;
	return n;
}

static void store_clear(Store *st) {
	while (st->n > 0)
		store_remove_at(st, 0);
}

/* The one description the store holds, parsed. */
static json_object *store_description(const Store *st) {
	char text[8192];
	ssize_t n = -1;

	assert_int_equal(store_count(st, "state"), 1);
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->names[i], "state") == 0)
			n = pread(st->fds[i], text, sizeof(text) - 1, 0);
	assert_true(n > 0);
	text[n] = '\0';
	json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static int64_t member(json_object *o, const char *key) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

/* Every attachment described has its owner's pidfd in the store, under the name a restore
 * looks for (owner-<owner>, or owner-<id> in descriptions that name no owner). Returns how
 * many attachments are described. */
static size_t check_owners_stored(const Store *st) {
	json_object *description = store_description(st), *attachments = NULL;
	size_t n;

	assert_true(json_object_object_get_ex(description, "attachments", &attachments));
	n = json_object_array_length(attachments);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(attachments, i);
		int64_t owner = member(a, "owner") > 0 ? member(a, "owner") : member(a, "id");
		char name[32];
		snprintf(name, sizeof(name), "owner-%" PRId64, owner);
		if (store_count(st, name) != 1)
			fail_msg("attachment %" PRId64 " names %s, which the store does not hold",
			         member(a, "id"), name);
	}
	json_object_put(description);
	return n;
}

static int pidfd_of_self(void) {
	int fd = (int) syscall(SYS_pidfd_open, getpid(), 0);

	assert_true(fd >= 0);
	return fd;
}

/* Adds attachment id at address of VM 3's group 12 and binds it to its owner pidfd, as an
 * attach and a restore do (lifecycle_watch_owner()). */
static Attachment *add_attachment(Manager *m, unsigned id, const char *address, int pidfd) {
	Attachment template = { .id = id, .address = test_pci(address), .pid = getpid(), .uid = 1000 };
	Attachment *a;

	assert_int_equal(state_restore_attachment(&m->state, &template, state_find_group(&m->state, 12),
	                                          state_find_vm_by_id(&m->state, 3), -EBADF, -EBADF),
	                 0);
	a = state_find_attachment(&m->state, id);
	assert_non_null(a);
	assert_int_equal(lifecycle_watch_owner(m, a, pidfd), 0);
	return a;
}

/* A VMM attaches two devices on one connection: both attachments hold copies of that
 * connection's pidfd, one open file, which systemd stores once. Each must still find its
 * owner in the store, also after the other one is detached. */
static void attachments_sharing_a_pidfd_keep_their_owner_stored(void **state) {
	Fixture *f = *state;
	_cleanup_(manager_freep) Manager *m = NULL;
	Store st = {};
	int connection = pidfd_of_self(), other_connection = pidfd_of_self();

	assert_int_equal(manager_new(&m), 0);
	assert_true(m->persist.enabled);
	test_restore_group(&m->state, 3, 12);
	add_attachment(m, 7, "0000:00:02.0", fcntl(connection, F_DUPFD_CLOEXEC, 3));
	add_attachment(m, 8, "0000:00:03.0", fcntl(connection, F_DUPFD_CLOEXEC, 3));
	/* The same process on another connection: another open file. */
	add_attachment(m, 9, "0000:00:04.0", fcntl(other_connection, F_DUPFD_CLOEXEC, 3));
	assert_int_equal(persist_sync(&m->persist, &m->state), 0);
	store_apply(f, &st);
	assert_int_equal(check_owners_stored(&st), 3);

	state_detach_now(&m->state, state_find_attachment(&m->state, 7));
	assert_int_equal(persist_sync(&m->persist, &m->state), 0);
	store_apply(f, &st);
	assert_int_equal(check_owners_stored(&st), 2);

	store_clear(&st);
	safe_close(connection);
	safe_close(other_connection);
	m = manager_free(m);
}

/* Takes the store's fds and names for persist_restore() (which takes the fds). */
static size_t store_pass(Store *st, int *fds, char **names) {
	size_t n = st->n;

	for (size_t i = 0; i < n; i++) {
		fds[i] = st->fds[i];
		names[i] = st->names[i];
	}
	st->n = 0;
	return n;
}

/* Restores what the store holds (and empties it) through p into restored, a new state. Returns
 * what persist_restore() returns. */
static int restore_store(Persist *p, State *restored, Store *st) {
	int fds[ELEMENTSOF(st->fds)];
	char *names[ELEMENTSOF(st->names)];
	size_t n = store_pass(st, fds, names);

	return restore(p, restored, fds, names, n);
}

/* A VMM holds its attachment ids across a restart and detaches by them: an id handed out
 * before must not name another VMM's attachment after it, even when the restore drops
 * attachments (here every one: memfds are no KVM VM). */
static void restored_ids_are_never_handed_out_again(void **state) {
	Fixture *f = *state;
	Store st = {};
	State restored;
	Persist p;

	build_state(f);
	/* Attachments 9 to 19 and VMs 4 to 5 came and went. */
	f->state.next_attachment_id = 20;
	f->state.next_vm_id = 6;
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	store_apply(f, &st);
	persist_init(&p);
	assert_int_equal(restore_store(&p, &restored, &st), 0);
	assert_null(restored.attachments);
	assert_true(restored.next_attachment_id >= 20);
	assert_true(restored.next_vm_id >= 6);
	state_done(&restored);
	persist_done(&p);
}

/* A description whose counters lag behind its own attachments (an older vfiod wrote none):
 * the ids it names, restored or dropped, are never handed out again. */
static void ids_in_a_lossy_description_are_never_reused(void **state) {
	Fixture *f = *state;
	static const char text[] = "{\"vms\":[{\"id\":9,\"iommuType\":3}],\"groups\":[],"
	                           "\"attachments\":[{\"id\":41,\"group\":12,\"vm\":9,"
	                           "\"address\":\"0000:00:02.0\",\"owner\":30}],"
	                           "\"nextVm\":2,\"nextAttachment\":12,\"nextOwner\":3}";
	int fds[1] = { memfd() };
	char *names[1] = { strdup("state") };
	State restored;

	assert_int_equal(write(fds[0], text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(restore(&f->persist, &restored, fds, names, 1), 0);
	assert_null(restored.attachments);
	assert_true(restored.next_attachment_id >= 42);
	assert_true(restored.next_vm_id >= 10);
	assert_true(restored.next_owner_id >= 31);
	state_done(&restored);
}

/* A VMM's cdev-mode attachment, as AttachDevice leaves it: VM 5 named by its iommufd, group 7
 * with no fd, attachment 9 holding the cdev, owned by this process. */
static void build_cdev_state(State *s) {
	Attachment template = { .id = 9,
		                .owner = 4,
		                .address = test_pci(CDEV_ADDRESS),
		                .pid = getpid(),
		                .uid = 1000,
		                .device_open = true };
	Vm *vm;

	iommufd_standin = memfd();
	cdev_standin = memfd();
	assert_int_equal(state_restore_iommufd_vm(s, 5, fcntl(iommufd_standin, F_DUPFD_CLOEXEC, 3)), 0);
	vm = state_find_vm_by_id(s, 5);
	assert_int_equal(state_restore_group(s, 7, -EBADF, vm), 0);
	assert_int_equal(state_restore_attachment(s, &template, state_find_group(s, 7), vm, pidfd_of_self(),
	                                          fcntl(cdev_standin, F_DUPFD_CLOEXEC, 3)),
	                 0);
}

/* The mode member of the first object of the description's array key. */
static const char *described_mode(json_object *description, const char *key) {
	json_object *array = NULL, *mode = NULL;

	assert_true(json_object_object_get_ex(description, key, &array));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(array, 0), "mode", &mode));
	return json_object_get_string(mode);
}

/* A cdev-mode attachment across a restart: its VM's iommufd and its cdev are stored under names
 * of their own (a group of that mode has no fd), the description says "cdev", and the restore
 * gives back an attachment of that mode, open, holding the same cdev, on a VM that the iommufd
 * its VMM still holds names, so that a later AttachDevice passing it is recognised. */
static void cdev_attachment_survives_a_restart(void **state) {
	Fixture *f = *state;
	Store st = {};
	int vmm_iommufd;
	State restored;
	Persist p;
	json_object *description;
	Attachment *back;

	build_cdev_state(&f->state);
	vmm_iommufd = fcntl(iommufd_standin, F_DUPFD_CLOEXEC, 3);
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	store_apply(f, &st);
	assert_int_equal(store_count(&st, "iommufd-5"), 1);
	assert_int_equal(store_count(&st, "device-9"), 1);
	assert_int_equal(store_count(&st, "owner-4"), 1);
	assert_int_equal(store_count(&st, "vm-5") + store_count(&st, "group-7"), 0);
	description = store_description(&st);
	assert_string_equal(described_mode(description, "vms"), "cdev");
	assert_string_equal(described_mode(description, "attachments"), "cdev");
	json_object_put(description);

	persist_init(&p);
	assert_int_equal(restore_store(&p, &restored, &st), 1);
	back = state_find_attachment(&restored, 9);
	assert_non_null(back);
	assert_int_equal(back->vm->mode, ATTACH_MODE_CDEV);
	assert_true(back->device_open);
	assert_true(vm_fd_same(back->device_fd, cdev_standin) > 0);
	assert_int_equal(back->group->number, 7);
	assert_true(back->group->fd < 0);
	assert_ptr_equal(state_find_iommufd_vm(&restored, vmm_iommufd), back->vm);
	assert_true(restored.next_attachment_id >= 10 && restored.next_vm_id >= 6);

	state_done(&restored);
	persist_done(&p);
	vmm_iommufd = safe_close(vmm_iommufd);
	iommufd_standin = safe_close(iommufd_standin);
	cdev_standin = safe_close(cdev_standin);
}

/* A stored cdev that is not its device's cdev any more, or an iommufd that is not /dev/iommu,
 * is released with its attachment and VM; every fd passed is taken. */
static void cdev_restore_drops_what_is_not_what_it_claims(void **state) {
	Fixture *f = *state;
	Store st = {};
	int fds[16], real;
	char *names[16];
	size_t n;

	for (int k = 0; k < 2; k++) {
		Persist p;

		build_cdev_state(&f->state);
		assert_int_equal(persist_sync(&f->persist, &f->state), 0);
		store_apply(f, &st);
		n = store_pass(&st, fds, names);
		/* The checks now pass other files only. */
		real = k == 0 ? cdev_standin : iommufd_standin;
		if (k == 0)
			cdev_standin = memfd();
		else
			iommufd_standin = memfd();
		persist_init(&p);
		restore_nothing(&p, fds, names, n);
		persist_done(&p);
		state_detach_now(&f->state, state_find_attachment(&f->state, 9));
		assert_int_equal(persist_sync(&f->persist, &f->state), 0);
		store_apply(f, &st);
		store_clear(&st);
		safe_close(real);
		iommufd_standin = safe_close(iommufd_standin);
		cdev_standin = safe_close(cdev_standin);
	}
}

/* A description that gives a cdev-mode VM's group an entry of its own (the daemon never writes
 * one: that group holds no fd): the group entry is refused, though it passes the group check, and
 * the attachment comes back as the cdev mode makes it, its group holding no fd. */
static void group_entry_of_a_cdev_vm_is_refused(void **state) {
	Fixture *f = *state;
	static const char text[] = "{\"vms\":[{\"id\":5,\"mode\":\"cdev\"}],"
	                           "\"groups\":[{\"number\":7,\"vm\":5}],"
	                           "\"attachments\":[{\"id\":9,\"address\":\"" CDEV_ADDRESS "\","
	                           "\"group\":7,\"vm\":5,\"mode\":\"cdev\",\"owner\":4}]}";
	int fds[5] = { memfd(), -EBADF, -EBADF, -EBADF, pidfd_of_self() };
	char *names[5] = { strdup("state"), strdup("iommufd-5"), strdup("group-7"), strdup("device-9"),
		           strdup("owner-4") };
	State restored;
	Attachment *back;

	iommufd_standin = memfd();
	group_standin = memfd();
	cdev_standin = memfd();
	fds[1] = fcntl(iommufd_standin, F_DUPFD_CLOEXEC, 3);
	fds[2] = fcntl(group_standin, F_DUPFD_CLOEXEC, 3);
	fds[3] = fcntl(cdev_standin, F_DUPFD_CLOEXEC, 3);
	assert_int_equal(write(fds[0], text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(restore(&f->persist, &restored, fds, names, 5), 1);
	back = state_find_attachment(&restored, 9);
	assert_non_null(back);
	assert_int_equal(back->vm->mode, ATTACH_MODE_CDEV);
	assert_int_equal(back->group->number, 7);
	assert_true(back->group->fd < 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(fds[i], -EBADF);

	state_done(&restored);
	iommufd_standin = safe_close(iommufd_standin);
	group_standin = safe_close(group_standin);
	cdev_standin = safe_close(cdev_standin);
}

/* Restores the description text with the fds named, each a copy of its stand-in (-EBADF:
 * a memfd, which passes no check); returns how many attachments came back into *restored. */
static int restore_text(Fixture *f, State *restored, const char *text, const char *const *names,
                        const int *standins, size_t n) {
	int fds[8];
	char *copies[8];
	int r;

	assert_true(n + 1 <= 8);
	fds[0] = memfd();
	copies[0] = strdup("state");
	assert_int_equal(write(fds[0], text, strlen(text)), (ssize_t) strlen(text));
	for (size_t i = 0; i < n; i++) {
		fds[i + 1] = standins[i] >= 0 ? fcntl(standins[i], F_DUPFD_CLOEXEC, 3) : pidfd_of_self();
		copies[i + 1] = strdup(names[i]);
		assert_true(fds[i + 1] >= 0);
	}
	r = restore(&f->persist, restored, fds, copies, n + 1);
	for (size_t i = 0; i < n + 1; i++)
		assert_int_equal(fds[i], -EBADF);
	return r;
}

/* A description vfiod wrote names each attachment and each device once: a second attachment
 * of the same id, or of the same device, is dropped, in either mode. */
static void duplicate_attachments_are_dropped(void **state) {
	Fixture *f = *state;
	static const char same_id[] =
	        "{\"vms\":[{\"id\":3,\"iommuType\":1}],\"groups\":[{\"number\":7,\"vm\":3}],"
	        "\"attachments\":[{\"id\":9,\"address\":\"0000:00:05.0\",\"group\":7,\"vm\":3,\"owner\":4},"
	        "{\"id\":9,\"address\":\"0000:00:06.0\",\"group\":7,\"vm\":3,\"owner\":4}]}";
	static const char same_device[] = "{\"vms\":[{\"id\":5,\"mode\":\"cdev\"}],\"attachments\":["
	                                  "{\"id\":9,\"address\":\"" CDEV_ADDRESS
	                                  "\",\"group\":7,\"vm\":5,\"mode\":\"cdev\",\"owner\":4},"
	                                  "{\"id\":10,\"address\":\"" CDEV_ADDRESS
	                                  "\",\"group\":7,\"vm\":5,\"mode\":\"cdev\",\"owner\":4}]}";
	static const char *const group_names[] = { "vm-3", "container-3", "group-7", "owner-4" };
	static const char *const cdev_names[] = { "iommufd-5", "device-9", "device-10", "owner-4" };
	State restored;

	vm_standin = memfd();
	container_standin = memfd();
	group_standin = memfd();
	assert_int_equal(restore_text(f, &restored, same_id, group_names,
	                              (int[]){ vm_standin, container_standin, group_standin, -EBADF }, 4),
	                 1);
	assert_int_equal(state_find_attachment(&restored, 9)->address.device, 5);
	assert_int_equal(restored.attachments->vm->n_attachments, 1);
	state_done(&restored);

	iommufd_standin = memfd();
	cdev_standin = memfd();
	assert_int_equal(restore_text(f, &restored, same_device, cdev_names,
	                              (int[]){ iommufd_standin, cdev_standin, cdev_standin, -EBADF }, 4),
	                 1);
	assert_non_null(state_find_attachment(&restored, 9));
	assert_null(state_find_attachment(&restored, 10));
	/* The dropped one's id is still never handed out again. */
	assert_true(restored.next_attachment_id >= 11);
	state_done(&restored);

	vm_standin = safe_close(vm_standin);
	container_standin = safe_close(container_standin);
	group_standin = safe_close(group_standin);
	iommufd_standin = safe_close(iommufd_standin);
	cdev_standin = safe_close(cdev_standin);
}

/* Without memory the sync fails, whichever allocation fails, and the store keeps a whole
 * description (the old one or the new): a store without one would restore nothing. The next
 * sync, with memory, completes it. */
static void allocation_failure_fails_the_sync_cleanly(void **state) {
	Fixture *f = *state;
	Attachment c = { .id = 9, .owner = 3, .address = test_pci("0000:00:04.0"), .pid = 1, .uid = 1000 };
	Store st = {};
	int r, k;

	build_state(f);
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	store_apply(f, &st);
	/* One attachment goes, one comes: the sync removes, adds and replaces. */
	state_detach_now(&f->state, state_find_attachment(&f->state, 7));
	test_restore_attachment(&f->state, &c, 3, 12);
	for (k = 1; k < 1000; k++) {
		failure_injected = false;
		fail_countdown = k;
		r = persist_sync(&f->persist, &f->state);
		fail_countdown = 0;
		store_apply(f, &st);
		if (failure_injected)
			assert_int_equal(r, -ENOMEM);
		else
			assert_int_equal(r, 0);
		/* Exactly one description, whole (it parses). */
		json_object_put(store_description(&st));
		if (!failure_injected)
			break;
	}
	assert_true(k > 1 && k < 1000);
	assert_int_equal(check_owners_stored(&st), 2);
	assert_int_equal(store_count(&st, "owner-1"), 0);
	store_clear(&st);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(sync_stores_every_fd_and_the_description),
		T(detach_removes_what_it_releases),
		T(restore_releases_what_is_not_what_it_claims),
		T(garbage_description_is_refused),
		T(attachments_sharing_a_pidfd_keep_their_owner_stored),
		T(restored_ids_are_never_handed_out_again),
		T(ids_in_a_lossy_description_are_never_reused),
		T(allocation_failure_fails_the_sync_cleanly),
		T(cdev_attachment_survives_a_restart),
		T(cdev_restore_drops_what_is_not_what_it_claims),
		T(group_entry_of_a_cdev_vm_is_refused),
		T(duplicate_attachments_are_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
