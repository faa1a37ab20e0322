/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager owns the event loop, the listening socket, every connection and the
 * daemon-wide resources (the sysfs root). main() builds one and runs it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "connection.h"
#include "macro.h"
#include "ids.h"
#include "persist.h"
#include "policy.h"
#include "runqueue.h"
#include "state.h"
#include "worker.h"

typedef struct Connection Connection;
typedef struct Event Event; /* json.h */

/* Refused connections are logged at most once in this long (the others are counted). */
#define MANAGER_REFUSAL_LOG_INTERVAL_USEC (10u * 1000000u)

/* How long the listening socket is not watched after accept4() ran out of fds or memory. */
#define MANAGER_ACCEPT_BACKOFF_USEC (250u * 1000u)

/* Connections over a limit that wait for their first call, to be told which (at most). */
#define MANAGER_MAX_REFUSED POLICY_MAX_REFUSED_CONNECTIONS

/* Users with a denial budget of their own (audit.h); beyond, the rest share one. */
#define MANAGER_MAX_DENIAL_USERS 1024u

/* The denial budget of one user (policy_account_uid()). */
typedef struct DenialUser {
	uid_t uid;
	AuditBudget budget;
} DenialUser;

/* Open connections of one uid. */
typedef struct UserCount {
	uid_t uid;
	unsigned n;
} UserCount;

typedef struct Manager {
	sd_event *event;
	int listen_fd;
	sd_event_source *listen_source;
	sd_event_source *accept_resume_source; /* ends an accept backoff */
	uint64_t accept_backoff_usec;          /* MANAGER_ACCEPT_BACKOFF_USEC; tests set it */
	uint64_t accept_logged_usec;           /* when a backoff was last logged */
	unsigned accept_backoffs;              /* backoffs since, the logged one included */
	char *socket_path;                     /* set when we created (and so must unlink) the socket */
	bool socket_activated;
	int sysfs_fd;
	ConnectionHost connection_host; /* how connections reach the dispatcher and the run queue */
	Connection *connections;
	unsigned next_connection_id;
	size_t n_connections;        /* served, not counting the refused */
	size_t n_refused;            /* over a limit, waiting for their first call to be told */
	RunQueue run_queue;          /* connections with a call to run, in turn */
	sd_event_source *run_source; /* runs the next call of the queue's head */
	UserCount *user_connections; /* one entry per uid with connections open */
	size_t n_user_connections, allocated_user_connections;
	uint64_t refusal_log_interval_usec; /* MANAGER_REFUSAL_LOG_INTERVAL_USEC; tests set it */
	uint64_t refusal_logged_usec;       /* when a refused connection was last logged */
	unsigned refusals_unlogged;         /* refused since then */
	DenialUser *denial_users;           /* MANAGER_MAX_DENIAL_USERS at most */
	size_t n_denial_users;
	AuditBudget denial_budget_shared; /* of users beyond those */
	State state;
	Workers *workers; /* the kernel work of calls, off the loop */
	Persist persist;
	IdWatermark ids; /* ids never handed out twice, also after a stop (ids.h) */
	Policy policy;
	char *policy_path; /* vfiod.conf; its drop-ins are in policy_path + ".d" */
	bool reloading;    /* a reload runs on a worker */
	bool reload_again; /* and a SIGHUP came meanwhile */
} Manager;

/* Creates a manager with its event loop: SIGTERM and SIGINT end the loop, SIGHUP is blocked
 * for manager_load_policy() to watch. Call it before any other thread starts. Returns 0 and
 * *ret (the caller's), or -errno. */
int manager_new(Manager **ret);

/* Closes every connection and fd, unlinks a socket it created; accepts NULL and a manager
 * manager_new() left half-built. Returns NULL. */
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Raises the soft RLIMIT_NOFILE to the hard one (the unit's LimitNOFILE=): the limits of the
 * policy are checked against it (policy_check_fd_limit()). Returns 0 or -errno (logged). */
int manager_raise_fd_limit(void);

/* Opens the sysfs root the daemon reads devices from ("/sys" normally). */
int manager_open_sysfs(Manager *m, const char *path);

/* Loads the policy from path and its ".d" drop-in directory, and reloads it on SIGHUP
 * (a bad file is refused with its line and reason, and the policy in force stays). */
int manager_load_policy(Manager *m, const char *path);

/* Takes the listening socket from systemd (sd_listen_fds) or, when there is none, creates
 * socket_path (mode 0666: access is decided per call, from peer credentials). */
int manager_listen(Manager *m, const char *socket_path);

/* Restores what systemd's fd store passed back (fds[i] named names[i]; every fd is taken),
 * binds the restored attachments to their processes again and updates the store. Returns 0,
 * or -errno when nothing could be restored for lack of memory; a failed store update is
 * logged and the daemon serves on (manager_listen() calls it; public for tests). */
int manager_restore(Manager *m, int *fds, char **names, size_t n);

/* Tells systemd we are ready and runs the loop until SIGTERM. Returns the exit code. */
int manager_run(Manager *m);

/* The open connection with id, NULL when it is gone. */
Connection *manager_find_connection(Manager *m, unsigned id);

/* A job ended and freed what it held: every connection whose call waited for one runs it
 * again. */
void manager_wake_parked(Manager *m);

/* A new client connection on fd (taken on every path): set up, registered and counted for
 * its peer's uid, served from then on. Returns 0 (and *ret, when not NULL) or -errno. */
int manager_add_client(Manager *m, int fd, Connection **ret);

/* The run queue: each connection with a call to run waits in it for its turn, and each
 * turn of the loop runs one call of the connection at its head (see manager.c).
 * manager_queue_connection() puts c at the tail unless it is queued already; returns 0 or
 * -errno (c is then not queued). manager_dequeue_connection() takes c out, if it is in. */
int manager_queue_connection(Manager *m, Connection *c);
void manager_dequeue_connection(Manager *m, Connection *c);

/* An attachment of process pid ended: its connections that now idle start their idle-timeout. */
void manager_refresh_idle(Manager *m, pid_t pid);

/* The denial budget of the user account_uid, kept across its connections: reconnecting
 * gains nothing. Never NULL. */
AuditBudget *manager_denial_budget(Manager *m, uid_t account_uid);

/* Records, if c's denials were suppressed since its last summary, one record saying how many,
 * and counts them anew. */
void manager_audit_suppressed(Manager *m, Connection *c);

/* The connections open for uid (limit connections-per-user). */
unsigned manager_count_user_connections(const Manager *m, uid_t uid);
