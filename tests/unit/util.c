/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

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

VarlinkReply test_receive_reply(sd_event *event, WireReader *reader, int sock, uint64_t wait_usec) {
	_cleanup_free_ char *text = NULL;
	VarlinkReply reply = {};
	int fds[PROTOCOL_MAX_FDS];
	size_t length, n_fds = 0;

	for (int i = 0; i < 100; i++) {
		int r = wire_reader_next(reader, &text, &length, fds, &n_fds);
		assert_true(r >= 0);
		if (r > 0)
			break;
		test_run_loop(event, wait_usec);
		r = wire_reader_fill(reader, sock);
		assert_true(r > 0 || r == -EAGAIN);
	}
	assert_non_null(text);
	close_many(fds, n_fds);
	assert_int_equal(message_parse_reply(text, length, &reply), 0);
	return reply;
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

PciAddress test_pci(const char *text) {
	PciAddress a = {};

	assert_int_equal(pci_address_parse(text, &a), 0);
	return a;
}
