/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>

#include "connection.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"

/* One event reply for a monitoring connection; -errno when it cannot be queued. */
static int monitor_send(Connection *c, const Event *e) {
	json_object *p;

	/* A monitor that does not read its events is dropped rather than buffered without end. */
	if (c->writer.bytes_queued >= CONNECTION_MAX_QUEUED_BYTES)
		return -ENOBUFS;
	p = json_object_new_object();
	if (!p || json_add(p, "event", event_to_json(e, &c->manager->state)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return connection_reply_continues(c, p);
}

/* Whether the caller of monitor c may hear of e (policy_may_hear_event). */
static bool monitor_may_hear(Manager *m, const Connection *c, const Event *e) {
	Caller caller = connection_caller(c);
	PolicyOwner owner = {};

	if (e->attachment)
		owner = attachment_owner(e->attachment);
	return policy_may_hear_event(&m->policy, &caller, e->attachment ? &owner : NULL);
}

void monitor_emit(Manager *m, const Event *e) {
	assert(m);
	assert(e);
	assert(e->kind);

	for (Connection *c = m->connections, *next; c; c = next) {
		next = c->next;
		if (!c->monitoring || !monitor_may_hear(m, c, e))
			continue;
		if (monitor_send(c, e) < 0) {
			log_warning("Dropping monitor connection %u (pid %d): it does not read its events.",
			            c->id, (int) c->peer.pid);
			connection_free(c);
		}
	}
}
