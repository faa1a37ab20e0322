/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the handlers of every subject share: sending, audit records, finding a device. */

#include "connection.h"
#include "manager.h"
#include "methods.h"

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

int method_find_device(MethodCall *call, PciAddress address, SysfsDevice *ret) {
	int r = sysfs_get_device(call->manager->sysfs_fd, address, ret);

	if (r == -ENOENT)
		return method_send(call, message_new_address_error(VFIOD_ERROR_NO_SUCH_DEVICE,
		                                                   PCI_ADDRESS_TEXT(address)));
	if (r < 0)
		return method_send(call, message_new_kernel_error("read sysfs device", r));
	return 1;
}
