/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager owns the event loop, the listening socket, every connection and the
 * daemon-wide resources (the sysfs root). main() builds one and runs it. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "persist.h"
#include "policy.h"
#include "state.h"

typedef struct Connection Connection;

/* Limits, documented in vfiod(8). */
#define MANAGER_MAX_CONNECTIONS 256u

typedef struct Manager {
	sd_event *event;
	int listen_fd;
	sd_event_source *listen_source;
	char *socket_path; /* set when we created (and so must unlink) the socket */
	bool socket_activated;
	int sysfs_fd;
	Connection *connections;
	size_t n_connections;
	State state;
	Persist persist;
	Policy policy;
	char *policy_path; /* vfiod.conf; its drop-ins are in policy_path + ".d" */
} Manager;

/* Creates a manager with its event loop and SIGTERM/SIGINT handling. Returns 0 or -errno. */
int manager_new(Manager **ret);

/* Closes every connection and fd, unlinks a socket it created; accepts NULL. Returns NULL. */
Manager *manager_free(Manager *m);

/* Opens the sysfs root the daemon reads devices from ("/sys" normally). */
int manager_open_sysfs(Manager *m, const char *path);

/* Loads the policy from path and its ".d" drop-in directory, and reloads it on SIGHUP
 * (a bad file is refused with its line and reason, and the policy in force stays). */
int manager_load_policy(Manager *m, const char *path);

/* Takes the listening socket from systemd (sd_listen_fds) or, when there is none, creates
 * socket_path (mode 0666: access is decided per call, from peer credentials). */
int manager_listen(Manager *m, const char *socket_path);

/* Tells systemd we are ready and runs the loop until SIGTERM. Returns the exit code. */
int manager_run(Manager *m);

/* Sends an Event to every connection that called Monitor. */
void manager_emit_event(Manager *m, const char *kind, const Attachment *a, const char *reason);

/* Ends attachment a ("request", "process-exit", "admin"), logs it and tells monitors. */
void manager_detach(Manager *m, Attachment *a, const char *reason);

/* Binds a to the process of pidfd (taken on every path): when that process exits, a is
 * detached with reason "process-exit", whenever that happens. */
int manager_watch_owner(Manager *m, Attachment *a, int pidfd);

void manager_add_connection(Manager *m, Connection *c);
void manager_remove_connection(Manager *m, Connection *c);
