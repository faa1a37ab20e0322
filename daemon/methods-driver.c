/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Drivers: Bind and Unbind, the admin extensions that move a device between vfio-pci and its
 * host driver through sysfs. The table lets only admins reach them (dispatch.c). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "connection.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "methods.h"

/* Records a Bind or Unbind in the audit trail: what came of it and why. */
static void audit_driver_change(MethodCall *call, const char *action, const char *outcome,
                                PciAddress address, const char *reason) {
	AuditRecord record = method_record(call, action, outcome, PCI_ADDRESS_TEXT(address), 0, reason);
	int priority = strcmp(outcome, "done") == 0 ? LOG_INFO : LOG_NOTICE;

	audit_log(priority, &record, "%s of %s by pid %d uid %u: %s%s%s.",
	          strcmp(action, "bind") == 0 ? "Bind" : "Unbind", record.device, (int) record.pid,
	          (unsigned) record.uid, outcome, reason ? ", " : "", reason ?: "");
}

/* The device of a Bind or Unbind, checked in this order: the address names a device,
 * vfiod.conf(5) names it assignable, no device of its group is attached. Answers the error
 * itself: 1 when the change may go ahead, 0 when answered, -errno. */
static int driver_change_check(MethodCall *call, const char *action, PciAddress address, SysfsDevice *ret) {
	Manager *m = call->manager;
	Attachment *a;
	int r = method_find_device(call, address, ret);

	if (r <= 0)
		return r;
	if (!policy_is_assignable(&m->policy, ret)) {
		audit_driver_change(call, action, "denied", address, "not assignable");
		return method_send(call, message_new_address_error(VFIOD_ERROR_NOT_ASSIGNABLE,
		                                                   PCI_ADDRESS_TEXT(address)));
	}
	a = ret->group >= 0 ? state_find_attachment_by_group(&m->state, ret->group) : NULL;
	if (a) {
		audit_driver_change(call, action, "refused", address, "its IOMMU group is attached");
		return method_send(call, message_new_device_busy(PCI_ADDRESS_TEXT(address), a->id));
	}
	return 1;
}

/* Answers a Bind or Unbind that ran: KernelError naming the step that failed, or the device
 * as it is now, which monitors hear of too. */
static int driver_change_reply(MethodCall *call, const char *action, const SysfsDevice *d,
                               const char *operation, int error) {
	_cleanup_json_ json_object *p = NULL;
	char reason[256];

	if (error < 0) {
		(void) snprintf(reason, sizeof(reason), "%s: %s", operation, strerror(-error));
		audit_driver_change(call, action, "failed", d->address, reason);
		return method_send(call, message_new_kernel_error(operation, error));
	}
	audit_driver_change(call, action, "done", d->address, NULL);
	manager_emit(call->manager, &(Event){ .kind = action, .device = d });
	p = json_object_new_object();
	if (!p || json_add(p, "device", device_to_json(d, &call->manager->state)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

typedef int (*SysfsDriverChange)(int root_fd, PciAddress address, const char **ret_operation);

/* Runs change on device d and reads d again; names the step that failed in *ret_operation. */
static int driver_change_run(MethodCall *call, SysfsDriverChange change, SysfsDevice *d,
                             const char **ret_operation) {
	int root_fd = call->manager->sysfs_fd;
	int r = change(root_fd, d->address, ret_operation);

	if (r < 0)
		return r;
	*ret_operation = "read sysfs device";
	return sysfs_get_device(root_fd, d->address, d);
}

int method_bind(MethodCall *call, const void *params) {
	const AddressParams *in = params;
	const char *operation = NULL;
	SysfsDevice device;
	int r = driver_change_check(call, "bind", in->address, &device);

	if (r <= 0)
		return r;
	r = driver_change_run(call, sysfs_bind_vfio, &device, &operation);
	/* drivers_probe succeeds when no driver takes the device: vfio-pci's verdict is the
	 * driver link. */
	if (r >= 0 && strcmp(device.driver, "vfio-pci") != 0) {
		operation = "probe the device with vfio-pci";
		r = -ENODEV;
	}
	return driver_change_reply(call, "bind", &device, operation, r);
}

/* Unbinding from vfio-pci waits in the kernel until every user of the device lets go, which
 * would stall the daemon: a device in use anywhere is refused first. In use means its group
 * file open (by a VMM that kept its group or device fd after Detach, say: a device fd holds its
 * group file; or by a process vfiod does not know), or the device open through a path that
 * holds no group file, like the iommufd cdev /dev/vfio/devices/vfioN (vfio-pci enables the
 * device exactly while it is open). Returns 1 when free, 0 when answered, -errno. */
static int unbind_check_device_free(MethodCall *call, const SysfsDevice *d) {
	_cleanup_close_ int fd = -EBADF;
	const char *operation = NULL;
	int r;

	if (strcmp(d->driver, "vfio-pci") != 0 || d->group < 0)
		return 1;
	r = vfio_group_open(d->group, &fd, &operation);
	if (r == -EBUSY) {
		audit_driver_change(call, "unbind", "refused", d->address, "its IOMMU group is open");
		return method_send(call, message_new_kernel_error(operation, r));
	}
	r = sysfs_device_is_enabled(call->manager->sysfs_fd, d->address);
	if (r < 0)
		return method_send(call, message_new_kernel_error("read sysfs enable", r));
	if (r > 0) {
		audit_driver_change(call, "unbind", "refused", d->address, "its device fd is open");
		return method_send(call, message_new_kernel_error("device fd open (sysfs enable)", -EBUSY));
	}
	return 1;
}

int method_unbind(MethodCall *call, const void *params) {
	const AddressParams *in = params;
	const char *operation = NULL;
	SysfsDevice device;
	int r = driver_change_check(call, "unbind", in->address, &device);

	if (r > 0)
		r = unbind_check_device_free(call, &device);
	if (r <= 0)
		return r;
	r = driver_change_run(call, sysfs_unbind_vfio, &device, &operation);
	return driver_change_reply(call, "unbind", &device, operation, r);
}
