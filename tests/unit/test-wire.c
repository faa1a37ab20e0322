/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* NUL framing and SCM_RIGHTS over a socketpair, with memfds as the fds passed. Every case
 * checks that the process holds as many fds at its end as at its start. */

#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "util.h"
#include "wire.h"

typedef struct Pair {
	int a, b; /* a sends, b receives */
	WireReader reader;
	int fds_before;
} Pair;

static int setup(void **state) {
	Pair *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	p->fds_before = test_count_fds();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->a = sv[0];
	p->b = sv[1];
	wire_reader_init(&p->reader, 1024);
	*state = p;
	return 0;
}

static int teardown(void **state) {
	Pair *p = *state;

	wire_reader_done(&p->reader);
	close(p->a);
	close(p->b);
	assert_int_equal(test_count_fds(), p->fds_before);
	free(p);
	return 0;
}

static int new_memfd(const char *content) {
	int fd = memfd_create("wire-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
	return fd;
}

static void assert_memfd_content(int fd, const char *content) {
	char buffer[64] = "";

	assert_int_equal(pread(fd, buffer, sizeof(buffer) - 1, 0), (ssize_t) strlen(content));
	assert_string_equal(buffer, content);
}

/* Reads until a message comes out; returns it (caller frees). */
static char *next_message(Pair *p, int *fds, size_t *n_fds) {
	char *text = NULL;
	size_t length;

	for (int i = 0; i < 100; i++) {
		int r = wire_reader_next(&p->reader, &text, &length, fds, n_fds);
		assert_true(r >= 0);
		if (r > 0) {
			assert_int_equal(strlen(text), length);
			return text;
		}
		assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	}
	fail_msg("no message");
	return NULL;
}

static void partial_reads_assemble_one_message(void **state) {
	Pair *p = *state;
	const char *parts[] = { "{\"meth", "od\":\"a.", "B\"}" };
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds = 99;
	char *text = NULL;
	size_t length;

	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		test_send_raw(p->a, parts[i], strlen(parts[i]), NULL, 0);
		assert_true(wire_reader_fill(&p->reader, p->b) > 0);
		assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), 0);
		assert_true(wire_reader_has_partial(&p->reader));
	}
	test_send_raw(p->a, "", 1, NULL, 0);
	text = next_message(p, fds, &n_fds);
	assert_string_equal(text, "{\"method\":\"a.B\"}");
	assert_int_equal(n_fds, 0);
	assert_false(wire_reader_has_partial(&p->reader));
	free(text);
}

static void several_messages_in_one_read(void **state) {
	Pair *p = *state;
	const char data[] = "one\0two\0three";
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds;
	char *text;
	size_t length;

	test_send_raw(p->a, data, sizeof(data) - 1, NULL, 0);
	assert_int_equal(wire_reader_fill(&p->reader, p->b), (int) sizeof(data) - 1);
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), 1);
	assert_string_equal(text, "one");
	free(text);
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), 1);
	assert_string_equal(text, "two");
	free(text);
	/* "three" has no NUL yet. */
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), 0);
	test_send_raw(p->a, "!", 2, NULL, 0);
	text = next_message(p, fds, &n_fds);
	assert_string_equal(text, "three!");
	free(text);
}

static void oversized_message_fails(void **state) {
	Pair *p = *state;
	char big[4096];
	int fds[PROTOCOL_MAX_FDS], r = 0;
	size_t n_fds;
	char *text;
	size_t length;

	memset(big, 'x', sizeof(big));
	test_send_raw(p->a, big, sizeof(big), NULL, 0);
	for (int i = 0; i < 10 && r >= 0; i++) {
		r = wire_reader_next(&p->reader, &text, &length, fds, &n_fds);
		if (r == 0)
			r = wire_reader_fill(&p->reader, p->b);
	}
	assert_int_equal(r, -EMSGSIZE);
	/* The buffer never grew past the bound and one read. */
	assert_true(p->reader.allocated <= 1024 + 16 * 1024);
}

static void complete_message_over_bound_fails(void **state) {
	Pair *p = *state;
	char big[2000];
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds;
	char *text;
	size_t length;

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	test_send_raw(p->a, big, sizeof(big), NULL, 0);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), -EMSGSIZE);
}

