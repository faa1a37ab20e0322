/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "audit.h"
#include "connection.h"
#include "dispatch.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "manager.h"
#include "sysfs.h"
#include "persist.h"
#include "message.h"

static int manager_queue_cb(Connection *c);
static void manager_dequeue_cb(Connection *c);
static void manager_connection_closed(Connection *c);
static bool manager_connection_holds_attachment(Connection *c);

/* SIGHUP reloads the policy; manager_load_policy() watches it, and sd-event watches only
 * blocked signals. Blocked here, before any thread starts, a SIGHUP that comes before the
 * policy is loaded waits for the watch instead of ending the daemon. */
static int manager_block_sighup(void) {
	sigset_t mask;

	(void) sigemptyset(&mask);
	(void) sigaddset(&mask, SIGHUP);
	return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? negative_errno() : 0;
}

int manager_new(Manager **ret) {
	_cleanup_(manager_freep) Manager *m = NULL;
	int r;

	assert(ret);

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->listen_fd = -EBADF;
	m->sysfs_fd = -EBADF;
	m->refusal_log_interval_usec = MANAGER_REFUSAL_LOG_INTERVAL_USEC;
	m->accept_backoff_usec = MANAGER_ACCEPT_BACKOFF_USEC;
	m->next_connection_id = 1;
	state_init(&m->state);
	policy_limits_default(&m->policy.limits);
	persist_init(&m->persist);
	ids_init(&m->ids);

	r = sd_event_default(&m->event);
	if (r < 0)
		return r;
	/* SIGTERM and SIGINT end the loop; sd-event blocks them in this thread, the only one yet
	 * (worker threads block every signal, worker.c). */
	r = sd_event_set_signal_exit(m->event, true);
	if (r < 0)
		return r;
	r = manager_block_sighup();
	if (r < 0)
		return r;
	r = sd_event_set_watchdog(m->event, true);
	if (r < 0)
		return r;
	r = workers_new(m->event, &m->workers);
	if (r < 0)
		return r;
	/* The connections reach the dispatcher and the run queue through these, not by name. */
	m->connection_host = (ConnectionHost){ .event = m->event,
		                               .limits = &m->policy.limits,
		                               .dispatch = dispatch_message,
		                               .queue = manager_queue_cb,
		                               .dequeue = manager_dequeue_cb,
		                               .closed = manager_connection_closed,
		                               .holds_attachment = manager_connection_holds_attachment };
	*ret = TAKE_PTR(m);
	return 0;
}

Manager *manager_free(Manager *m) {
	if (!m)
		return NULL;
	while (m->connections)
		connection_free(m->connections);
	sd_event_source_disable_unref(m->run_source);
	free(m->user_connections);
	free(m->denial_users);
	/* Jobs still running end first: their callers are gone, so what they made is undone. */
	m->workers = workers_free(m->workers);
	state_done(&m->state);
	persist_done(&m->persist);
	ids_done(&m->ids);
	policy_done(&m->policy);
	free(m->policy_path);
	sd_event_source_disable_unref(m->accept_resume_source);
	sd_event_source_disable_unref(m->listen_source);
	safe_close(m->listen_fd);
	if (m->socket_path)
		(void) unlink(m->socket_path);
	free(m->socket_path);
	safe_close(m->sysfs_fd);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

static int manager_log_policy(Manager *m, int r, const PolicyError *error) {
	char why[POLICY_ERROR_TEXT_MAX];

	if (r < 0) {
		policy_error_format(error, r, why, sizeof(why));
		return log_error_errno(r, "Policy not loaded, %s", why);
	}
	log_info("Policy loaded from %s: %zu rule(s).", m->policy_path, m->policy.n_rules);
	return 0;
}

int manager_raise_fd_limit(void) {
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l) < 0)
		return log_error_errno(negative_errno(), "getrlimit(RLIMIT_NOFILE) failed: %m");
	if (l.rlim_cur == l.rlim_max)
		return 0;
	l.rlim_cur = l.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &l) < 0)
		return log_error_errno(negative_errno(), "Failed to raise RLIMIT_NOFILE: %m");
	return 0;
}

