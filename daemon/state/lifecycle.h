/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way a change to the state is committed: its audit record written, monitors told,
 * the attachment ended if that is the change (its group released on a worker), and systemd's
 * fd store brought in line, in that order. It also owns the watch on each attachment's owner
 * process, and hands kernel work to the workers. */

#include <stdbool.h>
#include <sys/socket.h>

#include "audit.h"
#include "json.h"
#include "macro.h"
#include "worker.h"

typedef struct Manager Manager;

typedef struct Change {
	const AuditRecord *record; /* written with the message, at priority */
	int priority;
	const Event *event; /* what monitors hear; NULL for nothing */
	Attachment *detach; /* the attachment the change ends, after monitors heard of it */
	bool sync;          /* the fd store must follow (attachments and opened devices) */
} Change;

_printf_(3, 4) void lifecycle_commit(Manager *m, const Change *change, const char *format, ...);

/* Ends attachment a ("request", "process-exit", "admin"): audited with the caller who asked
 * (by, NULL when the daemon itself ends it), told to monitors, fd store synced. */
void lifecycle_detach(Manager *m, Attachment *a, const char *reason, const struct ucred *by);

/* Binds a to the process of pidfd (taken on every path): when that process exits, a is
 * detached with reason "process-exit", whenever that happens. */
int lifecycle_watch_owner(Manager *m, Attachment *a, int pidfd);

/* Runs job's kernel work on a worker and its done() on the loop; when no worker can be
 * started, runs both at once, here (the call then blocks the loop, but is answered). */
void lifecycle_submit(Manager *m, WorkerJob *job);
