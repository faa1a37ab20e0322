/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "connection.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "message.h"
#include "methods.h"
#include "process.h"
#include "sysfs.h"

static bool caller_is_admin(MethodCall *call);

/* Whether the caller may attach the group of each device of the full listing, into allowed[]:
 * a group's members are the devices of the listing in that group, every one of them (a group
 * fd reaches them all), and each group is decided once. */
static int callers_groups(MethodCall *call, const SysfsDevice *devices, size_t n, bool *allowed) {
	Caller caller = connection_caller(call->connection);
	_cleanup_free_ SysfsDevice *members = n > 0 ? calloc(n, sizeof(*members)) : NULL;

	if (n > 0 && !members)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, earlier = sysfs_first_of_group(devices, i);

		if (devices[i].group < 0) {
			allowed[i] = caller_is_admin(call);
			continue;
		}
		if (earlier < i) {
			allowed[i] = allowed[earlier];
			continue;
		}
		for (size_t j = i; j < n; j++)
			if (devices[j].group == devices[i].group)
				members[k++] = devices[j];
		allowed[i] = policy_allows_group(&call->connection->manager->policy, &caller, members, k);
	}
	return 0;
}

static json_object *string_array(const char *const *strings, size_t n) {
	_cleanup_json_ json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_new_string(strings[i]);
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			return NULL;
		}
	}
	return TAKE_PTR(a);
}