/* Reads the policy at path (its drop-ins, /etc/subuid) into *ret and checks that its limits fit
 * the fds the daemon may open. Returns 0 or -errno with *error filled. */
static int manager_read_policy(const char *path, Policy *ret, PolicyError *error) {
	_cleanup_(policy_done) Policy p = {};
	struct rlimit l;
	int r;

	policy_limits_default(&p.limits);
	r = policy_load_config(path, &p, error);
	if (r < 0)
		return r;
	if (getrlimit(RLIMIT_NOFILE, &l) < 0)
		return negative_errno();
	(void) snprintf(error->path, sizeof(error->path), "%s", path);
	r = policy_check_fd_limit(&p, (uint64_t) l.rlim_cur, error);
	if (r < 0)
		return r;
	policy_done(ret);
	*ret = TAKE_STRUCT(p);
	return 0;
}

/* A reload on SIGHUP, on a worker: the files are read and user and group names looked up
 * there (NSS may ask a directory service), the policy swapped on the loop. One at a time:
 * NSS's getpwnam() is not reentrant, and a SIGHUP meanwhile asks for one more. */
typedef struct ReloadWork {
	WorkerJob job; /* first */
	Manager *manager;
	const char *path;
	Policy policy;
	PolicyError error;
	int result;
} ReloadWork;

static void reload_run(WorkerJob *job) {
	ReloadWork *w = (ReloadWork *) job;

	w->result = manager_read_policy(w->path, &w->policy, &w->error);
}

static void manager_reload_policy(Manager *m);

static void reload_done(WorkerJob *job) {
	ReloadWork *w = (ReloadWork *) job;
	Manager *m = w->manager;

	if (w->result >= 0) {
		policy_done(&m->policy);
		m->policy = w->policy;
	}
	if (manager_log_policy(m, w->result, &w->error) < 0)
		log_warning("Keeping the policy in force.");
	free(w);
	m->reloading = false;
	if (m->reload_again) {
		m->reload_again = false;
		manager_reload_policy(m);
		return;
	}
	(void) sd_notify(false, "READY=1");
}

static void manager_reload_policy(Manager *m) {
	ReloadWork *w;

	if (m->reloading) {
		m->reload_again = true;
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		log_oom();
		log_warning("Keeping the policy in force.");
		return;
	}
	*w = (ReloadWork){ .job = { .run = reload_run, .done = reload_done },
		           .manager = m,
		           .path = m->policy_path };
	policy_limits_default(&w->policy.limits);
	m->reloading = true;
	(void) sd_notify(false, "RELOADING=1");
	lifecycle_submit(m, &w->job);
}

static int on_sighup(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_,
                     void *userdata) {
	manager_reload_policy(userdata);
	return 0;
}

int manager_load_policy(Manager *m, const char *path) {
	PolicyError error = {};
	int r;

	free(m->policy_path);
	m->policy_path = strdup(path);
	if (!m->policy_path)
		return log_oom();
	/* At start, before any call is served: here, on the loop. */
	r = manager_log_policy(m, manager_read_policy(m->policy_path, &m->policy, &error), &error);
	if (r < 0)
		return r;
	r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
	return r < 0 ? log_error_errno(r, "Failed to watch SIGHUP: %m") : 0;
}

int manager_open_sysfs(Manager *m, const char *path) {
	int fd, r;

	r = sysfs_open_root(path, &fd);
	if (r < 0)
		return log_error_errno(r, "Failed to open sysfs root %s: %m", path);
	safe_close(m->sysfs_fd);
	m->sysfs_fd = fd;
	return 0;
}

/* The entry of uid among the users with connections open: few in practice (each has at most
 * connections-per-user), so a linear search. NULL when uid has none. */
static UserCount *manager_find_user(const Manager *m, uid_t uid) {
	for (size_t i = 0; i < m->n_user_connections; i++)
		if (m->user_connections[i].uid == uid)
			return &m->user_connections[i];
	return NULL;
}