/* wire_reader_has_message() says whether wire_reader_next() would return anything: the
 * daemon runs a connection's call only then, and keeps reading it otherwise. */
static void has_message_tells_what_next_returns(void **state) {
	Pair *p = *state;
	char big[1024];
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds, length;
	char *text;

	assert_false(wire_reader_has_message(&p->reader));
	test_send_raw(p->a, "one\0tw", 6, NULL, 0);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	assert_true(wire_reader_has_message(&p->reader));
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), 1);
	free(text);
	assert_false(wire_reader_has_message(&p->reader));
	assert_true(wire_reader_has_partial(&p->reader));
	/* "tw" and 1022 bytes more, no NUL: at the bound, next has an error to return. */
	memset(big, 'x', sizeof(big));
	test_send_raw(p->a, big, sizeof(big) - 3, NULL, 0);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	assert_false(wire_reader_has_message(&p->reader));
	test_send_raw(p->a, big, 1, NULL, 0);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	assert_true(wire_reader_has_message(&p->reader));
	assert_int_equal(wire_reader_next(&p->reader, &text, &length, fds, &n_fds), -EMSGSIZE);
}

static void fds_round_trip(void **state) {
	Pair *p = *state;
	WireWriter w;
	int out[3] = { new_memfd("zero"), new_memfd("one"), new_memfd("two") };
	int in[PROTOCOL_MAX_FDS];
	size_t n_in = 0;
	char *text;

	wire_writer_init(&w);
	assert_int_equal(wire_writer_queue(&w, "{\"x\":1}", 7, out, 3), 0);
	/* The writer owns them now. */
	assert_int_equal(out[0], -EBADF);
	assert_int_equal(wire_writer_flush(&w, p->a), 1);
	assert_true(wire_writer_is_empty(&w));
	text = next_message(p, in, &n_in);
	assert_string_equal(text, "{\"x\":1}");
	assert_int_equal(n_in, 3);
	assert_memfd_content(in[0], "zero");
	assert_memfd_content(in[1], "one");
	assert_memfd_content(in[2], "two");
	/* MSG_CMSG_CLOEXEC */
	for (size_t i = 0; i < n_in; i++)
		assert_true(fcntl(in[i], F_GETFD) & FD_CLOEXEC);
	close_many(in, n_in);
	free(text);
	wire_writer_done(&w);
}

static void fds_with_two_messages_fail(void **state) {
	Pair *p = *state;
	const char data[] = "first\0second";
	int fd = new_memfd("x");

	test_send_raw(p->a, data, sizeof(data), &fd, 1);
	close(fd);
	assert_int_equal(wire_reader_fill(&p->reader, p->b), -EPROTO);
	assert_int_equal(p->reader.n_fds, 0);
}

static void fds_not_at_message_boundary_fail(void **state) {
	Pair *p = *state;
	int fd = new_memfd("x");

	test_send_raw(p->a, "{\"half", 6, NULL, 0);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	test_send_raw(p->a, "\":1}", 5, &fd, 1);
	close(fd);
	assert_int_equal(wire_reader_fill(&p->reader, p->b), -EPROTO);
}

static void too_many_fds_fail_and_are_closed(void **state) {
	Pair *p = *state;
	int fds[20];

	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		fds[i] = new_memfd("many");
	test_send_raw(p->a, "{}", 3, fds, ELEMENTSOF(fds));
	close_many(fds, ELEMENTSOF(fds));
	assert_int_equal(wire_reader_fill(&p->reader, p->b), -EPROTO);
	/* teardown checks that none of the 16 received is left open */
}

static void fds_of_unparsed_message_are_handed_out(void **state) {
	Pair *p = *state;
	int fd = new_memfd("x");
	int in[PROTOCOL_MAX_FDS];
	size_t n_in = 0;
	char *text;

	/* The wire layer hands fds to whoever takes the message, even if its text is junk:
	 * the dispatcher closes them (tested there). Here: they come with their message. */
	test_send_raw(p->a, "not json", 9, &fd, 1);
	close(fd);
	text = next_message(p, in, &n_in);
	assert_string_equal(text, "not json");
	assert_int_equal(n_in, 1);
	close_many(in, n_in);
	free(text);
}