int method_get_info(MethodCall *call) {
	static const char *const interfaces[] = { VARLINK_SERVICE_INTERFACE, VFIOD_INTERFACE };
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "vendor", json_object_new_string(VFIOD_VENDOR));
	r |= json_add(p, "product", json_object_new_string(VFIOD_PRODUCT));
	r |= json_add(p, "version", json_object_new_string(VFIOD_VERSION));
	r |= json_add(p, "url", json_object_new_string(VFIOD_URL));
	r |= json_add(p, "interfaces", string_array(interfaces, ELEMENTSOF(interfaces)));
	if (r < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

typedef struct InterfaceParams {
	const char *interface;
} InterfaceParams;

static int reply_invalid_parameter(MethodCall *call, const char *name) {
	json_object *parameters = json_object_new_object();

	if (!parameters || json_add(parameters, "parameter", json_object_new_string(name)) < 0) {
		json_object_put(parameters);
		return -ENOMEM;
	}
	return connection_reply_error(call->connection, VARLINK_ERROR_INVALID_PARAMETER, parameters);
}

int method_get_interface_description(MethodCall *call) {
	static const ParamSpec spec[] = {
		{ "interface", PARAM_STRING, .offset = offsetof(InterfaceParams, interface),
		  .max_length = 256 },
	};
	InterfaceParams params = {};
	const char *bad = NULL, *description = NULL;
	_cleanup_json_ json_object *p = NULL;

	if (message_decode_params(call->parameters, spec, ELEMENTSOF(spec), &params, &bad) < 0)
		return reply_invalid_parameter(call, bad);
	if (strcmp(params.interface, VFIOD_INTERFACE) == 0)
		description = protocol_interface_description;
	else if (strcmp(params.interface, VARLINK_SERVICE_INTERFACE) == 0)
		description = protocol_service_description;
	p = json_object_new_object();
	if (!p)
		return -ENOMEM;
	if (!description) {
		if (json_add(p, "interface", json_object_new_string(params.interface)) < 0)
			return -ENOMEM;
		return connection_reply_error(call->connection, VARLINK_ERROR_INTERFACE_NOT_FOUND,
		                              TAKE_PTR(p));
	}
	if (json_add(p, "description", json_object_new_string(description)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

/* KernelError names the operation and errno, for failures a client cannot fix. */
static int reply_kernel_error(MethodCall *call, const char *operation, int error) {
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "operation", json_object_new_string(operation));
	r |= json_add(p, "errno", json_object_new_int(-error));
	r |= json_add(p, "message", json_object_new_string(strerror(-error)));
	if (r < 0)
		return -ENOMEM;
	return connection_reply_error(call->connection, VFIOD_ERROR_KERNEL_ERROR, TAKE_PTR(p));
}

int method_list_devices(MethodCall *call) {
	_cleanup_free_ SysfsDevice *devices = NULL;
	_cleanup_free_ bool *allowed = NULL;
	_cleanup_json_ json_object *array = NULL, *p = NULL;
	size_t n = 0;
	int r;

	r = sysfs_list_devices(call->connection->manager->sysfs_fd, &devices, &n);
	if (r < 0) {
		log_warning_errno(r, "Failed to list PCI devices: %m");
		return reply_kernel_error(call, "sysfs_list_devices", r);
	}
	array = json_object_new_array_ext((int) n);
	p = json_object_new_object();
	allowed = n > 0 ? calloc(n, sizeof(*allowed)) : NULL;
	if (!array || !p || (n > 0 && !allowed) || callers_groups(call, devices, n, allowed) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!allowed[i])
			continue;
		json_object *d = device_to_json(&devices[i], &call->connection->manager->state);
		if (!d || json_object_array_add(array, d) < 0) {
			json_object_put(d);
			return -ENOMEM;
		}
	}
	if (json_add(p, "devices", TAKE_PTR(array)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

static bool caller_is_admin(MethodCall *call) {
	Caller caller = connection_caller(call->connection);
	return policy_is_admin(&call->connection->manager->policy, &caller);
}

/* Replies error with one string parameter (NULL key for none). */
static int reply_error_string(MethodCall *call, const char *error, const char *key, const char *value) {
	_cleanup_json_ json_object *p = json_object_new_object();

	if (!p || (key && json_add(p, key, json_object_new_string(value)) < 0))
		return -ENOMEM;
	return connection_reply_error(call->connection, error, TAKE_PTR(p));
}

static int reply_error_id(MethodCall *call, const char *error, unsigned id) {
	_cleanup_json_ json_object *p = json_object_new_object();

	if (!p || json_add(p, "id", json_object_new_int64(id)) < 0)
		return -ENOMEM;
	return connection_reply_error(call->connection, error, TAKE_PTR(p));
}

static int reply_device_busy(MethodCall *call, const char *address, unsigned attachment) {
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "address", json_object_new_string(address));
	r |= json_add(p, "attachment", json_object_new_int64(attachment));
	if (r < 0)
		return -ENOMEM;
	return connection_reply_error(call->connection, VFIOD_ERROR_DEVICE_BUSY, TAKE_PTR(p));
}

/* GroupNotViable names the members bound to a driver other than vfio-pci. */
static int reply_group_not_viable(MethodCall *call, int group) {
	_cleanup_free_ SysfsDevice *members = NULL;
	_cleanup_json_ json_object *p = json_object_new_object(), *blockers = json_object_new_array();
	size_t n = 0;
	int r;

	if (!p || !blockers)
		return -ENOMEM;
	r = group >= 0 ? sysfs_list_group(call->connection->manager->sysfs_fd, group, &members, &n) : 0;
	if (r < 0)
		log_warning_errno(r, "Failed to list the members of IOMMU group %d: %m", group);
	for (size_t i = 0; i < n; i++) {
		if (!members[i].driver[0] || strcmp(members[i].driver, "vfio-pci") == 0)
			continue;
		json_object *s = json_object_new_string(members[i].address);
		if (!s || json_object_array_add(blockers, s) < 0) {
			json_object_put(s);
			return -ENOMEM;
		}
	}
	r = json_add(p, "group", json_object_new_int(group));
	if (r >= 0)
		r = json_add(p, "blockers", TAKE_PTR(blockers));
	if (r < 0)
		return -ENOMEM;
	return connection_reply_error(call->connection, VFIOD_ERROR_GROUP_NOT_VIABLE, TAKE_PTR(p));
}

/* The audit record of a call: the caller from the socket, what it asked and what came of it. */
static AuditRecord call_record(MethodCall *call, const char *action, const char *outcome, const char *device,
                               unsigned attachment, const char *reason) {
	return (AuditRecord){ .action = action,
		              .outcome = outcome,
		              .pid = call->connection->peer.pid,
		              .uid = call->connection->peer.uid,
		              .device = device,
		              .attachment = attachment,
		              .reason = reason };
}

typedef struct AttachParams {
	const char *address;
	int64_t vm_fd;
} AttachParams;

/* The policy's verdict on the device's whole group: a group fd reaches every member. Returns
 * 1 when allowed, 0 when PermissionDenied was answered, -errno. */
static int attach_check_policy(MethodCall *call, const SysfsDevice *device) {
	Caller caller = connection_caller(call->connection);
	_cleanup_free_ SysfsDevice *members = NULL;
	AuditRecord record;
	size_t n = 0;
	int r = 0;

	if (caller_is_admin(call))
		return 1;
	if (device->group >= 0)
		r = sysfs_list_group(call->connection->manager->sysfs_fd, device->group, &members, &n);
	if (r < 0)
		return reply_kernel_error(call, "read sysfs group", r);
	if (policy_allows_group(&call->connection->manager->policy, &caller, members, n))
		return 1;
	record = call_record(call, "attach", "denied", device->address, 0, "policy");
	audit_log(LOG_NOTICE, &record, "Attach of %s denied to pid %d uid %u by the policy.",
	          device->address, (int) record.pid, (unsigned) record.uid);
	return reply_error_string(call, VFIOD_ERROR_PERMISSION_DENIED, NULL, NULL);
}

/* Reads the device at address, answering InvalidAddress, NoSuchDevice or KernelError itself.
 * Returns 1 when found, 0 when answered, -errno. */
static int find_device(MethodCall *call, const char *address, SysfsDevice *ret) {
	int r;

	if (!pci_address_is_valid(address))
		return reply_error_string(call, VFIOD_ERROR_INVALID_ADDRESS, "address", address);
	r = sysfs_get_device(call->connection->manager->sysfs_fd, address, ret);
	if (r == -ENOENT)
		return reply_error_string(call, VFIOD_ERROR_NO_SUCH_DEVICE, "address", address);
	if (r < 0)
		return reply_kernel_error(call, "read sysfs device", r);
	return 1;
}

/* Finds a device for Attach, answering InvalidAddress, NoSuchDevice or GroupNotViable
 * itself. Returns 1 when found and viable in sysfs, 0 when answered, -errno. */
static int attach_find_device(MethodCall *call, const char *address, SysfsDevice *ret) {
	int r = find_device(call, address, ret);

	if (r <= 0)
		return r;
	r = attach_check_policy(call, ret);
	if (r <= 0)
		return r;
	if (ret->group < 0 || !ret->viable)
		return reply_group_not_viable(call, ret->group);
	return 1;
}

/* The Attach reply: the attachment, and copies of the group and container fds. Replies
 * nothing on failure: the caller undoes the attachment first. */
static int attach_build_reply(const Attachment *a, json_object **ret, int fds[2]) {
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "attachment", attachment_to_json(a));
	r |= json_add(p, "groupFd", json_object_new_int(0));
	r |= json_add(p, "containerFd", json_object_new_int(1));
	if (r < 0)
		return -ENOMEM;
	fds[0] = fcntl(a->group->fd, F_DUPFD_CLOEXEC, 3);
	fds[1] = fcntl(a->vm->container_fd, F_DUPFD_CLOEXEC, 3);
	if (fds[0] < 0 || fds[1] < 0) {
		r = negative_errno();
		close_many(fds, 2);
		return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

/* Raises the caller's RLIMIT_MEMLOCK to the policy's allowance, if it grants one: the DMA
 * mappings the VMM makes through the container count against its own limit. */
static int attach_raise_memlock(MethodCall *call, Attachment *a) {
	Connection *c = call->connection;
	Caller caller = connection_caller(c);
	uint64_t allowance = policy_memlock(&c->manager->policy, &caller);
	char text[32];
	int r;

	if (allowance == 0)
		return 0;
	r = process_raise_memlock(c->peer.pid, c->peer_pidfd, allowance, &a->memlock);
	if (r < 0)
		return r;
	if (a->memlock == UINT64_MAX)
		(void) snprintf(text, sizeof(text), "infinity");
	else
		(void) snprintf(text, sizeof(text), "%" PRIu64 " bytes", a->memlock);
	log_info("Attachment %u: RLIMIT_MEMLOCK of pid %d is %s (policy allowance %" PRIu64 " bytes).",
	         a->id, (int) c->peer.pid, text, allowance);
	return 0;
}

/* Binds a new attachment to the caller's process, raises its locked-memory limit and builds
 * the reply; on failure the attachment is undone, so nothing outlives a call that answered an
 * error. */
static int attach_finish(MethodCall *call, Attachment *a, json_object **ret, int fds[2]) {
	Connection *c = call->connection;
	int owner = fcntl(c->peer_pidfd, F_DUPFD_CLOEXEC, 3);
	const char *operation = "watch the caller";
	int r = owner < 0 ? negative_errno() : manager_watch_owner(c->manager, a, owner);

	if (r >= 0) {
		operation = "prlimit(RLIMIT_MEMLOCK)";
		r = attach_raise_memlock(call, a);
	}
	if (r >= 0) {
		operation = "prepare the Attach reply";
		r = attach_build_reply(a, ret, fds);
	}
	if (r < 0) {
		state_detach(&c->manager->state, a);
		return r == -ENOMEM ? r : reply_kernel_error(call, operation, r);
	}
	return 1;
}

static int attach_reply_failure(MethodCall *call, const SysfsDevice *device, const AttachFailure *failure,
                                int r) {
	switch (failure->kind) {
	case ATTACH_FAILURE_BUSY:
		return reply_device_busy(call, device->address, failure->attachment);
	case ATTACH_FAILURE_NOT_VIABLE:
		return reply_group_not_viable(call, device->group);
	default:
		if (r == -ENOMEM)
			return r;
		return reply_kernel_error(call, failure->operation ?: "attach", r);
	}
}

/* Limit attachments-per-user, counted before any kernel work; root is counted like anyone.
 * Returns 1 when within it, 0 when LimitExceeded was answered, -errno. */
static int attach_check_limit(MethodCall *call, const char *address) {
	Connection *c = call->connection;
	unsigned limit = c->manager->policy.limits.attachments_per_user, n = 0;
	AuditRecord record;

	for (Attachment *a = c->manager->state.attachments; a; a = a->next)
		n += a->uid == c->peer.uid;
	if (n < limit)
		return 1;
	record = call_record(call, "attach", "refused", address, 0,
	                     "limit " POLICY_LIMIT_ATTACHMENTS_PER_USER);
	audit_log(LOG_NOTICE, &record,
	          "Attach of %s refused to pid %d uid %u: it holds %u attachment(s), limit %s %u.", address,
	          (int) record.pid, (unsigned) record.uid, n, POLICY_LIMIT_ATTACHMENTS_PER_USER, limit);
	return connection_reply_limit_exceeded(c, POLICY_LIMIT_ATTACHMENTS_PER_USER, limit);
}

int method_attach(MethodCall *call) {
	static const ParamSpec spec[] = {
		{ "address", PARAM_STRING, .offset = offsetof(AttachParams, address), .max_length = 64 },
		{ "vmFd", PARAM_INT, .offset = offsetof(AttachParams, vm_fd), .min = 0,
		  .max = PROTOCOL_MAX_FDS - 1 },
	};
	Connection *c = call->connection;
	AttachParams params = {};
	AttachFailure failure = {};
	AuditRecord record;
	SysfsDevice device;
	Attachment *a;
	const char *bad = NULL;
	json_object *reply = NULL;
	int fds[2] = { -EBADF, -EBADF }, r;

	if (message_decode_params(call->parameters, spec, ELEMENTSOF(spec), &params, &bad) < 0)
		return reply_invalid_parameter(call, bad);
	if ((size_t) params.vm_fd >= call->n_fds)
		return reply_invalid_parameter(call, "vmFd");
	r = attach_find_device(call, params.address, &device);
	r = r > 0 ? attach_check_limit(call, device.address) : r;
	if (r <= 0)
		return r;
	r = vm_fd_is_kvm(call->fds[params.vm_fd]);
	if (r <= 0)
		return reply_error_string(call, VFIOD_ERROR_NOT_A_VIRTUAL_MACHINE, NULL, NULL);
	r = state_attach(&c->manager->state, &device, call->fds[params.vm_fd], c->peer.pid, c->peer.uid,
	                 &failure, &a);
	if (r < 0) {
		record = call_record(call, "attach",
		                     failure.kind == ATTACH_FAILURE_KERNEL ? "failed" : "refused",
		                     device.address, failure.attachment, strerror(-r));
		audit_log(LOG_NOTICE, &record, "Attach of %s for pid %d uid %u refused: %s", device.address,
		          (int) c->peer.pid, (unsigned) c->peer.uid, strerror(-r));
		return attach_reply_failure(call, &device, &failure, r);
	}
	r = attach_finish(call, a, &reply, fds);
	if (r <= 0) {
		record = call_record(call, "attach", "failed", device.address, 0,
		                     "undone after the kernel steps");
		audit_log(LOG_NOTICE, &record, "Attach of %s for pid %d uid %u undone.", device.address,
		          (int) c->peer.pid, (unsigned) c->peer.uid);
		return r;
	}
	record = call_record(call, "attach", "granted", a->address, a->id, NULL);
	audit_log(LOG_INFO, &record, "Attachment %u: %s (group %d) to VM %u for pid %d uid %u.", a->id,
	          a->address, a->group->number, a->vm->id, (int) a->pid, (unsigned) a->uid);
	manager_emit_event(c->manager, "attach", a, NULL);
	(void) persist_sync(&c->manager->persist, &c->manager->state);
	return connection_reply(c, reply, fds, 2);
}

typedef struct IdParams {
	int64_t id;
} IdParams;

/* Decodes {"id": N} and finds the attachment, answering the errors itself: returns the
 * attachment, or NULL with *ret_r set (0 when answered). */
static Attachment *find_attachment_param(MethodCall *call, int *ret_r) {
	static const ParamSpec spec[] = {
		{ "id", PARAM_INT, .offset = offsetof(IdParams, id), .min = 0, .max = UINT32_MAX },
	};
	IdParams params = {};
	const char *bad = NULL;
	Attachment *a;

	if (message_decode_params(call->parameters, spec, ELEMENTSOF(spec), &params, &bad) < 0) {
		*ret_r = reply_invalid_parameter(call, bad);
		return NULL;
	}
	a = state_find_attachment(&call->connection->manager->state, (unsigned) params.id);
	if (!a)
		*ret_r = reply_error_id(call, VFIOD_ERROR_NO_SUCH_ATTACHMENT, (unsigned) params.id);
	return a;
}

int method_open_device(MethodCall *call) {
	_cleanup_json_ json_object *p = NULL;
	const char *operation = NULL;
	int fd = -EBADF, r = 0;
	AuditRecord record;
	Attachment *a;

	a = find_attachment_param(call, &r);
	if (!a)
		return r;
	/* Only the process that made the attachment gets its device. Its pid can be another
	 * process's only after it exited, which the pidfd shows even before the exit event ran. */
	if (a->pid != call->connection->peer.pid || a->uid != call->connection->peer.uid ||
	    process_has_exited(a->owner_pidfd) != 0) {
		record = call_record(call, "open", "denied", a->address, a->id, "not the attaching process");
		audit_log(LOG_NOTICE, &record, "Attachment %u: opening %s denied to pid %d uid %u.", a->id,
		          a->address, (int) record.pid, (unsigned) record.uid);
		return reply_error_string(call, VFIOD_ERROR_PERMISSION_DENIED, NULL, NULL);
	}
	if (a->device_open)
		return reply_device_busy(call, a->address, a->id);
	r = state_open_device(&call->connection->manager->state, a, &fd, &operation);
	if (r < 0)
		return reply_kernel_error(call, operation ?: "VFIO_GROUP_GET_DEVICE_FD", r);
	p = json_object_new_object();
	if (!p || json_add(p, "deviceFd", json_object_new_int(0)) < 0) {
		safe_close(fd);
		return -ENOMEM;
	}
	record = call_record(call, "open", "granted", a->address, a->id, NULL);
	audit_log(LOG_INFO, &record, "Attachment %u: device %s opened for pid %d.", a->id, a->address,
	          (int) a->pid);
	(void) persist_sync(&call->connection->manager->persist, &call->connection->manager->state);
	return connection_reply(call->connection, TAKE_PTR(p), &fd, 1);
}

int method_detach(MethodCall *call) {
	Attachment *a;
	int r = 0;

	a = find_attachment_param(call, &r);
	if (!a)
		return r;
	if (a->uid != call->connection->peer.uid && !caller_is_admin(call)) {
		AuditRecord record =
		        call_record(call, "detach", "denied", a->address, a->id, "not the owner");
		audit_log(LOG_NOTICE, &record, "Attachment %u: detach denied to pid %d uid %u.", a->id,
		          (int) record.pid, (unsigned) record.uid);
		return reply_error_string(call, VFIOD_ERROR_PERMISSION_DENIED, NULL, NULL);
	}
	manager_detach(call->connection->manager, a,
	               a->uid == call->connection->peer.uid ? "request" : "admin", &call->connection->peer);
	return connection_reply(call->connection, NULL, NULL, 0);
}

int method_list_attachments(MethodCall *call) {
	_cleanup_json_ json_object *p = json_object_new_object(), *array = json_object_new_array();
	bool all = caller_is_admin(call);

	if (!p || !array)
		return -ENOMEM;
	for (Attachment *a = call->connection->manager->state.attachments; a; a = a->next) {
		if (!all && a->uid != call->connection->peer.uid)
			continue;
		json_object *o = attachment_to_json(a);
		if (!o || json_object_array_add(array, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
	}
	if (json_add(p, "attachments", TAKE_PTR(array)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

int method_monitor(MethodCall *call) {
	if (!call->more)
		return connection_reply_error(call->connection, VARLINK_ERROR_EXPECTED_MORE, NULL);
	/* The connection now carries events only: nothing after this call is read. */
	call->connection->monitoring = true;
	return 0;
}

/* Records a Bind or Unbind in the audit trail: what came of it and why. */
static void audit_driver_change(MethodCall *call, const char *action, const char *outcome,
                                const char *address, const char *reason) {
	AuditRecord record = call_record(call, action, outcome, address, 0, reason);
	int priority = strcmp(outcome, "done") == 0 ? LOG_INFO : LOG_NOTICE;

	audit_log(priority, &record, "%s of %s by pid %d uid %u: %s%s%s.",
	          strcmp(action, "bind") == 0 ? "Bind" : "Unbind", address ?: "a device", (int) record.pid,
	          (unsigned) record.uid, outcome, reason ? ", " : "", reason ?: "");
}

typedef struct AddressParams {
	const char *address;
} AddressParams;

/* The device of a Bind or Unbind, checked in this order: the caller is an admin, the address
 * names a device, vfiod.conf(5) names it assignable, no device of its group is attached.
 * Answers the error itself: 1 when the change may go ahead, 0 when answered, -errno. */
static int driver_change_check(MethodCall *call, const char *action, SysfsDevice *ret) {
	static const ParamSpec spec[] = {
		{ "address", PARAM_STRING, .offset = offsetof(AddressParams, address), .max_length = 64 },
	};
	Manager *m = call->connection->manager;
	AddressParams params = {};
	const char *bad = NULL;
	Attachment *a;
	int r;

	if (message_decode_params(call->parameters, spec, ELEMENTSOF(spec), &params, &bad) < 0)
		return reply_invalid_parameter(call, bad);
	if (!caller_is_admin(call)) {
		audit_driver_change(call, action, "denied",
		                    pci_address_is_valid(params.address) ? params.address : NULL,
		                    "not an admin");
		return reply_error_string(call, VFIOD_ERROR_PERMISSION_DENIED, NULL, NULL);
	}
	r = find_device(call, params.address, ret);
	if (r <= 0)
		return r;
	if (!policy_is_assignable(&m->policy, ret)) {
		audit_driver_change(call, action, "denied", ret->address, "not assignable");
		return reply_error_string(call, VFIOD_ERROR_NOT_ASSIGNABLE, "address", ret->address);
	}
	a = ret->group >= 0 ? state_find_attachment_by_group(&m->state, ret->group) : NULL;
	if (a) {
		audit_driver_change(call, action, "refused", ret->address, "its IOMMU group is attached");
		return reply_device_busy(call, ret->address, a->id);
	}
	return 1;
}

/* Answers a Bind or Unbind that ran: KernelError naming the step that failed, or the device
 * as it is now, which monitors hear of too. */
static int driver_change_reply(MethodCall *call, const char *action, const SysfsDevice *d,
                               const char *operation, int error) {
	Manager *m = call->connection->manager;
	_cleanup_json_ json_object *p = NULL;
	char reason[256];

	if (error < 0) {
		(void) snprintf(reason, sizeof(reason), "%s: %s", operation, strerror(-error));
		audit_driver_change(call, action, "failed", d->address, reason);
		return reply_kernel_error(call, operation, error);
	}
	audit_driver_change(call, action, "done", d->address, NULL);
	manager_emit(m, &(Event){ .kind = action, .device = d });
	p = json_object_new_object();
	if (!p || json_add(p, "device", device_to_json(d, &m->state)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

typedef int (*SysfsDriverChange)(int root_fd, const char *address, const char **ret_operation);

/* Runs change on device d and reads d again; names the step that failed in *ret_operation. */
static int driver_change_run(MethodCall *call, SysfsDriverChange change, SysfsDevice *d,
                             const char **ret_operation) {
	int root_fd = call->connection->manager->sysfs_fd;
	int r = change(root_fd, d->address, ret_operation);

	if (r < 0)
		return r;
	*ret_operation = "read sysfs device";
	return sysfs_get_device(root_fd, d->address, d);
}

int method_bind(MethodCall *call) {
	const char *operation = NULL;
	SysfsDevice device;
	int r = driver_change_check(call, "bind", &device);

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
		return reply_kernel_error(call, operation, r);
	}
	r = sysfs_device_is_enabled(call->connection->manager->sysfs_fd, d->address);
	if (r < 0)
		return reply_kernel_error(call, "read sysfs enable", r);
	if (r > 0) {
		audit_driver_change(call, "unbind", "refused", d->address, "its device fd is open");
		return reply_kernel_error(call, "device fd open (sysfs enable)", -EBUSY);
	}
	return 1;
}

int method_unbind(MethodCall *call) {
	const char *operation = NULL;
	SysfsDevice device;
	int r = driver_change_check(call, "unbind", &device);

	if (r > 0)
		r = unbind_check_device_free(call, &device);
	if (r <= 0)
		return r;
	r = driver_change_run(call, sysfs_unbind_vfio, &device, &operation);
	return driver_change_reply(call, "unbind", &device, operation, r);
}
