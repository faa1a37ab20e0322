/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The limits of vfiod.conf(5) as a client meets them, and the turns connections take in the
 * run queue: a real manager listening on a socket in a temporary directory (or a connection
 * over a socketpair), a fake sysfs tree, the event loop run by hand, limits set small in the
 * policy. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "connection.h"
#include "lifecycle.h"
#include "manager.h"
#include "monitor.h"
#include "message.h"
#include "protocol.h"
#include "util.h"
#include "wire.h"

#define MAX_CLIENTS 4
#define GET_INFO    "{\"method\":\"org.varlink.service.GetInfo\"}"
#define MONITOR     "{\"method\":\"io.vfiod.Monitor\",\"more\":true}"

typedef struct Fixture {
	Manager *manager;
	FakeSysfs *sysfs;
	char directory[64];
	char socket_path[96];
	int clients[MAX_CLIENTS];
	WireReader readers[MAX_CLIENTS];
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	f->manager = test_manager_new();
	f->sysfs = test_manager_fake_sysfs(f->manager);
	test_make_dir(f->directory, sizeof(f->directory), "limits");
	snprintf(f->socket_path, sizeof(f->socket_path), "%s/io.vfiod", f->directory);
	assert_int_equal(manager_listen(f->manager, f->socket_path), 0);
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		f->clients[i] = -EBADF;
		wire_reader_init(&f->readers[i], PROTOCOL_MAX_REPLY_BYTES);
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		wire_reader_done(&f->readers[i]);
		safe_close(f->clients[i]);
	}
	manager_free(f->manager);
	assert_int_equal(rmdir(f->directory), 0);
	fake_sysfs_free(f->sysfs);
	/* Every connection, timer and fd of the daemon is gone. */
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void pump(Fixture *f) {
	test_run_loop(f->manager->event, 0);
}

/* Connects fd to the manager's socket; the manager has not accepted it yet. */
static void connect_to_manager(Fixture *f, int fd) {
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	snprintf(address.sun_path, sizeof(address.sun_path), "%s", f->socket_path);
	assert_int_equal(connect(fd, (struct sockaddr *) &address, sizeof(address)), 0);
}

/* A new socket connected to the manager's; the manager has not accepted it yet. */
static int connect_socket(Fixture *f) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	connect_to_manager(f, fd);
	return fd;
}

/* Client i connects to the manager's socket and the manager runs its accept. */
static void connect_client(Fixture *f, size_t i) {
	f->clients[i] = connect_socket(f);
	pump(f);
}

/* Clients 0 to n - 1 connect, one after the other. */
static void connect_clients(Fixture *f, size_t n) {
	for (size_t i = 0; i < n; i++)
		connect_client(f, i);
}

/* Client i over a socketpair, as accepted (no connection limit is checked); sndbuf as
 * test_add_pair_client_sndbuf() takes it. */
static Connection *pair_client(Fixture *f, size_t i, int sndbuf) {
	f->clients[i] = test_add_pair_client_sndbuf(f->manager, sndbuf);
	return f->manager->connections;
}

static VarlinkReply receive(Fixture *f, size_t i, uint64_t wait_usec) {
	return test_receive_reply(f->manager->event, &f->readers[i], f->clients[i], wait_usec);
}

static void send_text(Fixture *f, size_t i, const char *text, size_t size) {
	test_send_raw(f->clients[i], text, size, NULL, 0);
}

/* A GetInfo call on client i is answered: the connection is open and served. */
static void assert_served(Fixture *f, size_t i) {
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	send_text(f, i, GET_INFO, sizeof(GET_INFO));
	r = receive(f, i, 0);
	assert_null(r.error);
}

/* Clients 0 to n - 1 are served, one after the other. */
static void assert_clients_served(Fixture *f, size_t n) {
	for (size_t i = 0; i < n; i++)
		assert_served(f, i);
}

static void assert_limit_exceeded(VarlinkReply *r, const char *limit, int64_t value) {
	json_object *v = NULL;

	assert_string_equal(r->error, VFIOD_ERROR_LIMIT_EXCEEDED);
	assert_true(json_object_object_get_ex(r->parameters, "limit", &v));
	assert_string_equal(json_object_get_string(v), limit);
	assert_true(json_object_object_get_ex(r->parameters, "value", &v));
	assert_int_equal(json_object_get_int64(v), value);
}