unsigned manager_count_user_connections(const Manager *m, uid_t uid) {
	UserCount *u = manager_find_user(m, uid);
	return u ? u->n : 0;
}

static int manager_count_user_connection(Manager *m, uid_t uid) {
	UserCount *u = manager_find_user(m, uid);

	if (u) {
		u->n++;
		return 0;
	}
	if (m->n_user_connections == m->allocated_user_connections) {
		size_t allocated = m->allocated_user_connections ? 2 * m->allocated_user_connections : 8;
		u = reallocarray(m->user_connections, allocated, sizeof(*u));
		if (!u)
			return -ENOMEM;
		m->user_connections = u;
		m->allocated_user_connections = allocated;
	}
	m->user_connections[m->n_user_connections++] = (UserCount){ .uid = uid, .n = 1 };
	return 0;
}

static void manager_uncount_user_connection(Manager *m, uid_t uid) {
	UserCount *u = manager_find_user(m, uid);

	if (u && --u->n == 0)
		*u = m->user_connections[--m->n_user_connections];
}

Connection *manager_find_connection(Manager *m, unsigned id) {
	for (Connection *c = m->connections; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void manager_refresh_idle(Manager *m, pid_t pid) {
	for (Connection *c = m->connections; c; c = c->next)
		if (c->peer.pid == pid)
			connection_refresh_timer(c);
}

void manager_wake_parked(Manager *m) {
	for (Connection *c = m->connections, *next; c; c = next) {
		next = c->next;
		if (c->parked_text)
			connection_wake(c);
	}
}

/* Puts c in the list, with an id. */
static void manager_link_connection(Manager *m, Connection *c) {
	c->id = m->next_connection_id++;
	c->prev = NULL;
	c->next = m->connections;
	if (m->connections)
		m->connections->prev = c;
	m->connections = c;
}

/* Registers c: an id, a place in the list, a count for its user. */
static int manager_add_connection(Manager *m, Connection *c) {
	int r = manager_count_user_connection(m, c->account_uid);

	if (r < 0)
		return r;
	manager_link_connection(m, c);
	m->n_connections++;
	log_debug("Connection %u from pid %d uid %u, %zu open.", c->id, (int) c->peer.pid,
	          (unsigned) c->peer.uid, m->n_connections);
	return 0;
}

static bool manager_has_connection(const Manager *m, const Connection *c) {
	return c->prev || c->next || m->connections == c;
}

AuditBudget *manager_denial_budget(Manager *m, uid_t account_uid) {
	uint64_t now = 0;
	DenialUser *u;

	for (size_t i = 0; i < m->n_denial_users; i++)
		if (m->denial_users[i].uid == account_uid)
			return &m->denial_users[i].budget;
	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	/* An entry whose interval ended is as good as new: it is taken for this user. */
	for (size_t i = 0; i < m->n_denial_users; i++) {
		u = &m->denial_users[i];
		if (now >= u->budget.since_usec + AUDIT_DENIAL_INTERVAL_USEC) {
			*u = (DenialUser){ .uid = account_uid };
			return &u->budget;
		}
	}
	if (!m->denial_users)
		m->denial_users = calloc(MANAGER_MAX_DENIAL_USERS, sizeof(DenialUser));
	if (!m->denial_users || m->n_denial_users == MANAGER_MAX_DENIAL_USERS)
		return &m->denial_budget_shared;
	u = &m->denial_users[m->n_denial_users++];
	*u = (DenialUser){ .uid = account_uid };
	return &u->budget;
}

void manager_audit_suppressed(Manager *m _unused_, Connection *c) {
	AuditRecord record = { .action = "audit",
		               .outcome = "suppressed",
		               .pid = c->peer.pid,
		               .uid = c->peer.uid,
		               .reason = "denial rate limit" };

	if (c->denials_suppressed == 0)
		return;
	audit_log(LOG_NOTICE, &record,
	          "Connection %u of pid %d uid %u: %u denial record(s) suppressed (at most %u a connection "
	          "and "
	          "%u a user in %u s).",
	          c->id, (int) c->peer.pid, (unsigned) c->peer.uid, c->denials_suppressed,
	          AUDIT_DENIALS_PER_CONNECTION, AUDIT_DENIALS_PER_USER,
	          AUDIT_DENIAL_INTERVAL_USEC / 1000000u);
	c->denials_suppressed = 0;
}

/* ConnectionHost.closed: c closed every fd of its own; it leaves the list and the counts. */
static void manager_connection_closed(Connection *c) {
	Manager *m = c->manager;

	if (!manager_has_connection(m, c))
		return;
	manager_audit_suppressed(m, c);
	if (c->refused_limit)
		m->n_refused--;
	else {
		manager_uncount_user_connection(m, c->account_uid);
		m->n_connections--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		m->connections = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	/* The rig waits for "0 open" before it counts the daemon's fds (tests/vm/lib.sh). */
	log_debug("Connection %u closed, %zu open.", c->id, m->n_connections + m->n_refused);
}

/* ConnectionHost.holds_attachment: the peer process owns an attachment (same pid and uid as
 * the socket's; a reused pid of another uid does not count). */
static bool manager_connection_holds_attachment(Connection *c) {
	for (const Attachment *a = c->manager->state.attachments; a; a = a->next)
		if (a->pid == c->peer.pid && a->uid == c->peer.uid)
			return true;
	return false;
}

int manager_add_client(Manager *m, int fd, Connection **ret) {
	Connection *c = NULL;
	int r = connection_new(&m->connection_host, m, fd, &c);

	if (r < 0)
		return r;
	c->account_uid = policy_account_uid(&m->policy, c->peer.uid);
	r = manager_add_connection(m, c);
	if (r < 0) {
		connection_free(c);
		return r;
	}
	if (ret)
		*ret = c;
	connection_begin(c);
	return 0;
}

static int manager_queue_cb(Connection *c) {
	return manager_queue_connection(c->manager, c);
}

static void manager_dequeue_cb(Connection *c) {
	manager_dequeue_connection(c->manager, c);
}

/* Fairness between users and connections. A connection with a complete call buffered waits in
 * the run queue (runqueue.c: round the users, then round each user's connections); each
 * dispatch of run_source runs one call of the connection whose turn it is, which then queues
 * again if it has another call ready. However many calls a client pipelines, on however many
 * connections of its user, another user's call waits for at most one of them. A queued connection reads
 * nothing more (connection_wants_read()), so new data cannot move it forward, and a connection that is
 * backlogged (its client does not read its replies) or monitoring is not in the queue at
 * all: it costs the others nothing.
 *
 * run_source is a one-shot defer source of normal priority, created afresh for every call.
 * sd-event (libsystemd 252) dispatches one source per iteration, the pending one of highest
 * priority and, among equals, the one pending since the earliest iteration; a defer source
 * stays pending with the iteration it was created in, however often it is disabled and
 * enabled again. A long-lived defer source would thus win every iteration against the IO
 * sources (other clients' data, new connections, owner pidfds, the request timers) until the
 * queue ran dry; a fresh one queues up behind the sources already pending. A lower priority
 * would not do either: a client that kept some connection readable with partial requests
 * would hold the queue back for as long as it kept sending. */
static int on_run_queue(sd_event_source *s, void *userdata);

/* Whether run_source will run once more. */
static bool manager_run_queue_armed(const Manager *m) {
	return m->run_source && sd_event_source_get_enabled(m->run_source, NULL) > 0;
}

/* Arms a fresh run_source for the next call. Without memory for one, the spent source is
 * enabled again: the queue keeps going, only ahead of the IO sources for a while. */
static int manager_arm_run_queue(Manager *m) {
	sd_event_source *fresh = NULL;

	if (sd_event_add_defer(m->event, &fresh, on_run_queue, m) < 0)
		return m->run_source ? sd_event_source_set_enabled(m->run_source, SD_EVENT_ONESHOT)
		                     : -ENOMEM;
	sd_event_source_disable_unref(m->run_source);
	m->run_source = fresh;
	return 0;
}

static int on_run_queue(sd_event_source *s _unused_, void *userdata) {
	Manager *m = userdata;
	Connection *c = run_queue_pop(&m->run_queue);

	/* Queues c again when it has another call ready, or frees it. */
	if (c)
		connection_run(c);
	if (!run_queue_is_empty(&m->run_queue) && !manager_run_queue_armed(m) &&
	    manager_arm_run_queue(m) < 0) {
		/* Closed rather than left waiting for a turn that would never come. */
		log_error("Cannot run the queued calls: closing their connections.");
		while ((c = run_queue_pop(&m->run_queue)))
			connection_free(c);
	}
	return 0;
}

int manager_queue_connection(Manager *m, Connection *c) {
	if (c->queued)
		return 0;
	if (!manager_run_queue_armed(m)) {
		int r = manager_arm_run_queue(m);
		if (r < 0)
			return r;
	}
	return run_queue_push(&m->run_queue, c);
}

void manager_dequeue_connection(Manager *m, Connection *c) {
	run_queue_remove(&m->run_queue, c);
}

/* Logs a refused connection, at most once per refusal_log_interval_usec: a client
 * that reconnects in a loop must not flood the log. */
static void manager_log_refusal(Manager *m, const struct ucred *peer, const char *limit, unsigned value) {
	uint64_t now = 0;

	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	if (m->refusal_logged_usec != 0 && now < m->refusal_logged_usec + m->refusal_log_interval_usec) {
		m->refusals_unlogged++;
		return;
	}
	log_warning("Refusing a connection of pid %d uid %u: limit %s %u reached (%u more refused since the "
	            "last such message).",
	            (int) peer->pid, (unsigned) peer->uid, limit, value, m->refusals_unlogged);
	m->refusal_logged_usec = now;
	m->refusals_unlogged = 0;
}

/* The accept backoff ended: the listening socket is watched again. */
static int on_accept_resume(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
	Manager *m = userdata;

	if (sd_event_source_set_enabled(m->listen_source, SD_EVENT_ON) < 0)
		log_error("Cannot watch the listening socket again.");
	return 0;
}

/* accept4() failed with errno error. Out of fds (EMFILE, ENFILE) or memory, the connection
 * stays in the backlog and the level-triggered listen source would fire again at once: a
 * busy loop logging a line a turn (security review item 1). Instead the listening socket is
 * not watched for accept_backoff_usec, and this is logged at most once per
 * refusal_log_interval_usec. */
static int manager_accept_failed(Manager *m, int error) {
	uint64_t now = 0;
	int r;

	if (error == EAGAIN || error == EINTR || error == ECONNABORTED)
		return 0;
	if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
		log_warning_errno(-error, "accept4() failed: %m");
		return 0;
	}
	m->accept_backoffs++;
	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	if (m->accept_logged_usec == 0 || now >= m->accept_logged_usec + m->refusal_log_interval_usec) {
		log_warning_errno(-error,
		                  "accept4() failed: %m; not accepting for %" PRIu64
		                  " ms (%u such pause(s) since the last such message).",
		                  m->accept_backoff_usec / 1000, m->accept_backoffs - 1);
		m->accept_logged_usec = now;
		m->accept_backoffs = 0;
	}
	r = sd_event_source_set_time_relative(m->accept_resume_source, m->accept_backoff_usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->accept_resume_source, SD_EVENT_ONESHOT);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->listen_source, SD_EVENT_OFF);
	if (r < 0)
		log_error_errno(r, "Cannot pause accepting: %m");
	return 0;
}

/* Keeps a connection over a limit until its first call, which is answered LimitExceeded
 * naming the limit (nothing is sent before a call, protocol.md); it is then closed, or after
 * request-timeout without a call. At most MANAGER_MAX_REFUSED wait so; beyond, a refused
 * connection is closed at once, unanswered: refusals must not cost more than the limits
 * they enforce. */
static void manager_refuse_connection(Manager *m, Connection *c, const char *limit, unsigned value) {
	manager_log_refusal(m, &c->peer, limit, value);
	if (m->n_refused >= MANAGER_MAX_REFUSED) {
		connection_free(c);
		return;
	}
	c->refused_limit = limit;
	c->refused_value = value;
	manager_link_connection(m, c);
	m->n_refused++;
	connection_begin(c);
}

/* Serves or refuses a new connection by the limits: its user's count (policy_account_uid())
 * and the total, which admins may pass by admin-connections. */
static void manager_admit_connection(Manager *m, Connection *c) {
	Caller caller = connection_caller(c);
	const char *limit;
	unsigned value = 0;

	c->account_uid = policy_account_uid(&m->policy, c->peer.uid);
	limit = policy_connection_limit(&m->policy, m->n_connections,
	                                manager_count_user_connections(m, c->account_uid),
	                                policy_is_admin(&m->policy, &caller), &value);
	if (limit) {
		manager_refuse_connection(m, c, limit, value);
		return;
	}
	if (manager_add_connection(m, c) < 0) {
		log_oom();
		connection_free(c);
		return;
	}
	connection_begin(c);
}

static int on_listen_readable(sd_event_source *s _unused_, int fd, uint32_t revents _unused_,
                              void *userdata) {
	Manager *m = userdata;
	Connection *c = NULL;
	int client_fd, r;

	client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (client_fd < 0)
		return manager_accept_failed(m, errno);
	r = connection_new(&m->connection_host, m, client_fd, &c);
	if (r < 0) {
		log_warning_errno(r, "Closing a connection whose peer cannot be identified: %m");
		return 0;
	}
	manager_admit_connection(m, c);
	return 0;
}

/* Creates, binds and listens on path, replacing a stale socket left by an earlier run. */
static int manager_create_socket(Manager *m, const char *path) {
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;

	if (strlen(path) >= sizeof(address.sun_path))
		return log_error_errno(-ENAMETOOLONG, "Socket path too long: %s", path);
	strcpy(address.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(negative_errno(), "socket() failed: %m");
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(negative_errno(), "Failed to remove old %s: %m", path);
	if (bind(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
		return log_error_errno(negative_errno(), "Failed to bind %s: %m", path);
	m->socket_path = strdup(path);
	if (!m->socket_path)
		return log_oom();
	/* Anyone may connect: what a caller may do is decided per call from its credentials. */
	if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0)
		return log_error_errno(negative_errno(), "Failed to set up %s: %m", path);
	m->listen_fd = TAKE_FD(fd);
	return 0;
}

/* The listening socket among the fds systemd passed: the one named "varlink" (vfiod.socket's
 * FileDescriptorName=), else the only listening UNIX stream socket. -1 when there is none. */
static int find_listening_socket(int *fds, char **names, int n) {
	int found = -1;

	for (int i = 0; i < n; i++) {
		if (sd_is_socket_unix(fds[i], SOCK_STREAM, 1, NULL, 0) <= 0)
			continue;
		if (names && names[i] && strcmp(names[i], "varlink") == 0)
			return i;
		found = found < 0 ? i : -2;
	}
	return found >= 0 ? found : -1;
}

int manager_restore(Manager *m, int *fds, char **names, size_t n) {
	int restored = persist_restore(&m->persist, &m->state, m->sysfs_fd, fds, names, n);

	if (restored < 0)
		return restored;
	for (Attachment *a = m->state.attachments, *next; a; a = next) {
		next = a->next;
		int r = lifecycle_watch_owner(m, a, TAKE_FD(a->owner_pidfd));
		if (r < 0) {
			log_warning_errno(r, "Attachment %u: cannot watch its process, releasing it: %m",
			                  a->id);
			state_detach_now(&m->state, a);
		}
	}
	state_prune(&m->state);
	if (restored > 0 || n > 0)
		log_info("Restored %d attachment(s) from systemd's fd store.", restored);
	/* Not fatal: exiting would not mend the store, and with Restart=on-failure systemd would
	 * start us again on the same store until the start limit, then discard it. */
	if (persist_sync(&m->persist, &m->state) < 0)
		log_warning("Serving on with systemd's fd store as it was: a restart now would lose the "
		            "changes since, and every later change retries the update.");
	return 0;
}

/* Takes the sockets and stored fds systemd passed: the listening socket, then the rest. */
static int manager_take_passed_fds(Manager *m, int n, char **names) {
	_cleanup_free_ int *fds = calloc((size_t) n, sizeof(int));
	int index;

	if (!fds)
		return log_oom();
	for (int i = 0; i < n; i++)
		fds[i] = SD_LISTEN_FDS_START + i;
	index = find_listening_socket(fds, names, n);
	if (index >= 0) {
		m->listen_fd = TAKE_FD(fds[index]);
		m->socket_activated = true;
		if (fcntl(m->listen_fd, F_SETFL, O_NONBLOCK) < 0 ||
		    fcntl(m->listen_fd, F_SETFD, FD_CLOEXEC) < 0)
			return log_error_errno(negative_errno(), "Failed to set up the passed socket: %m");
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
			log_warning_errno(negative_errno(), "Failed to set FD_CLOEXEC on a passed fd: %m");
	/* The stored fds, without the socket, with their names in the same order. */
	size_t j = 0;
	for (int i = 0; i < n; i++) {
		if (i == index) {
			free(names[i]);
			names[i] = NULL;
			continue;
		}
		fds[j] = fds[i];
		names[j] = names[i];
		if ((size_t) i != j)
			names[i] = NULL;
		j++;
	}
	return manager_restore(m, fds, names, j);
}

/* The first directory of systemd's $STATE_DIRECTORY (StateDirectory=), NULL when none. */
static const char *state_directory(void) {
	static char first[PATH_MAX];
	const char *dirs = getenv("STATE_DIRECTORY");
	size_t length = dirs ? strcspn(dirs, ":") : 0;

	if (length == 0 || length >= sizeof(first))
		return NULL;
	memcpy(first, dirs, length);
	first[length] = '\0';
	return first;
}

int manager_listen(Manager *m, const char *socket_path) {
	char **names = NULL;
	int n, r;

	n = sd_listen_fds_with_names(true, &names);
	if (n < 0)
		return log_error_errno(n, "Failed to get sockets from systemd: %m");
	r = n > 0 ? manager_take_passed_fds(m, n, names) : 0;
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	if (r >= 0 && m->listen_fd < 0)
		r = manager_create_socket(m, socket_path);
	if (r < 0)
		return r;
	/* After the restore, which raised the counters to what the fd store recorded. */
	(void) ids_open(&m->ids, state_directory(), &m->state);
	r = sd_event_add_io(m->event, &m->listen_source, m->listen_fd, EPOLLIN, on_listen_readable, m);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the listening socket: %m");
	/* Made now, off: the timerfd behind it must exist before the fds run out. */
	r = sd_event_add_time_relative(m->event, &m->accept_resume_source, CLOCK_MONOTONIC, UINT64_MAX / 2,
	                               0, on_accept_resume, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->accept_resume_source, SD_EVENT_OFF);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the accept backoff: %m");
	log_info("Listening on %s%s.", m->socket_activated ? "the socket passed by systemd" : socket_path,
	         m->socket_activated ? "" : " (created by vfiod)");
	if (!m->persist.enabled)
		log_warning(
		        "Not started by systemd: no fd store, a restart of vfiod forgets every attachment.");
	return 0;
}

int manager_run(Manager *m) {
	int r;

	(void) sd_notify(false, "READY=1\nSTATUS=Serving VFIO devices.");
	r = sd_event_loop(m->event);
	(void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	return 0;
}
