/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "manager.h"
#include "state.h"
#include "util.h"
#include "worker.h"

int test_count_fds(void) {
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

void test_write_file(const char *path, const void *data, size_t size) {
	FILE *file = fopen(path, "we");

	assert_non_null(file);
	assert_int_equal(fwrite(data, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
}

void test_make_dir(char *buffer, size_t size, const char *name) {
	assert_true((size_t) snprintf(buffer, size, "/tmp/vfiod-%s-XXXXXX", name) < size);
	assert_non_null(mkdtemp(buffer));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	(void) st;
	(void) type;
	(void) ftw;
	return remove(path);
}

void test_remove_tree(const char *dir) {
	assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

void test_send_raw(int sock, const void *data, size_t size, const int *fds, size_t n_fds) {
	char control[CMSG_SPACE(sizeof(int) * 32)] = {};
	struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	assert_true(n_fds <= 32);
	if (n_fds > 0) {
		struct cmsghdr *c;
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t) size);
}

static Workers *test_workers;

void test_wait_for_workers(Workers *w) {
	test_workers = w;
}

void test_run_loop(sd_event *event, uint64_t wait_usec) {
	/* A worker job's done() comes through the loop: while one runs, wait for it however
	 * long it takes, never for a fixed time. */
	if (test_workers && workers_pending(test_workers) > 0)
		wait_usec = UINT64_MAX;
	assert_true(sd_event_run(event, wait_usec) >= 0);
	for (int i = 0; i < 8; i++)
		assert_true(sd_event_run(event, 0) >= 0);
}

VarlinkReply test_receive_reply_fds(sd_event *event, WireReader *reader, int sock, uint64_t wait_usec,
                                    int *fds, size_t *ret_n_fds) {
	_cleanup_free_ char *text = NULL;
	VarlinkReply reply = {};
	size_t length;

	*ret_n_fds = 0;
	for (int i = 0; i < 100; i++) {
		int r = wire_reader_next(reader, &text, &length, fds, ret_n_fds);
		assert_true(r >= 0);
		if (r > 0)
			break;
		test_run_loop(event, wait_usec);
		r = wire_reader_fill(reader, sock);
		assert_true(r > 0 || r == -EAGAIN);
	}
	assert_non_null(text);
	assert_int_equal(message_parse_reply(text, length, &reply), 0);
	return reply;
}

VarlinkReply test_receive_reply(sd_event *event, WireReader *reader, int sock, uint64_t wait_usec) {
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds = 0;
	VarlinkReply reply = test_receive_reply_fds(event, reader, sock, wait_usec, fds, &n_fds);

	close_many(fds, n_fds);
	return reply;
}

Manager *test_manager_new(void) {
	Manager *m = NULL;

	assert_int_equal(manager_new(&m), 0);
	test_wait_for_workers(m->workers);
	return m;
}

FakeSysfs *test_manager_fake_sysfs(Manager *m) {
	FakeSysfs *fs = fake_sysfs_new();

	assert_non_null(fs);
	assert_int_equal(fake_sysfs_add_device(fs, "0000:00:02.0", 0x8086, 0x10d3, 2, "vfio-pci"), 0);
	m->sysfs_fd = dup(fake_sysfs_root_fd(fs));
	assert_true(m->sysfs_fd >= 0);
	return fs;
}

int test_add_pair_client_sndbuf(Manager *m, int sndbuf) {
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	if (sndbuf > 0)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	assert_int_equal(manager_add_client(m, sv[0], NULL), 0);
	return sv[1];
}

int test_add_pair_client(Manager *m) {
	return test_add_pair_client_sndbuf(m, 0);
}

int test_socketpair_from_child(pid_t *ret_child, int *ret_hold, int *ret_daemon_end) {
	int channel[2], hold[2], fds[2];
	char byte = 0, control[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)
	};
	pid_t child;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int sv[2];
		close(hold[1]);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
			_exit(1);
		test_send_raw(channel[1], "x", 1, sv, 2);
		close(sv[0]);
		close(sv[1]);
		(void) read(hold[0], &byte, 1);
		_exit(0);
	}
	close(channel[1]);
	close(hold[0]);
	assert_int_equal(recvmsg(channel[0], &msg, MSG_CMSG_CLOEXEC), 1);
	assert_non_null(CMSG_FIRSTHDR(&msg));
	memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(fds));
	close(channel[0]);
	*ret_child = child;
	*ret_hold = hold[1];
	*ret_daemon_end = fds[0];
	return fds[1];
}

int test_is_closed(sd_event *event, int sock) {
	char byte;
	ssize_t n = -1;

	for (int i = 0; i < 50; i++) {
		test_run_loop(event, 0);
		n = recv(sock, &byte, 1, MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN)
			break;
	}
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

int test_memfd(const char *name) {
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

void test_restore_group(State *s, unsigned vm_id, int group) {
	Vm *vm;

	assert_int_equal(
	        state_restore_vm(s, vm_id, test_memfd("vm"), test_memfd("container"), VFIO_IOMMU_TYPE1V2),
	        0);
	vm = state_find_vm_by_id(s, vm_id);
	assert_non_null(vm);
	assert_int_equal(state_restore_group(s, group, test_memfd("group"), vm), 0);
}

void test_restore_attachment(State *s, const Attachment *template, unsigned vm_id, int group) {
	assert_int_equal(state_restore_attachment(s, template, state_find_group(s, group),
	                                          state_find_vm_by_id(s, vm_id), test_memfd("owner"),
	                                          -EBADF),
	                 0);
}

PciAddress test_pci(const char *text) {
	PciAddress a = {};

	assert_int_equal(pci_address_parse(text, &a), 0);
	return a;
}
