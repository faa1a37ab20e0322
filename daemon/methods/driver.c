/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Drivers: Bind and Unbind, the admin extensions that move a device between vfio-pci (or a
 * vfio-pci variant driver the admin names) and its host driver through sysfs. The table lets
 * only admins reach them (dispatch.c). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "connection.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "lifecycle.h"
#include "methods.h"

/* Records a Bind or Unbind in the audit trail: what came of it and why. */
static void audit_driver_change(MethodCall *call, const char *action, const char *outcome,
                                PciAddress address, const char *reason) {
	AuditRecord record = method_record(call, action, outcome, PCI_ADDRESS_TEXT(address), 0, reason);
	int priority = strcmp(outcome, "done") == 0 ? LOG_INFO : LOG_NOTICE;
	char message[AUDIT_MESSAGE_MAX];

	(void) snprintf(message, sizeof(message), "%s of %s by pid %d uid %u: %s%s%s.",
	                strcmp(action, "bind") == 0 ? "Bind" : "Unbind", record.device, (int) record.pid,
	                (unsigned) record.uid, outcome, reason ? ", " : "", reason ?: "");
	/* Only admins get here; a denial is still limited like any. */
	if (strcmp(outcome, "denied") == 0)
		method_audit_denial(call, &record, "%s", message);
	else
		audit_log(priority, &record, "%s", message);
}

/* The device of a Bind or Unbind, checked in this order: the address names a device,
 * vfiod.conf(5) names it assignable, no device of its group is attached; then its group is
 * reserved (*ret_group) until the change ended. Answers the error itself: 1 when the change may
 * go ahead, 0 when answered, -EAGAIN when a job holds the group, -errno. */
static int driver_change_check(MethodCall *call, const char *action, PciAddress address, SysfsDevice *ret,
                               Group **ret_group) {
	Manager *m = call->manager;
	unsigned holder = 0;
	int r = method_find_device(call, address, ret);

	if (r <= 0)
		return r;
	if (!policy_is_assignable(&m->policy, ret)) {
		audit_driver_change(call, action, "denied", address, "not assignable");
		return method_send(call, message_new_address_error(VFIOD_ERROR_NOT_ASSIGNABLE,
		                                                   PCI_ADDRESS_TEXT(address)));
	}
	r = state_group_reserve(&m->state, ret->group, ret_group, &holder);
	if (r == -EBUSY) {
		audit_driver_change(call, action, "refused", address, "its IOMMU group is attached");
		return method_send(call, message_new_device_busy(PCI_ADDRESS_TEXT(address), holder));
	}
	return r < 0 ? r : 1;
}

/* A Bind or Unbind whose sysfs writes (a driver's probe or release behind them) run on a
 * worker. */
typedef struct DriverWork {
	CallWork call; /* first */
	const char *action;
	bool bind;
	char driver[SYSFS_DRIVER_MAX]; /* Bind's: vfio-pci or the variant the admin named */
	int root_fd;                   /* the manager's sysfs root, open as long as the daemon runs */
	const VfioOps *vfio;           /* the state's kernel, for the device's viability after */
	SysfsDevice device;
	Group *group;     /* reserved, on the loop's side */
	Caller requester; /* for the audit record, should the caller be gone by then */
	bool force;       /* Bind even a device the host visibly uses */
	const char *operation;
	char host_use[128]; /* the operation when the host uses the device */
	int result;
} DriverWork;

/* Whether the host visibly uses the device (sysfs_device_host_use()): a Bind that would take
 * it away answers KernelError EBUSY naming the use, unless forced. Returns 0 when free, or
 * -errno with w->operation set. */
static int bind_check_host_use(DriverWork *w) {
	_cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char reason[sizeof(w->host_use) - sizeof("the host uses the device: ")];
	int r;

	if (w->force)
		return 0;
	if (proc_fd < 0) {
		w->operation = "open /proc";
		return negative_errno();
	}
	r = sysfs_device_host_use(w->root_fd, w->device.address, proc_fd, reason, sizeof(reason));
	if (r < 0) {
		w->operation = "look for the host's use of the device";
		return r;
	}
	if (r == 0)
		return 0;
	(void) snprintf(w->host_use, sizeof(w->host_use), "the host uses the device: %s", reason);
	w->operation = w->host_use;
	return -EBUSY;
}