/* Nothing has come for client i: the daemon sent nothing (protocol.md: nothing before the
 * client's first call). */
static void assert_nothing_sent(Fixture *f, size_t i) {
	char byte;

	pump(f);
	assert_int_equal(recv(f->clients[i], &byte, 1, MSG_DONTWAIT | MSG_PEEK), -1);
	assert_int_equal(errno, EAGAIN);
}

/* Connects one client too many: it is sent nothing until its first call, which is answered
 * with the limit; then it is closed. */
static void assert_refused(Fixture *f, size_t i, const char *limit, int64_t value) {
	_cleanup_(varlink_reply_done) VarlinkReply r = {};

	connect_client(f, i);
	assert_nothing_sent(f, i);
	send_text(f, i, GET_INFO, sizeof(GET_INFO));
	r = receive(f, i, 0);
	assert_limit_exceeded(&r, limit, value);
	assert_true(test_is_closed(f->manager->event, f->clients[i]));
}

static void connections_per_user_exceeded_fails(void **state) {
	Fixture *f = *state;

	f->manager->policy.limits.connections_per_user = 2;
	connect_clients(f, 2);
	assert_clients_served(f, 2);
	assert_refused(f, 2, "connections-per-user", 2);
	assert_int_equal(f->manager->n_connections, 2);
	assert_int_equal(manager_count_user_connections(f->manager, getuid()), 2);

	/* A connection that closes gives its place back. */
	f->clients[0] = safe_close(f->clients[0]);
	for (int i = 0; i < 50 && f->manager->n_connections > 1; i++)
		pump(f);
	assert_int_equal(manager_count_user_connections(f->manager, getuid()), 1);
	connect_client(f, 3);
	assert_served(f, 3);
	assert_int_equal(manager_count_user_connections(f->manager, getuid()), 2);
}

static void connections_exceeded_fails(void **state) {
	Fixture *f = *state;

	/* No reserve: the caller may be root, an admin. */
	f->manager->policy.limits.connections = 2;
	f->manager->policy.limits.admin_connections = 0;
	connect_clients(f, 2);
	assert_refused(f, 2, "connections", 2);
	assert_int_equal(f->manager->n_connections, 2);
	f->clients[1] = safe_close(f->clients[1]);
	for (int i = 0; i < 50 && f->manager->n_connections > 1; i++)
		pump(f);
	connect_client(f, 3);
	assert_served(f, 3);
	assert_served(f, 0);
}

/* A client that reconnects in a loop does not get a log line for each refusal. */
static void refusals_are_not_all_logged(void **state) {
	Fixture *f = *state;

	/* However slow the machine, the three refusals fall in one interval. */
	f->manager->refusal_log_interval_usec = UINT64_MAX / 2;
	f->manager->policy.limits.connections = 1;
	f->manager->policy.limits.admin_connections = 0;
	connect_client(f, 0);
	assert_refused(f, 1, "connections", 1);
	assert_refused(f, 2, "connections", 1);
	assert_refused(f, 3, "connections", 1);
	assert_int_equal(f->manager->refusals_unlogged, 2);
}

static bool connection_reads(Connection *c) {
	uint32_t events = 0;

	assert_int_equal(sd_event_source_get_io_events(c->io_source, &events), 0);
	return events & EPOLLIN;
}

/* n GetInterfaceDescription calls (large replies) from client i, in one write. */
static void send_descriptions(Fixture *f, size_t i, size_t n) {
	static const char call[] = "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
	                           "\"parameters\":{\"interface\":\"io.vfiod\"}}";
	_cleanup_free_ char *calls = malloc(n * sizeof(call));

	assert_non_null(calls);
	for (size_t k = 0; k < n; k++)
		memcpy(calls + k * sizeof(call), call, sizeof(call));
	send_text(f, i, calls, n * sizeof(call));
}

/* A client that pipelines calls and does not read: at queued-replies unsent replies, the
 * daemon stops reading it; nothing is dropped, every call is answered once it reads. */
