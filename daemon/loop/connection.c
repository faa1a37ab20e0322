/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "connection.h"
#include "log.h"
#include "message.h"
#include "process.h"
#include "protocol.h"

/* Whether the replies waiting for the client reached a bound (queued-replies, or the byte
 * bound): the connection's further calls then wait in the socket, not in our memory. */
static bool connection_is_backlogged(const Connection *c) {
	return c->writer.bytes_queued >= CONNECTION_MAX_QUEUED_BYTES ||
	       c->writer.n_queued >= c->host->limits->queued_replies;
}

/* Whether a call is waiting: run on a worker (pending), or parked until a job ends. */
static bool connection_is_waiting(const Connection *c) {
	return c->pending || c->parked_text;
}

/* Whether more calls are to be read: not when ending, nor while the client lags behind, nor
 * while a call waits for its turn in the run queue or for a job (the calls behind it wait in
 * the socket, and new data cannot move the connection forward). */
static bool connection_wants_read(const Connection *c) {
	return !c->read_eof && !c->closing && !c->monitoring && !connection_is_backlogged(c) && !c->queued &&
	       !connection_is_waiting(c);
}

/* Whether a call is ready to run, with nothing holding it back: a parked call once woken, or
 * the next one buffered. */
static bool connection_is_runnable(Connection *c) {
	if (c->closing || c->monitoring || c->pending || connection_is_backlogged(c))
		return false;
	return c->parked_text ? c->parked_ready : wire_reader_has_message(&c->reader);
}

static int connection_update_events(Connection *c) {
	uint32_t events = 0;
	int r = 0;

	if (connection_wants_read(c))
		events |= EPOLLIN;
	/* While a call waits, nothing is read, but a peer that hangs up is noticed: its call is
	 * then abandoned rather than answered to nobody. A monitor is watched the same way: it
	 * reads nothing, so it parks neither bytes nor fds, yet goes when its peer does. */
	else if ((connection_is_waiting(c) || c->monitoring) && !c->hung_up && !c->closing)
		events |= EPOLLRDHUP;
	if (!wire_writer_is_empty(&c->writer))
		events |= EPOLLOUT;
	/* Epoll reports a hang-up even for no events, level-triggered: a queued connection whose
	 * peer went away would wake the loop every turn until its own turn came. Off instead. */
	if (events == 0)
		r = sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_source_set_io_events(c->io_source, events);
	if (r >= 0 && events != 0)
		r = sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
	return r;
}

/* Whether the connection has nothing left to do and can go. No call waits at the end of
 * stream: a connection reads on, and so meets the end, only with no call ready; but a call
 * that runs on a worker keeps it until the call is answered. */
static bool connection_is_finished(const Connection *c) {
	return (c->closing || c->read_eof) && wire_writer_is_empty(&c->writer) && !c->pending;
}

/* Puts the connection in the run queue when a call is ready to run, takes it out when not. */
static int connection_schedule(Connection *c) {
	if (connection_is_runnable(c))
		return c->host->queue(c);
	c->host->dequeue(c);
	return 0;
}

static void connection_unpark(Connection *c) {
	free(c->parked_text);
	c->parked_text = NULL;
	close_many(c->parked_fds, c->n_parked_fds);
	c->n_parked_fds = 0;
	c->parked_ready = false;
}

/* Keeps a call that must wait for a job (dispatch answered -EAGAIN): its text and fds, to
 * run again once woken. Takes text and the fds. */
static void connection_park(Connection *c, char *text, size_t length, int *fds, size_t n_fds) {
	c->parked_text = text;
	c->parked_length = length;
	for (size_t i = 0; i < n_fds; i++)
		c->parked_fds[i] = TAKE_FD(fds[i]);
	c->n_parked_fds = n_fds;
	c->parked_ready = false;
}

/* The next call to run: the parked one, woken, else the next complete one buffered. Returns
 * 1 with its text and fds, 0 when there is none, -errno. */
