/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fd store protocol without systemd: NOTIFY_SOCKET points at a datagram socket of the
 * test, which reads what the daemon would tell systemd. Restoring with fds that are not
 * what they claim releases them all. (Restores that succeed run in the rig, against
 * Debian's systemd and a real kernel.) */

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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "persist.h"
#include "state.h"
#include "util.h"

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
	int fd = memfd_create("persist-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* One VM with one group and two attachments, memfds standing in for every fd. */
static void build_state(Fixture *f) {
	Attachment a = { .id = 7, .address = test_pci("0000:00:02.0"), .pid = 1, .uid = 1000 };
	Attachment b = { .id = 8, .address = test_pci("0000:00:03.0"), .pid = 1, .uid = 1000 };
	Vm *vm;

	assert_int_equal(state_restore_vm(&f->state, 3, memfd(), memfd(), VFIO_IOMMU_TYPE1V2), 0);
	vm = state_find_vm_by_id(&f->state, 3);
	assert_int_equal(state_restore_group(&f->state, 12, memfd(), vm), 0);
	assert_int_equal(
	        state_restore_attachment(&f->state, &a, state_find_group(&f->state, 12), vm, memfd()), 0);
	assert_int_equal(
	        state_restore_attachment(&f->state, &b, state_find_group(&f->state, 12), vm, memfd()), 0);
}

static void release(int *fds, char **names, size_t n) {
	for (size_t i = 0; i < n; i++) {
		safe_close(fds[i]);
		free(names[i]);
	}
}

/* Collects the messages of one sync: the names stored (with their fds) and removed. */
static void collect(Fixture *f, char *stored, char *removed, int *fds, char **names, size_t *n) {
	Message m;

	while (receive(f, &m)) {
		const char *name = strstr(m.text, "FDNAME=");
		assert_non_null(name);
		name += strlen("FDNAME=");
		size_t length = strcspn(name, "\n");
		if (strstr(m.text, "FDSTOREREMOVE=1")) {
			strncat(removed, name, length);
			strcat(removed, " ");
			continue;
		}
		assert_non_null(strstr(m.text, "FDSTORE=1"));
		assert_non_null(strstr(m.text, "FDPOLL=0"));
		assert_true(m.fd >= 0);
		strncat(stored, name, length);
		strcat(stored, " ");
		fds[*n] = m.fd;
		names[*n] = strndup(name, length);
		(*n)++;
	}
}

static void sync_stores_every_fd_and_the_description(void **state) {
	Fixture *f = *state;
	char stored[512] = "", removed[512] = "";
	int fds[16];
	char *names[16];
	size_t n = 0;

	build_state(f);
	assert_true(f->persist.enabled);
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	collect(f, stored, removed, fds, names, &n);
	assert_string_equal(stored, "vm-3 container-3 group-12 owner-8 owner-7 state ");
	assert_string_equal(removed, "");
	/* The description is sealed and names the attachments. */
	char text[2048] = "";
	assert_true(pread(fds[n - 1], text, sizeof(text) - 1, 0) > 0);
	assert_non_null(strstr(text, "\"address\":\"0000:00:02.0\""));
	assert_true(fcntl(fds[n - 1], F_GET_SEALS) & F_SEAL_WRITE);
	release(fds, names, n);
}

static void detach_removes_what_it_releases(void **state) {
	Fixture *f = *state;
	char stored[512] = "", removed[512] = "";
	int fds[16];
	char *names[16];
	size_t n = 0;

	build_state(f);
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	collect(f, stored, removed, fds, names, &n);
	release(fds, names, n);
	n = 0;
	stored[0] = removed[0] = '\0';
	/* One of two attachments of the group goes: only its owner pidfd leaves the store. */
	state_detach_now(&f->state, state_find_attachment(&f->state, 7));
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	collect(f, stored, removed, fds, names, &n);
	assert_string_equal(removed, "owner-7 state ");
	assert_string_equal(stored, "state ");
	release(fds, names, n);
	n = 0;
	stored[0] = removed[0] = '\0';
	/* The last one: group, VM and container go too. */
	state_detach_now(&f->state, state_find_attachment(&f->state, 8));
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	collect(f, stored, removed, fds, names, &n);
	assert_non_null(strstr(removed, "vm-3 "));
	assert_non_null(strstr(removed, "container-3 "));
	assert_non_null(strstr(removed, "group-12 "));
	assert_non_null(strstr(removed, "owner-8 "));
	release(fds, names, n);
}

static void restore_releases_what_is_not_what_it_claims(void **state) {
	Fixture *f = *state;
	char stored[512] = "", removed[512] = "";
	int fds[16];
	char *names[16];
	size_t n = 0;
	State restored;

	build_state(f);
	assert_int_equal(persist_sync(&f->persist, &f->state), 0);
	collect(f, stored, removed, fds, names, &n);
	/* The stored copies come back, plus one unknown entry. */
	fds[n] = memfd();
	names[n++] = strdup("junk-1");
	state_init(&restored);
	/* memfds are no KVM VM, container or group: nothing survives, every fd is closed. */
	assert_int_equal(persist_restore(&f->persist, &restored, fds, names, n), 0);
	assert_null(restored.attachments);
	assert_null(restored.vms);
	assert_null(restored.groups);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fds[i], -EBADF);
		free(names[i]);
	}
	state_done(&restored);
}

static void garbage_description_is_refused(void **state) {
	Fixture *f = *state;
	int fds[2] = { memfd(), memfd() };
	char *names[2] = { strdup("state"), strdup("vm-1") };
	State restored;

	assert_int_equal(write(fds[0], "{\"vms\":[{\"id\":1", 15), 15);
	state_init(&restored);
	assert_int_equal(persist_restore(&f->persist, &restored, fds, names, 2), 0);
	assert_null(restored.vms);
	assert_int_equal(fds[0], -EBADF);
	assert_int_equal(fds[1], -EBADF);
	free(names[0]);
	free(names[1]);
	state_done(&restored);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(sync_stores_every_fd_and_the_description),
		T(detach_removes_what_it_releases),
		T(restore_releases_what_is_not_what_it_claims),
		T(garbage_description_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