static void queued_replies_stop_reading(void **state) {
	Fixture *f = *state;
	Connection *c;

	f->manager->policy.limits.queued_replies = 4;
	c = pair_client(f, 0, 4096);
	send_descriptions(f, 0, 100);
	pump(f);
	/* Replies wait (the socket is full), at most 4; the other calls wait unread. Reading
	 * resumes below the bound. */
	assert_true(c->writer.n_queued > 0 && c->writer.n_queued <= 4);
	assert_true(wire_reader_has_partial(&c->reader));
	assert_int_equal(connection_reads(c), c->writer.n_queued < 4);
	for (size_t i = 0; i < 100; i++) {
		_cleanup_(varlink_reply_done) VarlinkReply r = receive(f, 0, 0);
		assert_null(r.error);
		assert_true(c->writer.n_queued <= 4);
	}
	assert_true(connection_reads(c));
}

/* Client i calls Monitor; its connection c monitors from then on. */
static void start_monitor(Fixture *f, size_t i, Connection *c) {
	send_text(f, i, MONITOR, sizeof(MONITOR));
	pump(f);
	assert_true(c->monitoring);
}

/* Events of a Monitor are not replies to calls: a monitor is bounded by bytes (and dropped
 * there), not stopped at queued-replies. */
static void monitor_events_not_bound_by_queued_replies(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply first = {};
	Connection *c;

	f->manager->policy.limits.queued_replies = 2;
	c = pair_client(f, 0, 4096);
	start_monitor(f, 0, c);
	for (int i = 0; i < 200; i++)
		monitor_emit(f->manager, &(Event){ .kind = "attach" });
	assert_true(c->writer.n_queued > 2);
	assert_int_equal(f->manager->n_connections, 1);
	first = receive(f, 0, 0);
	assert_true(first.continues);
}

/* A request half-sent for request-timeout seconds is answered ProtocolError and closed. */
static void half_sent_request_times_out(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *reason = NULL;

	f->manager->policy.limits.request_timeout_sec = 1;
	pair_client(f, 0, 0);
	send_text(f, 0, "{\"method\":\"org.var", 18);
	r = receive(f, 0, 100 * 1000);
	assert_string_equal(r.error, VFIOD_ERROR_PROTOCOL_ERROR);
	assert_true(json_object_object_get_ex(r.parameters, "reason", &reason));
	assert_string_equal(json_object_get_string(reason), "request incomplete after 1 s");
	assert_true(test_is_closed(f->manager->event, f->clients[0]));
	assert_int_equal(f->manager->n_connections, 0);
}

/* Runs the loop for about usec, waiting for events. */
static void run_for(Fixture *f, uint64_t usec) {
	uint64_t start, now;

	assert_int_equal(sd_event_now(f->manager->event, CLOCK_MONOTONIC, &start), 0);
	do {
		assert_true(sd_event_run(f->manager->event, 100 * 1000) >= 0);
		assert_int_equal(sd_event_now(f->manager->event, CLOCK_MONOTONIC, &now), 0);
	} while (now < start + usec);
}

/* The timer runs only while a request is incomplete: an idle connection, or one whose
 * request was completed in time, stays. */
static void complete_and_idle_requests_do_not_time_out(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	Connection *c;

	f->manager->policy.limits.request_timeout_sec = 1;
	c = pair_client(f, 0, 0);
	send_text(f, 0, GET_INFO, 10);
	pump(f);
	assert_non_null(c->timeout_source);
	send_text(f, 0, GET_INFO + 10, sizeof(GET_INFO) - 10);
	r = receive(f, 0, 0);
	assert_null(r.error);
	/* Only idle-timeout's timer (60 s) runs now. */
	assert_true(c->timeout_source == NULL || c->timeout_idle);
	run_for(f, 1500 * 1000);
	assert_int_equal(f->manager->n_connections, 1);
	assert_served(f, 0);
}

static int memfd(void) {
	return test_memfd("test-limits");
}

/* An attachment of uid, as restored from the fd store: memfds stand in for the kernel's. */
static void add_attachment(Fixture *f, unsigned id, uid_t uid) {
	Attachment a = { .id = id, .uid = uid, .pid = getpid(), .address = { .device = (uint8_t) id } };

	test_restore_group(&f->manager->state, id, 10 + (int) id);
	test_restore_attachment(&f->manager->state, &a, id, 10 + (int) id);
}

/* Attach with a memfd for a VM: past the limit check, the memfd is refused as no VM. */
static VarlinkReply attach(Fixture *f) {
	static const char call[] = "{\"method\":\"io.vfiod.Attach\",\"parameters\":{"
	                           "\"address\":\"0000:00:02.0\",\"vmFd\":0}}";
	int fd = memfd();

	test_send_raw(f->clients[0], call, sizeof(call), &fd, 1);
	close(fd);
	return receive(f, 0, 0);
}