static int connection_next_call(Connection *c, char **ret_text, size_t *ret_length, int *fds,
                                size_t *ret_n_fds) {
	int r;

	if (c->parked_text) {
		*ret_text = TAKE_PTR(c->parked_text);
		*ret_length = c->parked_length;
		*ret_n_fds = c->n_parked_fds;
		for (size_t i = 0; i < c->n_parked_fds; i++)
			fds[i] = TAKE_FD(c->parked_fds[i]);
		c->n_parked_fds = 0;
		c->parked_ready = false;
		return 1;
	}
	r = wire_reader_next(&c->reader, ret_text, ret_length, fds, ret_n_fds);
	if (r == -EMSGSIZE)
		return connection_reply_protocol_error(c, "request larger than 65536 bytes", true);
	if (r > 0)
		/* A whole request arrived: the next one gets its own request-timeout. */
		c->timeout_source = sd_event_source_disable_unref(c->timeout_source);
	return r;
}

/* Runs the next call, if one is ready. A call that must wait for a job is parked. */
static int connection_process(Connection *c) {
	_cleanup_free_ char *text = NULL;
	int fds[PROTOCOL_MAX_FDS];
	size_t length = 0, n_fds = 0;
	int r;

	if (!connection_is_runnable(c))
		return 0;
	r = connection_next_call(c, &text, &length, fds, &n_fds);
	if (r <= 0)
		return r;
	if (c->refused_limit) {
		close_many(fds, n_fds);
		c->closing = true;
		return connection_send(c, message_new_limit_exceeded(c->refused_limit, c->refused_value),
		                       NULL, 0);
	}
	r = c->host->dispatch(c, text, length, fds, n_fds);
	if (r == -EAGAIN) {
		connection_park(c, TAKE_PTR(text), length, fds, n_fds);
		return 0;
	}
	return r < 0 ? r : 0;
}

static int connection_read(Connection *c) {
	int r = wire_reader_fill(&c->reader, c->fd);

	if (r == -EAGAIN || r == -EINTR)
		return 0;
	if (r == 0) {
		c->read_eof = true;
		return 0;
	}
	if (r == -EMSGSIZE)
		return connection_reply_protocol_error(c, "request larger than 65536 bytes", true);
	if (r == -EPROTO)
		return connection_reply_protocol_error(
		        c, "file descriptors not at a message boundary, more than 16, or truncated", true);
	if (r < 0)
		return r;
	return 0;
}

/* Sends what the socket takes. Returns 0 when done or blocked, -errno on failure. */
static int connection_flush(Connection *c) {
	int r = wire_writer_flush(&c->writer, c->fd);

	return r < 0 ? r : 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata);

/* Whether the connection idles: nothing half-sent, nothing to send, no call waiting or
 * ready, no Monitor, and its process holds no attachment. An idle connection costs the
 * daemon a socket and a pidfd for nothing; idle-timeout bounds how long (admins locked out by
 * idle connections of others, security review item 6). */
static bool connection_is_idle(Connection *c) {
	return !wire_reader_has_partial(&c->reader) && wire_writer_is_empty(&c->writer) &&
	       !c->host->holds_attachment(c);
}

/* The deadline the connection runs against now, in seconds, 0 for none; *ret_idle tells
 * idle-timeout's from request-timeout's. request-timeout runs from a request's first byte
 * while it is incomplete, so a client that trickles bytes gains nothing; idle-timeout while
 * the connection idles. A refused connection gets request-timeout for its first call. */
static unsigned connection_wanted_timeout(Connection *c, bool *ret_idle) {
	const PolicyLimits *l = c->host->limits;

	*ret_idle = false;
	if (c->monitoring || !connection_wants_read(c))
		return 0;
	if (wire_reader_has_partial(&c->reader))
		return l->request_timeout_sec;
	if (!connection_is_idle(c))
		return 0;
	*ret_idle = true;
	return c->refused_limit ? l->request_timeout_sec : l->idle_timeout_sec;
}

/* Arms the timer the connection's state asks for (connection_wanted_timeout()), keeping one
 * that is armed already for the same reason: its deadline stands. */