static void reader_done_closes_pending_fds(void **state) {
	Pair *p = *state;
	int fd = new_memfd("pending");

	test_send_raw(p->a, "{\"no\":\"end\"", 11, &fd, 1);
	close(fd);
	assert_true(wire_reader_fill(&p->reader, p->b) > 0);
	assert_int_equal(p->reader.n_fds, 1);
	/* teardown's wire_reader_done closes it; its fd count check proves it */
}

static void writer_resumes_partial_writes(void **state) {
	Pair *p = *state;
	size_t size = 1 << 20;
	char *big = malloc(size), *text = NULL;
	int fd = new_memfd("big"), in[PROTOCOL_MAX_FDS], sndbuf = 4096;
	size_t n_in = 0;
	WireWriter w;
	int r;

	assert_non_null(big);
	memset(big, 'y', size);
	assert_int_equal(setsockopt(p->a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	wire_writer_init(&w);
	assert_int_equal(wire_writer_queue(&w, big, size, &fd, 1), 0);
	assert_int_equal(wire_writer_queue(&w, "tail", 4, NULL, 0), 0);
	wire_reader_done(&p->reader);
	wire_reader_init(&p->reader, 2 << 20);
	r = wire_writer_flush(&w, p->a);
	assert_int_equal(r, 0); /* would block: the rest waits */
	assert_false(wire_writer_is_empty(&w));
	while (r == 0) {
		int k = wire_reader_fill(&p->reader, p->b);
		assert_true(k > 0 || k == -EAGAIN);
		r = wire_writer_flush(&w, p->a);
		assert_true(r >= 0);
	}
	assert_int_equal(w.bytes_queued, 0);
	text = next_message(p, in, &n_in);
	assert_int_equal(strlen(text), size);
	assert_int_equal(n_in, 1);
	assert_memfd_content(in[0], "big");
	close_many(in, n_in);
	free(text);
	text = next_message(p, in, &n_in);
	assert_string_equal(text, "tail");
	assert_int_equal(n_in, 0);
	free(text);
	free(big);
	wire_writer_done(&w);
}

static void writer_done_closes_unsent_fds(void **state) {
	(void) state;
	WireWriter w;
	int fds[2] = { new_memfd("a"), new_memfd("b") };

	wire_writer_init(&w);
	assert_int_equal(wire_writer_queue(&w, "x", 1, fds, 2), 0);
	wire_writer_done(&w);
	/* teardown counts fds */
}

static void writer_refuses_too_many_fds(void **state) {
	(void) state;
	WireWriter w;
	int fds[PROTOCOL_MAX_FDS + 1];

	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		fds[i] = new_memfd("z");
	wire_writer_init(&w);
	assert_int_equal(wire_writer_queue(&w, "x", 1, fds, ELEMENTSOF(fds)), -EINVAL);
	assert_true(wire_writer_is_empty(&w));
	wire_writer_done(&w);
}

static void end_of_stream_reads_zero(void **state) {
	Pair *p = *state;

	shutdown(p->a, SHUT_WR);
	assert_int_equal(wire_reader_fill(&p->reader, p->b), 0);
	assert_int_equal(wire_reader_fill(&p->reader, p->b), 0);
}

static void empty_socket_is_eagain(void **state) {
	Pair *p = *state;

	assert_int_equal(wire_reader_fill(&p->reader, p->b), -EAGAIN);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(partial_reads_assemble_one_message),
		T(several_messages_in_one_read),
		T(oversized_message_fails),
		T(complete_message_over_bound_fails),
		T(has_message_tells_what_next_returns),
		T(fds_round_trip),
		T(fds_with_two_messages_fail),
		T(fds_not_at_message_boundary_fail),
		T(too_many_fds_fail_and_are_closed),
		T(fds_of_unparsed_message_are_handed_out),
		T(reader_done_closes_pending_fds),
		T(writer_resumes_partial_writes),
		T(writer_done_closes_unsent_fds),
		T(writer_refuses_too_many_fds),
		T(end_of_stream_reads_zero),
		T(empty_socket_is_eagain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
