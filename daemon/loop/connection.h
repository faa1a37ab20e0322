/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One client connection: its buffers, the peer credentials taken at accept, the reply queue
 * and teardown. Calls are answered in order, one at a time, and one per turn in the manager's
 * run queue. */

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "policy.h"
#include "protocol.h"
#include "wire.h"

typedef struct Manager Manager;
typedef struct Connection Connection;

/* What a connection needs of the manager that owns it, as callbacks and data: this file calls
 * neither the manager nor the dispatcher, which both call it. */
typedef struct ConnectionHost {
	sd_event *event;
	const PolicyLimits *limits; /* the policy's, in force (a reload changes them in place) */
	/* Runs one complete message: dispatch_message()'s contract. */
	int (*dispatch)(Connection *c, const char *text, size_t length, int *fds, size_t n_fds);
	/* Puts c in the run queue (returns 0 or -errno), takes it out. */
	int (*queue)(Connection *c);
	void (*dequeue)(Connection *c);
	/* c is closed, every fd of it: forget it. Called once, from connection_free(). */
	void (*closed)(Connection *c);
	/* Whether c's peer process holds an attachment: such a connection is not idle. */
	bool (*holds_attachment)(Connection *c);
} ConnectionHost;

/* A connection stops reading while this much reply data waits for a client that does not
 * read: the calls it pipelines then wait in the socket, not in our memory. */
#define CONNECTION_MAX_QUEUED_BYTES (1024u * 1024u)

typedef struct Connection {
	const ConnectionHost *host;
	Manager *manager; /* the owner's, for the handlers; never used here */
	int fd;
	sd_event_source *io_source;
	WireReader reader;
	WireWriter writer;
	struct ucred peer;  /* from SO_PEERCRED at accept, never from a message */
	int peer_pidfd;     /* the peer process, from SO_PEERPIDFD (or pidfd_open) at accept */
	gid_t *peer_groups; /* supplementary groups, from SO_PEERGROUPS at accept */
	size_t n_peer_groups;
	bool monitoring;   /* a Monitor call holds the connection: no further calls are read */
	unsigned id;       /* for log lines */
	bool read_eof;     /* the peer shut down its sending side */
	bool closing;      /* close once the queued replies are sent */
	bool oneway;       /* running a oneway call: its replies are dropped */
	bool pending;      /* a call's kernel work runs on a worker: nothing else runs meanwhile */
	bool hung_up;      /* the peer went away while a call waited */
	char *parked_text; /* a call that waits for a job to end (dispatch answered -EAGAIN) */
	size_t parked_length;
	int parked_fds[PROTOCOL_MAX_FDS];
	size_t n_parked_fds;
	bool parked_ready; /* woken: the parked call runs at the next chance */

	sd_event_source *timeout_source; /* armed while a request is half-sent, or while idle */
	unsigned timeout_sec;            /* the request-timeout or idle-timeout it was armed with */
	bool timeout_idle;               /* the timer is idle-timeout's: it closes without a word */
	uid_t account_uid;               /* whom it counts against (policy_account_uid()) */
	/* Over a limit at accept: its first call is answered LimitExceeded naming this limit and
	 * value, and it is closed (nothing is sent before a first call, protocol.md). */
	const char *refused_limit;
	unsigned refused_value;
	AuditBudget denial_budget;   /* its denial records (method_audit_denial()) */
	unsigned denials_suppressed; /* not recorded since its last summary */
	struct Connection *prev, *next;
	bool queued; /* in the manager's run queue: a call is ready and waits for its turn */
	struct Connection *queue_prev, *queue_next; /* among its user's, in the run queue */
	struct RunUser *run_user;
} Connection;

/* The caller as the policy sees it; valid while c lives. */
Caller connection_caller(const Connection *c);

/* Takes ownership of fd (an accepted socket) on every path and reads the peer's credentials.
 * host serves the connection, manager is handed to the handlers. The caller registers it
 * (an id, a place in its list); connection_free() tells host->closed(). Returns 0 or -errno. */
int connection_new(const ConnectionHost *host, Manager *manager, int fd, Connection **ret);

/* Starts serving c once its owner registered it: arms its idle timer (idle-timeout, or
 * request-timeout for a refused connection). */
void connection_begin(Connection *c);

/* Arms or disarms c's timer for what it holds now (an attachment of its process ended, say);
 * never closes c, so it may be called while c runs a call. */
void connection_refresh_timer(Connection *c);

/* c called Monitor: from now on it carries events only. Nothing more is read from it (a
 * hang-up is still seen), and what it had sent beyond the call is dropped, fds closed. */
void connection_start_monitoring(Connection *c);

/* Unregisters and frees the connection (taking it out of the run queue), closing its
 * socket and every fd it holds. */
void connection_free(Connection *c);

/* The call that waited for its worker job has been answered (r: what answering returned;
 * -errno closes the connection): the connection goes on with its next call, or goes when its
 * peer hung up meanwhile. */
void connection_call_done(Connection *c, int r);

/* A job ended: a call parked for one runs again (and may park again). */
void connection_wake(Connection *c);

/* Queues a whole message (a reply or an error, from message.h's builders; NULL stands for
 * an allocation failure). Takes ownership of message and of the n_fds fds on every path.
 * Returns 0 or -errno (the connection is then closed). */
int connection_send(Connection *c, json_object *message, int *fds, size_t n_fds);

/* Runs c's next call: its turn in the run queue, which took it out. Queues c again when it
 * has another call ready; frees c when it is done or failed. */
void connection_run(Connection *c);

/* Queues a reply. Takes ownership of parameters (NULL for none) and of the n_fds fds on
 * every path. Returns 0 or -errno (the connection is then closed). */
int connection_reply(Connection *c, json_object *parameters, int *fds, size_t n_fds);

/* Queues one reply of a streaming ("more") call, with "continues": true; never with fds. */
int connection_reply_continues(Connection *c, json_object *parameters);

/* Queues io.vfiod.ProtocolError with reason; when fatal, the connection is closed once the
 * error is sent and nothing more is read from it. */
int connection_reply_protocol_error(Connection *c, const char *reason, bool fatal);
