/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the handlers of every subject share: sending, audit records, finding a device. */

#include <stdarg.h>

#include "connection.h"
#include "lifecycle.h"
#include "log.h"
#include "manager.h"
#include "methods.h"
#include "process.h"

int method_send(MethodCall *call, json_object *message) {
	return connection_send(call->connection, message, NULL, 0);
}

AuditRecord method_record(const MethodCall *call, const char *action, const char *outcome,
                          const char *device, unsigned attachment, const char *reason) {
	return (AuditRecord){ .action = action,
		              .outcome = outcome,
		              .pid = call->caller->pid,
		              .uid = call->caller->uid,
		              .device = device,
		              .attachment = attachment,
		              .reason = reason };
}

void method_audit_denial(MethodCall *call, const AuditRecord *record, const char *format, ...) {
	Connection *c = call->connection;
	Manager *m = call->manager;
	uint64_t now = 0;
	va_list ap;

	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	if (!audit_budget_take(&c->denial_budget, now, AUDIT_DENIALS_PER_CONNECTION) ||
	    !audit_budget_take(manager_denial_budget(m, c->account_uid), now, AUDIT_DENIALS_PER_USER)) {
		c->denials_suppressed++;
		return;
	}
	manager_audit_suppressed(m, c);
	va_start(ap, format);
	audit_logv(LOG_NOTICE, record, format, ap);
	va_end(ap);
}

int method_find_device(MethodCall *call, PciAddress address, SysfsDevice *ret) {
	int r = sysfs_get_device(call->manager->sysfs_fd, address, ret);

	if (r == -ENOENT)
		return method_send(call, message_new_address_error(VFIOD_ERROR_NO_SUCH_DEVICE,
		                                                   PCI_ADDRESS_TEXT(address)));
	if (r < 0)
		return method_send(call, message_new_kernel_error("read sysfs device", r));
	return 1;
}

void method_submit(MethodCall *call, CallWork *w, void (*run)(WorkerJob *job),
                   void (*done)(WorkerJob *job)) {
	w->job = (WorkerJob){ .run = run, .done = done };
	w->manager = call->manager;
	w->connection = call->connection->id;
	call->connection->pending = true;
	lifecycle_submit(call->manager, &w->job);
}

bool method_resume(CallWork *w, MethodCall *ret) {
	Connection *c = manager_find_connection(w->manager, w->connection);

	if (!c)
		return false;
	if (c->hung_up || process_has_exited(c->peer_pidfd) != 0) {
		/* Nobody to answer: the caller hung up, or its process is gone though its hang-up
		 * was not seen yet. */
		connection_call_done(c, 0);
		return false;
	}
	w->caller = connection_caller(c);
	*ret = (MethodCall){ .manager = w->manager,
		             .connection = c,
		             .caller = &w->caller,
		             .admin = policy_is_admin(&w->manager->policy, &w->caller) };
	return true;
}

void method_finish(MethodCall *call, int r) {
	connection_call_done(call->connection, r);
}