/* Runs the change and reads the device again, its group's viability the kernel's where it
 * can be asked (as ListDevices shows it); names the step that failed. */
static void driver_work_run(WorkerJob *job) {
	DriverWork *w = (DriverWork *) job;
	int r = w->bind ? bind_check_host_use(w) : 0;

	/* sysfs_bind_vfio() reads the driver's verdict back and restores the driver it had. */
	if (r >= 0)
		r = w->bind ? sysfs_bind_vfio(w->root_fd, w->device.address, w->driver, &w->operation)
		            : sysfs_unbind_vfio(w->root_fd, w->device.address, &w->operation);
	if (r >= 0) {
		w->operation = "read sysfs device";
		r = sysfs_get_device(w->root_fd, w->device.address, &w->device);
	}
	if (r >= 0)
		vfio_judge_viability(w->vfio, &w->device, 1);
	w->result = r;
}

/* Commits the change, audited and told to monitors: it happened whether or not its caller
 * still waits for the answer. */
static void driver_change_commit(Manager *m, DriverWork *w) {
	MethodCall call = { .manager = m, .caller = &w->requester };
	const char *address = PCI_ADDRESS_TEXT(w->device.address);
	bool done = w->result >= 0;
	char reason[AUDIT_REASON_MAX] = "";
	AuditRecord record;

	if (!done)
		(void) snprintf(reason, sizeof(reason), ", %s: %s", w->operation, strerror(-w->result));
	record = method_record(&call, w->action, done ? "done" : "failed", address, 0,
	                       done ? NULL : reason + 2);
	lifecycle_commit(
	        m,
	        &(Change){ .record = &record,
	                   .priority = done ? LOG_INFO : LOG_NOTICE,
	                   .event = done ? &(Event){ .kind = w->action, .device = &w->device } : NULL },
	        "%s of %s by pid %d uid %u: %s%s.", strcmp(w->action, "bind") == 0 ? "Bind" : "Unbind",
	        address, (int) record.pid, (unsigned) record.uid, record.outcome, reason);
}

/* Answers a Bind or Unbind that ran: KernelError naming the step that failed, or the device
 * as it is now. */