static void attachments_per_user_exceeded_fails(void **state) {
	Fixture *f = *state;
	PolicyRule *allow = calloc(1, sizeof(*allow));
	_cleanup_(varlink_reply_done) VarlinkReply mine = {}, after_other = {}, raised = {};

	/* The caller may attach anything, whoever runs the test. */
	assert_non_null(allow);
	*allow = (PolicyRule){
		.kind = RULE_ALLOW, .subject = SUBJECT_USER, .id = getuid(), .object = OBJECT_ANY
	};
	f->manager->policy.rules = allow;
	f->manager->policy.n_rules = 1;
	f->manager->policy.limits.attachments_per_user = 1;
	pair_client(f, 0, 0);
	add_attachment(f, 1, getuid());
	mine = attach(f);
	assert_limit_exceeded(&mine, "attachments-per-user", 1);

	/* Another user's attachments do not count; a higher limit lets the call through. */
	f->manager->policy.limits.attachments_per_user = 2;
	add_attachment(f, 2, getuid() + 1);
	after_other = attach(f);
	assert_string_equal(after_other.error, VFIOD_ERROR_NOT_A_VIRTUAL_MACHINE);
	add_attachment(f, 3, getuid());
	raised = attach(f);
	assert_limit_exceeded(&raised, "attachments-per-user", 2);
}

/* The caller is an admin: root is, and a rule names anyone else. */
static void make_caller_admin(Fixture *f) {
	PolicyRule *admin = calloc(1, sizeof(*admin));

	assert_non_null(admin);
	*admin = (PolicyRule){ .kind = RULE_ADMIN, .subject = SUBJECT_USER, .id = getuid() };
	f->manager->policy.rules = admin;
	f->manager->policy.n_rules = 1;
}

/* Admins may open admin-connections beyond "connections": a flood of other users' connections
 * cannot lock them out. Beyond both, they too are refused. */
static void admins_have_reserved_connections(void **state) {
	Fixture *f = *state;

	make_caller_admin(f);
	f->manager->policy.limits.connections = 1;
	f->manager->policy.limits.admin_connections = 2;
	connect_clients(f, 3);
	assert_clients_served(f, 3);
	assert_refused(f, 3, "connections", 1);
	assert_int_equal(f->manager->n_connections, 3);
}

/* Connections count against the owner of the subordinate uid range their uid lies in: one
 * user's subuids share its connections-per-user. */
static void subuid_connections_count_against_their_owner(void **state) {
	Fixture *f = *state;
	PolicySubuidRange *range = calloc(1, sizeof(*range));

	assert_non_null(range);
	*range = (PolicySubuidRange){ .start = getuid(), .count = 1, .owner = 4242 };
	f->manager->policy.subuids = range;
	f->manager->policy.n_subuids = 1;
	f->manager->policy.limits.connections_per_user = 2;
	connect_clients(f, 2);
	assert_served(f, 0);
	assert_int_equal(manager_count_user_connections(f->manager, 4242), 2);
	assert_int_equal(manager_count_user_connections(f->manager, getuid()), 0);
	assert_refused(f, 2, "connections-per-user", 2);
}

/* Over the limit, nothing is sent unasked, whatever the client waits for: a refused
 * connection that never calls is closed after request-timeout, without a word. */
static void refused_connection_without_call_is_closed_unanswered(void **state) {
	Fixture *f = *state;
	char byte;

	f->manager->policy.limits.connections = 1;
	f->manager->policy.limits.admin_connections = 1;
	f->manager->policy.limits.request_timeout_sec = 1;
	connect_clients(f, 3);
	assert_nothing_sent(f, 2);
	assert_int_equal(f->manager->n_refused, 1);
	for (int i = 0; i < 300 && f->manager->n_refused > 0; i++)
		test_run_loop(f->manager->event, 100 * 1000);
	assert_int_equal(f->manager->n_refused, 0);
	assert_int_equal(recv(f->clients[2], &byte, 1, MSG_DONTWAIT), 0);
	assert_int_equal(f->manager->n_connections, 2);
}

/* At most MANAGER_MAX_REFUSED refused connections wait for their first call: one more is
 * closed at once, unanswered, so refusals cost no more than the limits they enforce. */