static int connection_update_timer(Connection *c) {
	bool idle;
	unsigned sec = connection_wanted_timeout(c, &idle);
	int r;

	if (c->timeout_source && (sec == 0 || idle != c->timeout_idle))
		c->timeout_source = sd_event_source_disable_unref(c->timeout_source);
	if (sec == 0 || c->timeout_source)
		return 0;
	r = sd_event_add_time_relative(c->host->event, &c->timeout_source, CLOCK_MONOTONIC,
	                               (uint64_t) sec * 1000000u, 0, on_timeout, c);
	if (r >= 0) {
		c->timeout_sec = sec;
		c->timeout_idle = idle;
	}
	return r;
}

/* After reading, a call or a time-out: sends what the socket takes, queues the connection
 * for its next call (once the client has read enough of the replies the bound held back),
 * waits for what comes next, and frees the connection when it is done or r < 0. */
static void connection_settle(Connection *c, int r) {
	if (r >= 0)
		r = connection_flush(c);
	if (r >= 0)
		r = connection_schedule(c);
	if (r >= 0 && !connection_is_finished(c))
		r = connection_update_events(c);
	if (r >= 0 && !connection_is_finished(c))
		r = connection_update_timer(c);
	if (r < 0 || connection_is_finished(c)) {
		if (r < 0 && r != -ECONNRESET && r != -EPIPE)
			log_debug_errno(r, "Connection %u (pid %d): closing: %m", c->id, (int) c->peer.pid);
		connection_free(c);
	}
}

/* request-timeout answers ProtocolError and closes; idle-timeout closes without a word:
 * the client asked nothing, so nothing is sent (protocol.md). */
static int on_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
	Connection *c = userdata;
	char reason[64];

	c->timeout_source = sd_event_source_disable_unref(c->timeout_source);
	if (c->timeout_idle) {
		log_debug("Connection %u (pid %d): idle for %u s, closing.", c->id, (int) c->peer.pid,
		          c->timeout_sec);
		c->closing = true;
		connection_settle(c, 0);
		return 0;
	}
	(void) snprintf(reason, sizeof(reason), "request incomplete after %u s", c->timeout_sec);
	connection_settle(c, connection_reply_protocol_error(c, reason, true));
	return 0;
}

/* The peer hung up while a call waited: a parked call never started and goes; a pending one
 * is abandoned when its job ends (method_resume()), and the connection with it. */
static void connection_hang_up(Connection *c) {
	c->hung_up = true;
	if (c->parked_text) {
		connection_unpark(c);
		c->closing = true;
	}
}

static int on_connection_io(sd_event_source *s _unused_, int fd _unused_, uint32_t revents, void *userdata) {
	Connection *c = userdata;
	int r = 0;

	/* A hang-up is read too (to see the end of stream), unless the connection is not
	 * reading: then sending tells whether the peer is gone. */
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && connection_wants_read(c))
		r = connection_read(c);
	else if ((revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && connection_is_waiting(c))
		connection_hang_up(c);
	else if ((revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && c->monitoring)
		c->closing = true;
	connection_settle(c, r);
	return 0;
}

void connection_run(Connection *c) {
	connection_settle(c, connection_process(c));
}

void connection_refresh_timer(Connection *c) {
	int r = connection_update_timer(c);

	if (r < 0)
		log_warning_errno(r, "Connection %u: cannot arm its timer: %m", c->id);
}

void connection_begin(Connection *c) {
	connection_settle(c, 0);
}

void connection_start_monitoring(Connection *c) {
	c->monitoring = true;
	/* The bytes and fds read along with the call: never to be parsed, so not kept. */
	wire_reader_done(&c->reader);
	wire_reader_init(&c->reader, PROTOCOL_MAX_REQUEST_BYTES);
}

/* The peer's supplementary groups; the kernel says how much room they need (ERANGE). */
static int compare_gids(const void *a, const void *b) {
	gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;

	return x < y ? -1 : x > y;
}

static int connection_take_groups(Connection *c) {
	socklen_t length = 0;
	gid_t *groups;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &length) < 0 && errno != ERANGE)
		return negative_errno();
	if (length == 0)
		return 0;
	if (length > 65536 * sizeof(gid_t))
		return -E2BIG;
	groups = malloc(length);
	if (!groups)
		return -ENOMEM;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) < 0) {
		free(groups);
		return negative_errno();
	}
	c->peer_groups = groups;
	c->n_peer_groups = length / sizeof(gid_t);
	/* The kernel keeps them sorted already; the policy's binary search relies on it. */
	qsort(groups, c->n_peer_groups, sizeof(gid_t), compare_gids);
	return 0;
}