static int driver_change_reply(MethodCall *call, DriverWork *w) {
	_cleanup_json_ json_object *p = NULL;

	if (w->result < 0)
		return method_send(call, message_new_kernel_error(w->operation, w->result));
	p = json_object_new_object();
	if (!p || json_add(p, "device", device_to_json(&w->device, &call->manager->state)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

static void driver_work_done(WorkerJob *job) {
	DriverWork *w = (DriverWork *) job;
	Manager *m = w->call.manager;
	MethodCall call;

	state_group_unreserve(&m->state, w->group);
	driver_change_commit(m, w);
	if (method_resume(&w->call, &call))
		method_finish(&call, driver_change_reply(&call, w));
	manager_wake_parked(m);
	free(w);
}

/* A group file open outside vfiod reaches every member bound to a VFIO driver: binding a member
 * would hand it to whoever holds the group (Bind), and unbinding waits in the kernel until
 * every user lets go, which would hold a worker without end (Unbind). The group file is open
 * by a VMM that kept its group or device fd after Detach, say (a device fd holds its group
 * file), or by a process vfiod does not know. Returns 1 when closed, 0 when answered, -errno. */
static int driver_check_group_closed(MethodCall *call, const char *action, const SysfsDevice *d) {
	_cleanup_close_ int fd = -EBADF;
	const char *operation = NULL;
	int r;

	if (d->group < 0)
		return 1;
	r = vfio_group_open(d->group, &fd, &operation);
	if (r == -EBUSY) {
		audit_driver_change(call, action, "refused", d->address, "its IOMMU group is open");
		return method_send(call, message_new_kernel_error(operation, r));
	}
	return 1;
}

/* A device that leaves vfio-pci or a variant (Unbind; Bind to another VFIO driver) must also
 * not be open through a path that holds no group file, like the iommufd cdev
 * /dev/vfio/devices/vfioN (vfio-pci-core enables the device exactly while it is open): the
 * unbinding write would wait for it. Returns 1 when free, 0 when answered, -errno. */
static int driver_check_device_free(MethodCall *call, const char *action, const SysfsDevice *d) {
	int r = driver_check_group_closed(call, action, d);

	if (r <= 0 || d->driver_kind != SYSFS_DRIVER_VFIO || d->group < 0)
		return r;
	r = sysfs_device_is_enabled(call->manager->sysfs_fd, d->address);
	if (r < 0)
		return method_send(call, message_new_kernel_error("read sysfs enable", r));
	if (r > 0) {
		audit_driver_change(call, action, "refused", d->address, "its device fd is open");
		return method_send(call, message_new_kernel_error("device fd open (sysfs enable)", -EBUSY));
	}
	return 1;
}

/* Whether the device leaves the VFIO driver it is on: every Unbind, a Bind to another. */
static bool driver_change_leaves_vfio(const SysfsDevice *d, const char *to_driver) {
	return d->driver_kind == SYSFS_DRIVER_VFIO && (!to_driver || strcmp(d->driver, to_driver) != 0);
}

/* to_driver: Bind's driver (vfio-pci or a checked variant), NULL for Unbind. */
static int driver_change(MethodCall *call, const char *action, PciAddress address, const char *to_driver,
                         bool force) {
	_cleanup_free_ DriverWork *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	r = driver_change_check(call, action, address, &w->device, &w->group);
	if (r <= 0)
		return r;
	if (driver_change_leaves_vfio(&w->device, to_driver))
		r = driver_check_device_free(call, action, &w->device);
	else if (to_driver)
		r = driver_check_group_closed(call, action, &w->device);
	if (r <= 0) {
		state_group_unreserve(&call->manager->state, w->group);
		return r;
	}
	w->action = action;
	w->bind = to_driver != NULL;
	(void) snprintf(w->driver, sizeof(w->driver), "%s", to_driver ?: "");
	w->force = force;
	w->root_fd = call->manager->sysfs_fd;
	w->vfio = call->manager->state.vfio;
	w->requester =
	        (Caller){ .pid = call->caller->pid, .uid = call->caller->uid, .gid = call->caller->gid };
	method_submit(call, &w->call, driver_work_run, driver_work_done);
	TAKE_PTR(w);
	return METHOD_PENDING;
}

/* Bind's driver: vfio-pci unless the admin names a variant, which must be one by the kernel's
 * own sign (sysfs_driver_is_vfio()). A driver that is not loaded is left to the work, which
 * answers it KernelError ENODEV as for vfio-pci. Returns 1 when it may go on, 0 when answered
 * (InvalidParameter "driver"). */
static int bind_check_driver(MethodCall *call, const BindParams *p) {
	char reason[AUDIT_REASON_MAX];
	int r;

	if (!p->driver)
		return 1;
	r = sysfs_driver_is_vfio(call->manager->sysfs_fd, p->driver);
	if (r > 0 || r == -ENOENT)
		return 1;
	/* Only a name of [A-Za-z0-9_-] reaches the log. */
	(void) snprintf(reason, sizeof(reason), "driver %s is not vfio-pci or a vfio-pci variant",
	                r == -EINVAL ? "(not a driver name)" : p->driver);
	audit_driver_change(call, "bind", "refused", p->address, reason);
	return method_send(call, message_new_invalid_parameter("driver"));
}

int method_bind(MethodCall *call, const void *params) {
	const BindParams *p = params;
	int r = bind_check_driver(call, p);

	if (r <= 0)
		return r;
	return driver_change(call, "bind", p->address, p->driver ?: "vfio-pci", p->force);
}

int method_unbind(MethodCall *call, const void *params) {
	return driver_change(call, "unbind", ((const AddressParams *) params)->address, NULL, false);
}