static void refused_connections_are_bounded(void **state) {
	Fixture *f = *state;
	int extra[MANAGER_MAX_REFUSED + 1];
	char byte;

	f->manager->policy.limits.connections = 1;
	f->manager->policy.limits.admin_connections = 0;
	connect_client(f, 0);
	for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
		extra[i] = connect_socket(f);
		pump(f);
	}
	assert_int_equal(f->manager->n_refused, MANAGER_MAX_REFUSED);
	assert_int_equal(recv(extra[MANAGER_MAX_REFUSED], &byte, 1, MSG_DONTWAIT), 0);
	assert_int_equal(recv(extra[0], &byte, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close_many(extra, ELEMENTSOF(extra));
	for (int i = 0; i < 50 && f->manager->n_refused > 0; i++)
		pump(f);
	assert_int_equal(f->manager->n_refused, 0);
	assert_served(f, 0);
}

/* An idle connection is closed after idle-timeout, without a word; one that monitors and one
 * whose process holds an attachment are not idle. The idle one is made after the monitor,
 * so its deadline is the later one. */
static void idle_connection_times_out(void **state) {
	Fixture *f = *state;
	_cleanup_(varlink_reply_done) VarlinkReply event = {};
	Connection *monitor, *holder;
	char byte;

	f->manager->policy.limits.idle_timeout_sec = 1;
	monitor = pair_client(f, 1, 0);
	start_monitor(f, 1, monitor);
	pair_client(f, 2, 0);
	add_attachment(f, 1, getuid());
	holder = pair_client(f, 0, 0);
	assert_null(holder->timeout_source);
	for (int i = 0; i < 300 && f->manager->n_connections > 2; i++)
		test_run_loop(f->manager->event, 100 * 1000);
	assert_int_equal(f->manager->n_connections, 2);
	assert_int_equal(recv(f->clients[2], &byte, 1, MSG_DONTWAIT), 0);
	assert_served(f, 0);
	monitor_emit(f->manager, &(Event){ .kind = "attach" });
	event = receive(f, 1, 0);
	assert_true(event.continues);
}

/* A connection whose process's attachment ends idles from then on: it is closed after
 * idle-timeout, though nothing else happened on it. */
static void connection_idles_once_its_attachment_ends(void **state) {
	Fixture *f = *state;
	Connection *holder;
	char byte;

	f->manager->policy.limits.idle_timeout_sec = 1;
	add_attachment(f, 1, getuid());
	holder = pair_client(f, 0, 0);
	assert_null(holder->timeout_source);
	lifecycle_commit(f->manager, &(Change){ .detach = f->manager->state.attachments }, "%s", "");
	assert_null(f->manager->state.attachments);
	assert_non_null(holder->timeout_source);
	for (int i = 0; i < 300 && f->manager->n_connections > 0; i++)
		test_run_loop(f->manager->event, 100 * 1000);
	assert_int_equal(f->manager->n_connections, 0);
	assert_int_equal(recv(f->clients[0], &byte, 1, MSG_DONTWAIT), 0);
}

/* After Monitor, nothing more is read: what the client sends, fds included, is not parked
 * in the daemon (security review item 1: 16 fds a connection). */
static void monitor_parks_no_fds(void **state) {
	Fixture *f = *state;
	int fds[PROTOCOL_MAX_FDS];
	int before;
	Connection *c;

	c = pair_client(f, 0, 0);
	start_monitor(f, 0, c);
	before = test_count_fds();
	for (size_t i = 0; i < PROTOCOL_MAX_FDS; i++)
		fds[i] = memfd();
	test_send_raw(f->clients[0], "{", 1, fds, PROTOCOL_MAX_FDS);
	close_many(fds, PROTOCOL_MAX_FDS);
	pump(f);
	pump(f);
	assert_false(wire_reader_has_partial(&c->reader));
	assert_int_equal(test_count_fds(), before);
	/* The 16 wait in the socket at most, where they count against the sender's limit; once
	 * the client hangs up, the monitor goes with its fds. */
	f->clients[0] = safe_close(f->clients[0]);
	for (int i = 0; i < 50 && f->manager->n_connections > 0; i++)
		pump(f);
	assert_int_equal(f->manager->n_connections, 0);
	assert_int_equal(test_count_fds(), before - 1 - 2);
}

/* Out of fds, accept4() fails: the listening socket is left alone for a while instead of
 * firing again at once (a busy loop, a log line a turn); the waiting client is served once
 * the pause ends. */
static void accept_without_fds_backs_off(void **state) {
	Fixture *f = *state;
	struct rlimit saved, none = { .rlim_cur = 0 };
	int enabled = -1;

	f->manager->accept_backoff_usec = 1000;
	connect_client(f, 0);
	assert_served(f, 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	none.rlim_max = saved.rlim_max;
	f->clients[1] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(f->clients[1] >= 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
	connect_to_manager(f, f->clients[1]);
	assert_true(sd_event_run(f->manager->event, 0) >= 0);
	assert_int_equal(sd_event_source_get_enabled(f->manager->listen_source, &enabled), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(enabled, SD_EVENT_OFF);
	assert_int_equal(f->manager->n_connections, 1);
	for (int i = 0; i < 300 && f->manager->n_connections < 2; i++)
		test_run_loop(f->manager->event, 100 * 1000);
	assert_int_equal(f->manager->n_connections, 2);
	assert_served(f, 1);
}

/* ---- Fairness: one call per connection per turn of the loop ---- */

#define N_PIPELINED 100

/* One turn of the daemon's loop: one event source dispatched, nothing waited for. */
static void turn(Fixture *f) {
	assert_true(sd_event_run(f->manager->event, 0) >= 0);
}

/* n calls in one write, of methods that do not exist ("io.vfiod.Missing0", ...): each
 * answer (MethodNotFound) names its call, so the order of the answers shows. */
static void send_pipelined(Fixture *f, size_t i, unsigned n) {
	_cleanup_free_ char *calls = NULL;
	size_t size = 0;
	FILE *s = open_memstream(&calls, &size);

	assert_non_null(s);
	for (unsigned k = 0; k < n; k++)
		assert_true(fprintf(s, "{\"method\":\"io.vfiod.Missing%u\"}%c", k, '\0') > 0);
	assert_int_equal(fclose(s), 0);
	send_text(f, i, calls, size);
}

/* Asserts that reply answers call k of send_pipelined(); any other reply must be no error. */
static void assert_answers(const VarlinkReply *reply, unsigned k, bool pipelined) {
	json_object *method = NULL;
	char expected[64];

	if (!pipelined) {
		assert_null(reply->error);
		return;
	}
	(void) snprintf(expected, sizeof(expected), "io.vfiod.Missing%u", k);
	assert_string_equal(reply->error, VARLINK_ERROR_METHOD_NOT_FOUND);
	assert_true(json_object_object_get_ex(reply->parameters, "method", &method));
	assert_string_equal(json_object_get_string(method), expected);
}

/* Takes the replies that reached client i, without running the daemon's loop; n counts
 * them, and those to a pipeline are checked to come in the order of its calls. Returns the
 * new count. */
static unsigned take_replies(Fixture *f, size_t i, unsigned n, bool pipelined) {
	int r;

	do
		r = wire_reader_fill(&f->readers[i], f->clients[i]);
	while (r > 0);
	assert_true(r == -EAGAIN || r == 0);
	for (;;) {
		_cleanup_(varlink_reply_done) VarlinkReply reply = {};
		_cleanup_free_ char *text = NULL;
		int fds[PROTOCOL_MAX_FDS];
		size_t length, n_fds = 0;

		r = wire_reader_next(&f->readers[i], &text, &length, fds, &n_fds);
		assert_true(r >= 0);
		if (r == 0)
			return n;
		assert_int_equal(n_fds, 0);
		assert_int_equal(message_parse_reply(text, length, &reply), 0);
		assert_answers(&reply, n, pipelined);
		n++;
	}
}

/* A connection that pipelines gets one call run per turn, as every other does: a call that
 * comes later on another connection is answered while most of the pipeline still waits. */
static void pipelined_calls_do_not_delay_others(void **state) {
	Fixture *f = *state;
	unsigned a = 0, b = 0, turns = 0;

	pair_client(f, 0, 0);
	pair_client(f, 1, 0);
	send_pipelined(f, 0, N_PIPELINED);
	for (; turns < 2; turns++)
		turn(f);
	send_text(f, 1, GET_INFO, sizeof(GET_INFO));
	for (; turns < 12 && b == 0; turns++) {
		turn(f);
		a = take_replies(f, 0, a, true);
		b = take_replies(f, 1, b, false);
	}
	assert_int_equal(b, 1);
	/* At most one of the pipeline's calls per turn, and they had begun. */
	assert_in_range(a, 1, turns);
}

/* Turns go round the users before the connections: a user pipelining on three connections
 * delays another user's call by one of its calls, not one per connection. */
static void users_take_turns_before_connections(void **state) {
	Fixture *f = *state;
	unsigned a[3] = {}, b = 0, a_before = 0, a_after = 0;

	for (size_t i = 0; i < 3; i++) {
		/* As the socket would name another user: the run queue goes by peer.uid. */
		pair_client(f, i, 0)->peer.uid = 5000;
		send_pipelined(f, i, N_PIPELINED);
	}
	pair_client(f, 3, 0)->peer.uid = 6000;
	for (unsigned turns = 0; turns < 6; turns++)
		turn(f);
	for (size_t i = 0; i < 3; i++)
		a_before += a[i] = take_replies(f, i, a[i], true);
	send_text(f, 3, GET_INFO, sizeof(GET_INFO));
	for (unsigned turns = 0; turns < 12 && b == 0; turns++) {
		turn(f);
		b = take_replies(f, 3, b, false);
	}
	assert_int_equal(b, 1);
	for (size_t i = 0; i < 3; i++)
		a_after += a[i] = take_replies(f, i, a[i], true);
	/* Round the connections instead, it would have waited for all three. */
	assert_in_range(a_after - a_before, 0, 2);
}

/* Two pipelines take turns: each gets every answer, in the order of its calls, and neither
 * waits for the whole of the other. */
static void pipelines_take_turns_and_are_answered_in_order(void **state) {
	Fixture *f = *state;
	unsigned a = 0, b = 0, other_when_first_done = UINT_MAX;

	pair_client(f, 0, 0);
	pair_client(f, 1, 0);
	send_pipelined(f, 0, N_PIPELINED);
	send_pipelined(f, 1, N_PIPELINED);
	for (unsigned turns = 0; turns < 10 * N_PIPELINED && (a < N_PIPELINED || b < N_PIPELINED); turns++) {
		turn(f);
		a = take_replies(f, 0, a, true);
		b = take_replies(f, 1, b, true);
		if (other_when_first_done == UINT_MAX && (a == N_PIPELINED || b == N_PIPELINED))
			other_when_first_done = a == N_PIPELINED ? b : a;
	}
	assert_int_equal(a, N_PIPELINED);
	assert_int_equal(b, N_PIPELINED);
	assert_in_range(other_when_first_done, N_PIPELINED - 2, N_PIPELINED);
	assert_served(f, 0);
	assert_served(f, 1);
}

/* A client that pipelines and then shuts its sending side down gets every answer, in order,
 * before the daemon closes the connection. */
static void pipeline_before_end_of_stream_is_answered(void **state) {
	Fixture *f = *state;
	unsigned a = 0;

	pair_client(f, 0, 0);
	send_pipelined(f, 0, N_PIPELINED);
	assert_int_equal(shutdown(f->clients[0], SHUT_WR), 0);
	for (unsigned turns = 0; turns < 10 * N_PIPELINED && a < N_PIPELINED; turns++) {
		turn(f);
		a = take_replies(f, 0, a, true);
	}
	assert_int_equal(a, N_PIPELINED);
	assert_true(test_is_closed(f->manager->event, f->clients[0]));
	assert_int_equal(f->manager->n_connections, 0);
}

/* A client that pipelines and closes its socket: its connection goes at its next turn (the
 * reply cannot be sent), with every fd. */
static void pipeline_of_closed_client_is_dropped(void **state) {
	Fixture *f = *state;

	pair_client(f, 0, 0);
	send_pipelined(f, 0, N_PIPELINED);
	f->clients[0] = safe_close(f->clients[0]);
	for (int turns = 0; turns < 10 && f->manager->n_connections > 0; turns++)
		turn(f);
	assert_int_equal(f->manager->n_connections, 0);
	assert_true(run_queue_is_empty(&f->manager->run_queue));
}

/* Connections with calls they may not run now stay out of the run queue: one whose client
 * does not read its replies (queued-replies reached) and one that called Monitor. A call on
 * another connection is answered within a few turns; the two run nothing more. */
static void backlogged_and_monitoring_connections_stay_out_of_the_queue(void **state) {
	static const char monitor_then_calls[] = MONITOR "\0" GET_INFO "\0" GET_INFO;
	Fixture *f = *state;
	Connection *slow, *monitor;
	unsigned b = 0, turns = 0;

	f->manager->policy.limits.queued_replies = 4;
	slow = pair_client(f, 0, 4096);
	monitor = pair_client(f, 1, 0);
	pair_client(f, 2, 0);
	send_descriptions(f, 0, N_PIPELINED);
	send_text(f, 1, monitor_then_calls, sizeof(monitor_then_calls));
	for (; turns < 50; turns++)
		turn(f);
	assert_int_equal(slow->writer.n_queued, 4);
	assert_true(monitor->monitoring);
	assert_false(slow->queued);
	assert_false(monitor->queued);
	assert_true(run_queue_is_empty(&f->manager->run_queue));

	send_text(f, 2, GET_INFO, sizeof(GET_INFO));
	for (turns = 0; turns < 4 && b == 0; turns++) {
		turn(f);
		b = take_replies(f, 2, b, false);
	}
	assert_int_equal(b, 1);
	assert_int_equal(slow->writer.n_queued, 4);
	/* Monitor answers with events only, and the calls behind it never run. */
	assert_int_equal(take_replies(f, 1, 0, false), 0);
}

/* A connection freed while it waits in the run queue leaves it; the others run on. */
static void connection_freed_while_queued_leaves_the_queue(void **state) {
	Fixture *f = *state;
	Connection *c[3];
	unsigned answered[3] = {};
	size_t middle, first, last;

	for (size_t i = 0; i < 3; i++) {
		c[i] = pair_client(f, i, 0);
		send_pipelined(f, i, 10);
	}
	for (int turns = 0; turns < 20 && !(c[0]->queued && c[1]->queued && c[2]->queued); turns++)
		turn(f);
	assert_true(c[0]->queued && c[1]->queued && c[2]->queued);
	/* The one queued between the two others goes. */
	for (middle = 0; middle < 3 && !(c[middle]->queue_prev && c[middle]->queue_next); middle++)
		;
	assert_true(middle < 3);
	for (first = 0; c[first] != c[middle]->queue_prev; first++)
		;
	for (last = 0; c[last] != c[middle]->queue_next; last++)
		;
	assert_ptr_equal(c[middle]->queue_prev, c[first]);
	assert_ptr_equal(c[middle]->queue_next, c[last]);
	connection_free(c[middle]);
	assert_ptr_equal(c[first]->queue_next, c[last]);
	assert_ptr_equal(c[last]->queue_prev, c[first]);
	for (unsigned turns = 0; turns < 200 && answered[first] + answered[last] < 20; turns++) {
		turn(f);
		answered[first] = take_replies(f, first, answered[first], true);
		answered[last] = take_replies(f, last, answered[last], true);
	}
	assert_int_equal(answered[first], 10);
	assert_int_equal(answered[last], 10);
	assert_int_equal(f->manager->n_connections, 2);
	assert_true(run_queue_is_empty(&f->manager->run_queue));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(connections_per_user_exceeded_fails),
		T(users_take_turns_before_connections),
		T(connections_exceeded_fails),
		T(refusals_are_not_all_logged),
		T(queued_replies_stop_reading),
		T(monitor_events_not_bound_by_queued_replies),
		T(half_sent_request_times_out),
		T(complete_and_idle_requests_do_not_time_out),
		T(attachments_per_user_exceeded_fails),
		T(admins_have_reserved_connections),
		T(subuid_connections_count_against_their_owner),
		T(refused_connection_without_call_is_closed_unanswered),
		T(refused_connections_are_bounded),
		T(idle_connection_times_out),
		T(connection_idles_once_its_attachment_ends),
		T(monitor_parks_no_fds),
		T(accept_without_fds_backs_off),
		T(pipelined_calls_do_not_delay_others),
		T(pipelines_take_turns_and_are_answered_in_order),
		T(pipeline_before_end_of_stream_is_answered),
		T(pipeline_of_closed_client_is_dropped),
		T(backlogged_and_monitoring_connections_stay_out_of_the_queue),
		T(connection_freed_while_queued_leaves_the_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