/* Who is at the other end, from the kernel: uid, gid, groups and pid, and the process as a
 * pidfd. */
static int connection_take_credentials(Connection *c, uint64_t accepted_ns) {
	socklen_t length = sizeof(c->peer);
	int r;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &length) < 0)
		return negative_errno();
	if (length != sizeof(c->peer) || c->peer.pid <= 0)
		return -EIO;
	r = connection_take_groups(c);
	if (r < 0)
		return r;
	return process_pidfd_for_peer(c->fd, c->peer.pid, accepted_ns, &c->peer_pidfd);
}

Caller connection_caller(const Connection *c) {
	return (Caller){ .pid = c->peer.pid,
		         .uid = c->peer.uid,
		         .gid = c->peer.gid,
		         .groups = c->peer_groups,
		         .n_groups = c->n_peer_groups };
}

int connection_new(const ConnectionHost *host, Manager *manager, int fd, Connection **ret) {
	_cleanup_close_ int owned_fd = fd;
	Connection *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->host = host;
	c->manager = manager;
	c->fd = TAKE_FD(owned_fd);
	c->peer_pidfd = -EBADF;
	wire_reader_init(&c->reader, PROTOCOL_MAX_REQUEST_BYTES);
	wire_writer_init(&c->writer);

	r = connection_take_credentials(c, process_boottime_ns());
	if (r >= 0)
		r = sd_event_add_io(host->event, &c->io_source, c->fd, EPOLLIN, on_connection_io, c);
	if (r < 0) {
		connection_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void connection_free(Connection *c) {
	if (!c)
		return;
	c->host->dequeue(c);
	sd_event_source_disable_unref(c->io_source);
	sd_event_source_disable_unref(c->timeout_source);
	wire_reader_done(&c->reader);
	wire_writer_done(&c->writer);
	connection_unpark(c);
	safe_close(c->peer_pidfd);
	free(c->peer_groups);
	safe_close(c->fd);
	/* Once every fd of the connection is closed: the owner's log of it is what the rig waits
	 * for before it counts the daemon's fds. */
	c->host->closed(c);
	free(c);
}

int connection_send(Connection *c, json_object *message, int *fds, size_t n_fds) {
	_cleanup_json_ json_object *owned = message;
	const char *text;
	size_t length;

	if (!owned) {
		close_many(fds, n_fds);
		return -ENOMEM;
	}
	/* A oneway call gets no reply at all, not even an error (protocol.md). */
	if (c->oneway) {
		close_many(fds, n_fds);
		return 0;
	}
	text = message_to_string(owned, &length);
	if (!text) {
		close_many(fds, n_fds);
		return -ENOMEM;
	}
	/* Sent by connection_settle(), which follows every call, read and time-out. */
	return wire_writer_queue(&c->writer, text, length, fds, n_fds);
}

int connection_reply(Connection *c, json_object *parameters, int *fds, size_t n_fds) {
	return connection_send(c, message_new_reply(parameters, false), fds, n_fds);
}

int connection_reply_continues(Connection *c, json_object *parameters) {
	int r = connection_send(c, message_new_reply(parameters, true), NULL, 0);

	/* A Monitor's events come outside any call: nothing settles the connection after. */
	return r < 0 ? r : connection_update_events(c);
}

int connection_reply_protocol_error(Connection *c, const char *reason, bool fatal) {
	int r;

	log_debug("Connection %u (pid %d): protocol error: %s", c->id, (int) c->peer.pid, reason);
	r = connection_send(c, message_new_protocol_error(reason), NULL, 0);
	if (fatal)
		c->closing = true;
	return r;
}

void connection_call_done(Connection *c, int r) {
	c->pending = false;
	c->oneway = false;
	if (c->hung_up)
		c->closing = true;
	/* Its next call waits for its turn in the run queue, like any other. */
	connection_settle(c, r);
}

void connection_wake(Connection *c) {
	if (!c->parked_text || c->pending)
		return;
	c->parked_ready = true;
	connection_settle(c, 0);
}
