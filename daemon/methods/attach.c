/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Attachments: Attach, AttachDevice (the cdev mode), OpenDevice and Detach. Each asks the
 * policy (policy.c) whether the caller may, lets the state model (state.c) do the kernel work,
 * and commits what changed: audit record, Monitor event, fd-store sync. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "connection.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "methods.h"
#include "lifecycle.h"
#include "process.h"

/* The members of a group whose driver uses the kernel's DMA API: their addresses into
 * blockers (texts holds them), and "ADDRESS (DRIVER)" each into text, cut at size. Returns
 * how many. */
static size_t group_blockers(const SysfsDevice *members, size_t n, const char **blockers,
                             char (*texts)[PCI_ADDRESS_MAX], char *text, size_t size) {
	size_t k = 0, used = 0;

	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (members[i].driver_kind != SYSFS_DRIVER_HOST)
			continue;
		blockers[k] = pci_address_format(members[i].address, texts[k]);
		if (used < size)
			used += (size_t) snprintf(text + used, size - used, "%s%s (%s)", k ? ", " : "",
			                          blockers[k], members[i].driver);
		k++;
	}
	return k;
}

/* GroupNotViable for d: its blockers are the members whose driver uses the kernel's DMA API
 * (SYSFS_DRIVER_HOST), the members that keep the kernel from calling the group viable; the
 * refusal is recorded with their drivers, within the caller's denial budget (any client can
 * ask again at no cost). */
static int reply_group_not_viable(MethodCall *call, const SysfsDevice *d) {
	_cleanup_free_ SysfsDevice *members = NULL;
	_cleanup_free_ const char **blockers = NULL;
	_cleanup_free_ char(*texts)[PCI_ADDRESS_MAX] = NULL;
	const char *address = PCI_ADDRESS_TEXT(d->address);
	char named[AUDIT_REASON_MAX] = "";
	AuditRecord record;
	size_t n = 0, k = 0;
	int r = d->group >= 0 ? sysfs_list_group(call->manager->sysfs_fd, d->group, &members, &n) : 0;

	if (r < 0)
		log_warning_errno(r, "Failed to list the members of IOMMU group %d: %m", d->group);
	blockers = n > 0 ? calloc(n, sizeof(*blockers)) : NULL;
	texts = n > 0 ? calloc(n, sizeof(*texts)) : NULL;
	if (n > 0 && (!blockers || !texts))
		return -ENOMEM;
	k = group_blockers(members, n, blockers, texts, named, sizeof(named));
	record = method_record(call, "attach", "refused", address, 0, "IOMMU group not viable");
	method_audit_denial(call, &record,
	                    "Attach of %s for pid %d uid %u refused: IOMMU group %d is not viable%s%s.",
	                    address, (int) record.pid, (unsigned) record.uid, d->group,
	                    k > 0 ? "; its members on drivers that use the kernel's DMA API: " : "", named);
	return method_send(call, message_new_group_not_viable(d->group, blockers, k));
}

/* Only a VFIO device opens through its group: one on no driver, on pcieport or on pci-stub is
 * none, and one on a host driver also blocks its own group. Attach takes only devices on
 * vfio-pci or a variant; whether their group is viable is the kernel's to say, in the job.
 * Answers GroupNotViable (no group; not viable in sysfs) or KernelError ENODEV itself: 1 when
 * the device may go on, 0 when answered. */
static int attach_check_driver(MethodCall *call, const SysfsDevice *d) {
	AuditRecord record;

	if (d->group < 0 || (d->driver_kind != SYSFS_DRIVER_VFIO && !d->viable))
		return reply_group_not_viable(call, d);
	if (d->driver_kind == SYSFS_DRIVER_VFIO)
		return 1;
	record = method_record(call, "attach", "refused", PCI_ADDRESS_TEXT(d->address), 0,
	                       "not on vfio-pci or a variant");
	method_audit_denial(
	        call, &record,
	        "Attach of %s for pid %d uid %u refused: it is on %s, not on vfio-pci or a variant.",
	        record.device, (int) record.pid, (unsigned) record.uid,
	        d->driver[0] ? d->driver : "no driver");
	return method_send(call, message_new_kernel_error(
	                                 "find the device's VFIO driver (bind it to vfio-pci)", -ENODEV));
}

static int reply_device_busy(MethodCall *call, PciAddress address, unsigned attachment) {
	return method_send(call, message_new_device_busy(PCI_ADDRESS_TEXT(address), attachment));
}

/* The method that asks for an attachment of mode, as the log names it. */
static const char *attach_method_name(AttachMode mode) {
	return mode == ATTACH_MODE_CDEV ? "AttachDevice" : "Attach";
}

/* The audit record of an attach in mode (Attach or AttachDevice: both are "attach"). */
static AuditRecord attach_record(const MethodCall *call, AttachMode mode, const char *outcome,
                                 const char *device, unsigned attachment, const char *reason) {
	AuditRecord record = method_record(call, "attach", outcome, device, attachment, reason);

	record.mode = attach_mode_name(mode);
	return record;
}

/* The policy's verdict on the device's whole group: a group fd reaches every member, and in the
 * cdev mode the kernel lets a device bind to an iommufd only when its group's devices are DMA-
 * safe, so the grant is the same. Returns 1 when allowed, 0 when PermissionDenied was answered,
 * -errno. */
static int attach_check_policy(MethodCall *call, AttachMode mode, const SysfsDevice *device) {
	_cleanup_free_ SysfsDevice *members = NULL;
	const char *address = PCI_ADDRESS_TEXT(device->address);
	AuditRecord record;
	size_t n = 0;
	int r = 0;

	if (call->admin)
		return 1;
	if (device->group >= 0)
		r = sysfs_list_group(call->manager->sysfs_fd, device->group, &members, &n);
	if (r < 0)
		return method_send(call, message_new_kernel_error("read sysfs group", r));
	if (policy_allows_group(&call->manager->policy, call->caller, members, n))
		return 1;
	record = attach_record(call, mode, "denied", address, 0, "policy");
	method_audit_denial(call, &record, "%s of %s denied to pid %d uid %u by the policy.",
	                    attach_method_name(mode), address, (int) record.pid, (unsigned) record.uid);
	return method_send(call, message_new_plain_error(VFIOD_ERROR_PERMISSION_DENIED));
}

/* Whether the caller may add a device to the VM that a (one of the VM's attachments; NULL for a
 * VM that has none) belongs to: only the process that holds its attachments, while it lives,
 * admins included (policy_may_join_vm()). A refusal is audited; the caller answers it. */
static bool attach_may_join_vm(MethodCall *call, AttachMode mode, PciAddress address, const Attachment *a) {
	PolicyOwner owner;
	AuditRecord record;

	if (!a)
		return true;
	owner = attachment_owner(a);
	owner.exited = process_has_exited(a->owner_pidfd) != 0;
	if (policy_may_join_vm(call->caller, &owner))
		return true;
	record = attach_record(call, mode, "denied", PCI_ADDRESS_TEXT(address), 0,
	                       "the VM is another process's");
	audit_log(LOG_NOTICE, &record, "%s of %s denied to pid %d uid %u: its VM is attached by pid %d.",
	          attach_method_name(mode), record.device, (int) record.pid, (unsigned) record.uid,
	          (int) a->pid);
	return false;
}

/* Limit attachments-per-user, counted before any kernel work. Returns 1 when within it, 0
 * when LimitExceeded was answered, -errno. */
static int attach_check_limit(MethodCall *call, AttachMode mode, PciAddress address) {
	const char *limit;
	unsigned n = 0, value = 0;
	AuditRecord record;

	for (Attachment *a = call->manager->state.attachments; a; a = a->next)
		n += a->uid == call->caller->uid;
	limit = policy_attachment_limit(&call->manager->policy, n, &value);
	if (!limit)
		return 1;
	record = attach_record(call, mode, "refused", PCI_ADDRESS_TEXT(address), 0,
	                       "limit " POLICY_LIMIT_ATTACHMENTS_PER_USER);
	method_audit_denial(call, &record,
	                    "%s of %s refused to pid %d uid %u: it holds %u attachment(s), limit %s %u.",
	                    attach_method_name(mode), record.device, (int) record.pid, (unsigned) record.uid,
	                    n, limit, value);
	return method_send(call, message_new_limit_exceeded(limit, value));
}

/* Finds the device for an attach in mode and checks it may be attached: it exists, the policy
 * allows the caller its whole group, it is on vfio-pci or a variant, and the caller is within its
 * limit; in the cdev mode, where no group is opened to ask the kernel, its group is viable by
 * sysfs's rule too. Answers the error itself: 1 when it may go on, 0 when answered, -errno. */
static int attach_find_device(MethodCall *call, AttachMode mode, PciAddress address, SysfsDevice *ret) {
	int r = method_find_device(call, address, ret);

	if (r > 0)
		r = attach_check_policy(call, mode, ret);
	if (r > 0)
		r = attach_check_driver(call, ret);
	if (r > 0 && mode == ATTACH_MODE_CDEV && !ret->viable)
		r = reply_group_not_viable(call, ret);
	if (r > 0)
		r = attach_check_limit(call, mode, address);
	return r;
}

/* The reply of an attach: the attachment and copies of the fds it hands out, named by index.
 * In the group mode the group and the container; in the cdev mode the device's cdev and, when
 * pass_iommufd (the VM is new), the VM's iommufd, null otherwise: the caller has it. Replies
 * nothing on failure: the caller undoes the attachment first. */
static int attach_build_reply(const Attachment *a, bool pass_iommufd, json_object **ret, int fds[static 2],
                              size_t *ret_n_fds) {
	bool cdev = a->vm->mode == ATTACH_MODE_CDEV;
	int held[2] = { cdev ? a->device_fd : a->group->fd, cdev ? a->vm->iommu_fd : a->vm->container_fd };
	size_t n = cdev && !pass_iommufd ? 1 : 2;
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "attachment", attachment_to_json(a));
	if (cdev) {
		r |= json_add(p, "deviceFd", json_object_new_int(0));
		r |= json_add_nullable(p, "iommuFd", n == 2 ? json_object_new_int(1) : NULL);
	} else {
		r |= json_add(p, "groupFd", json_object_new_int(0));
		r |= json_add(p, "containerFd", json_object_new_int(1));
	}
	if (r < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		fds[i] = fcntl(held[i], F_DUPFD_CLOEXEC, 3);
		if (fds[i] < 0) {
			r = negative_errno();
			close_many(fds, i);
			return r;
		}
	}
	*ret = TAKE_PTR(p);
	*ret_n_fds = n;
	return 0;
}

/* Raises the caller's RLIMIT_MEMLOCK to the policy's allowance, if it grants one: the DMA
 * mappings the VMM makes through the container, or the pages it pins through an iommufd whose
 * accounting is per process, count against its own limit. */
static int attach_raise_memlock(MethodCall *call, Attachment *a) {
	uint64_t allowance = policy_memlock(&call->manager->policy, call->caller);
	char text[32];
	int r;

	if (allowance == 0)
		return 0;
	r = process_raise_memlock(call->caller->pid, call->connection->peer_pidfd, allowance, &a->memlock);
	if (r < 0)
		return r;
	if (a->memlock == UINT64_MAX)
		(void) snprintf(text, sizeof(text), "infinity");
	else
		(void) snprintf(text, sizeof(text), "%" PRIu64 " bytes", a->memlock);
	log_info("Attachment %u: RLIMIT_MEMLOCK of pid %d is %s (policy allowance %" PRIu64 " bytes).",
	         a->id, (int) call->caller->pid, text, allowance);
	return 0;
}

/* Binds a new attachment to the caller's process, raises its locked-memory limit and builds
 * the reply; on failure the attachment is undone (and freed), so nothing outlives a call that
 * answered an error. */
static int attach_finish(MethodCall *call, Attachment *a, bool pass_iommufd, json_object **ret,
                         int fds[static 2], size_t *ret_n_fds) {
	int owner = fcntl(call->connection->peer_pidfd, F_DUPFD_CLOEXEC, 3);
	const char *operation = "watch the caller";
	int r = owner < 0 ? negative_errno() : lifecycle_watch_owner(call->manager, a, owner);

	if (r >= 0) {
		operation = "prlimit(RLIMIT_MEMLOCK)";
		r = attach_raise_memlock(call, a);
	}
	if (r >= 0) {
		operation = "prepare the Attach reply";
		r = attach_build_reply(a, pass_iommufd, ret, fds, ret_n_fds);
	}
	if (r < 0) {
		lifecycle_commit(call->manager, &(Change){ .detach = a }, "%s", "");
		return r == -ENOMEM ? r : method_send(call, message_new_kernel_error(operation, r));
	}
	return 1;
}

static int attach_reply_failure(MethodCall *call, const SysfsDevice *device, const AttachFailure *failure,
                                int r) {
	switch (failure->kind) {
	case ATTACH_FAILURE_BUSY:
		return reply_device_busy(call, device->address, failure->attachment);
	case ATTACH_FAILURE_NOT_VIABLE:
		return reply_group_not_viable(call, device);
	default:
		if (r == -ENOMEM)
			return r;
		return method_send(call, message_new_kernel_error(failure->operation ?: "attach", r));
	}
}

/* Audits and answers an attach the state model or the kernel refused. */
static int attach_refused(MethodCall *call, AttachMode mode, const SysfsDevice *device,
                          const AttachFailure *failure, int r) {
	const char *address = PCI_ADDRESS_TEXT(device->address);
	AuditRecord record;

	/* Audited, with its blockers and their drivers, where it is answered. */
	if (failure->kind == ATTACH_FAILURE_NOT_VIABLE)
		return reply_group_not_viable(call, device);
	record = attach_record(call, mode, failure->kind == ATTACH_FAILURE_KERNEL ? "failed" : "refused",
	                       address, failure->attachment, strerror(-r));
	audit_log(LOG_NOTICE, &record, "%s of %s for pid %d uid %u refused: %s", attach_method_name(mode),
	          address, (int) record.pid, (unsigned) record.uid, strerror(-r));
	return attach_reply_failure(call, device, failure, r);
}

/* The attachment exists: bind it to its process, commit it and answer with its fds. */
static int attach_complete(MethodCall *call, Attachment *a, bool pass_iommufd) {
	json_object *reply = NULL;
	int fds[2] = { -EBADF, -EBADF };
	size_t n_fds = 0;
	AttachMode mode = a->vm->mode;
	PciAddress address = a->address;
	AuditRecord record;
	/* On failure this ends a: what is logged then is taken from it before. */
	int r = attach_finish(call, a, pass_iommufd, &reply, fds, &n_fds);

	if (r <= 0) {
		record = attach_record(call, mode, "failed", PCI_ADDRESS_TEXT(address), 0,
		                       "undone after the kernel steps");
		audit_log(LOG_NOTICE, &record, "%s of %s for pid %d uid %u undone.",
		          attach_method_name(mode), record.device, (int) record.pid, (unsigned) record.uid);
		return r;
	}
	record = attach_record(call, mode, "granted", PCI_ADDRESS_TEXT(a->address), a->id, NULL);
	lifecycle_commit(call->manager,
	                 &(Change){ .record = &record,
	                            .priority = LOG_INFO,
	                            .event = &(Event){ .kind = "attach", .attachment = a },
	                            .sync = true },
	                 "Attachment %u: %s (group %d) to VM %u for pid %d uid %u%s.", a->id, record.device,
	                 a->group->number, a->vm->id, (int) a->pid, (unsigned) a->uid,
	                 mode == ATTACH_MODE_CDEV ? ", cdev mode" : "");
	return connection_reply(call->connection, reply, fds, n_fds);
}

/* An attach whose kernel work runs on a worker, in either mode. */
typedef struct AttachWork {
	CallWork call; /* first */
	AttachMode mode;
	union {
		AttachJob group; /* ATTACH_MODE_GROUP */
		AttachDeviceJob cdev;
	} job;
	SysfsDevice device;
} AttachWork;

static void attach_work_run(WorkerJob *job) {
	AttachWork *w = (AttachWork *) job;

	if (w->mode == ATTACH_MODE_CDEV)
		state_attach_device_run(&w->job.cdev);
	else
		state_attach_run(&w->job.group);
}

/* The state model's end of the work's job. */
static int attach_work_end(AttachWork *w, bool abandon, AttachFailure *ret_failure, Attachment **ret) {
	State *s = &w->call.manager->state;

	if (w->mode == ATTACH_MODE_CDEV)
		return state_attach_device_end(s, &w->job.cdev, abandon, ret_failure, ret);
	return state_attach_end(s, &w->job.group, abandon, ret_failure, ret);
}

static void attach_work_done(WorkerJob *job) {
	AttachWork *w = (AttachWork *) job;
	MethodCall call;
	AttachFailure failure = {};
	Attachment *a = NULL;
	bool resumed = method_resume(&w->call, &call);
	bool pass_iommufd = w->mode == ATTACH_MODE_CDEV && w->job.cdev.new_vm;
	int r = attach_work_end(w, !resumed, &failure, &a);

	if (resumed)
		method_finish(&call, r < 0 ? attach_refused(&call, w->mode, &w->device, &failure, r)
		                           : attach_complete(&call, a, pass_iommufd));
	else if (r == -ECANCELED)
		log_info("%s of %s abandoned: its caller went away while the kernel worked.",
		         attach_method_name(w->mode), PCI_ADDRESS_TEXT(w->device.address));
	manager_wake_parked(w->call.manager);
	free(w);
}

int method_attach(MethodCall *call, const void *params) {
	const AttachParams *in = params;
	_cleanup_free_ AttachWork *w = calloc(1, sizeof(*w));
	AttachFailure failure = {};
	Attachment *a = NULL;
	int r;

	if (!w)
		return -ENOMEM;
	w->mode = ATTACH_MODE_GROUP;
	if ((size_t) in->vm_fd >= call->n_fds)
		return method_send(call, message_new_invalid_parameter("vmFd"));
	r = attach_find_device(call, ATTACH_MODE_GROUP, in->address, &w->device);
	if (r <= 0)
		return r;
	r = call->manager->state.vfio->vm_fd_is_kvm(call->fds[in->vm_fd]);
	if (r <= 0)
		return method_send(call, message_new_plain_error(VFIOD_ERROR_NOT_A_VIRTUAL_MACHINE));
	if (!attach_may_join_vm(call, ATTACH_MODE_GROUP, in->address,
	                        state_find_vm_attachment(&call->manager->state, call->fds[in->vm_fd])))
		return method_send(call, message_new_plain_error(VFIOD_ERROR_PERMISSION_DENIED));
	r = state_attach_begin(&call->manager->state, &w->device, call->fds[in->vm_fd], call->caller->pid,
	                       call->caller->uid, &failure, &w->job.group, &a);
	if (r == -EAGAIN)
		return r;
	if (r < 0)
		return attach_refused(call, ATTACH_MODE_GROUP, &w->device, &failure, r);
	if (r == 0)
		return attach_complete(call, a, false);
	method_submit(call, &w->call, attach_work_run, attach_work_done);
	TAKE_PTR(w);
	return METHOD_PENDING;
}

/* The VM an AttachDevice names by iommuFd: the one this broker handed that iommufd to (the same
 * open file, kcmp), which must have attachments, of the caller's own process, as Attach's VM fd
 * must (an iommufd holds its VMM's guest memory mappings). Returns 1 with *ret; 0 when
 * NotAnIommufd was answered, which says nothing of whose the iommufd is. */
static int attach_device_find_vm(MethodCall *call, PciAddress address, int iommu_fd, Vm **ret) {
	Vm *vm = state_find_iommufd_vm(&call->manager->state, iommu_fd);
	Attachment *a = state_vm_attachment(&call->manager->state, vm);

	if (!a || !attach_may_join_vm(call, ATTACH_MODE_CDEV, address, a))
		return method_send(call, message_new_plain_error(VFIOD_ERROR_NOT_AN_IOMMUFD));
	*ret = vm;
	return 1;
}

int method_attach_device(MethodCall *call, const void *params) {
	const AttachDeviceParams *in = params;
	_cleanup_free_ AttachWork *w = calloc(1, sizeof(*w));
	AttachFailure failure = {};
	Vm *vm = NULL;
	int r;

	if (!w)
		return -ENOMEM;
	w->mode = ATTACH_MODE_CDEV;
	/* The table bounds the index; absent, it is -1 (the row's defaults). */
	if (in->iommu_fd >= 0 && (size_t) in->iommu_fd >= call->n_fds)
		return method_send(call, message_new_invalid_parameter("iommuFd"));
	r = attach_find_device(call, ATTACH_MODE_CDEV, in->address, &w->device);
	if (r <= 0)
		return r;
	if (in->iommu_fd >= 0) {
		r = attach_device_find_vm(call, in->address, call->fds[in->iommu_fd], &vm);
		if (r <= 0)
			return r;
	}
	r = state_attach_device_begin(&call->manager->state, &w->device, vm, call->manager->sysfs_fd,
	                              call->caller->pid, call->caller->uid, &failure, &w->job.cdev);
	if (r == -EAGAIN)
		return r;
	if (r < 0)
		return attach_refused(call, ATTACH_MODE_CDEV, &w->device, &failure, r);
	method_submit(call, &w->call, attach_work_run, attach_work_done);
	TAKE_PTR(w);
	return METHOD_PENDING;
}

/* The attachment a call's {"id"} names, or NULL when NoSuchAttachment was answered (*ret_r). */
static Attachment *find_attachment(MethodCall *call, const IdParams *in, int *ret_r) {
	Attachment *a = state_find_attachment(&call->manager->state, (unsigned) in->id);

	if (!a)
		*ret_r = method_send(call, message_new_no_such_attachment(in->id));
	return a;
}

/* An OpenDevice whose VFIO_GROUP_GET_DEVICE_FD (which opens and resets the device) runs on a
 * worker. */
typedef struct OpenWork {
	CallWork call; /* first */
	OpenJob open;
} OpenWork;

static void open_work_run(WorkerJob *job) {
	state_open_run(&((OpenWork *) job)->open);
}

/* Answers an OpenDevice whose kernel work ended. */
static int open_complete(MethodCall *call, OpenJob *job) {
	_cleanup_json_ json_object *p = NULL;
	const char *operation = NULL;
	int fd = -EBADF, r = state_open_end(&call->manager->state, job, &fd, &operation);
	AuditRecord record;
	Attachment *a;

	if (r == -ENOENT)
		return method_send(call, message_new_no_such_attachment(job->attachment));
	if (r < 0)
		return method_send(call,
		                   message_new_kernel_error(operation ?: "VFIO_GROUP_GET_DEVICE_FD", r));
	a = state_find_attachment(&call->manager->state, job->attachment);
	p = json_object_new_object();
	if (!p || json_add(p, "deviceFd", json_object_new_int(0)) < 0) {
		safe_close(fd);
		return -ENOMEM;
	}
	record = method_record(call, "open", "granted", PCI_ADDRESS_TEXT(a->address), a->id, NULL);
	record.mode = attach_mode_name(a->vm->mode);
	lifecycle_commit(call->manager, &(Change){ .record = &record, .priority = LOG_INFO, .sync = true },
	                 "Attachment %u: device %s opened for pid %d.", a->id, record.device, (int) a->pid);
	return connection_reply(call->connection, TAKE_PTR(p), &fd, 1);
}

static void open_work_done(WorkerJob *job) {
	OpenWork *w = (OpenWork *) job;
	MethodCall call;
	const char *operation = NULL;
	int fd = -EBADF;

	if (method_resume(&w->call, &call))
		method_finish(&call, open_complete(&call, &w->open));
	else if (state_open_end(&w->call.manager->state, &w->open, &fd, &operation) >= 0)
		/* Its process is gone: so is the attachment, once the owner watch runs. */
		safe_close(fd);
	free(w);
}

int method_open_device(MethodCall *call, const void *params) {
	_cleanup_free_ OpenWork *w = calloc(1, sizeof(*w));
	const char *address;
	AuditRecord record;
	PolicyOwner owner;
	Attachment *a;
	int r = 0;

	if (!w)
		return -ENOMEM;
	a = find_attachment(call, params, &r);
	if (!a)
		return r;
	address = PCI_ADDRESS_TEXT(a->address);
	owner = attachment_owner(a);
	owner.exited = process_has_exited(a->owner_pidfd) != 0;
	if (!policy_may_open_device(call->caller, &owner)) {
		record = method_record(call, "open", "denied", address, a->id, "not the attaching process");
		record.mode = attach_mode_name(a->vm->mode);
		method_audit_denial(call, &record, "Attachment %u: opening %s denied to pid %d uid %u.",
		                    a->id, address, (int) record.pid, (unsigned) record.uid);
		return method_send(call, message_new_plain_error(VFIOD_ERROR_PERMISSION_DENIED));
	}
	/* Open already: a second OpenDevice, or any in the cdev mode, whose AttachDevice passed the
	 * device's cdev, and whose device vfiod never opens through a group. DeviceBusy names the
	 * attachment itself; the caller holds the fd. */
	r = state_open_begin(&call->manager->state, a, &w->open);
	if (r == -EBUSY)
		return reply_device_busy(call, a->address, a->id);
	if (r < 0)
		return method_send(call, message_new_kernel_error("fcntl F_DUPFD_CLOEXEC", r));
	method_submit(call, &w->call, open_work_run, open_work_done);
	TAKE_PTR(w);
	return METHOD_PENDING;
}

int method_detach(MethodCall *call, const void *params) {
	PolicyOwner owner;
	PolicyDetach verdict;
	Attachment *a;
	int r = 0;

	a = find_attachment(call, params, &r);
	if (!a)
		return r;
	owner = attachment_owner(a);
	verdict = policy_may_detach(&call->manager->policy, call->caller, &owner);
	if (verdict == POLICY_DETACH_DENIED) {
		AuditRecord record = method_record(call, "detach", "denied", PCI_ADDRESS_TEXT(a->address),
		                                   a->id, "not the owner");
		record.mode = attach_mode_name(a->vm->mode);
		method_audit_denial(call, &record, "Attachment %u: detach denied to pid %d uid %u.", a->id,
		                    (int) record.pid, (unsigned) record.uid);
		return method_send(call, message_new_plain_error(VFIOD_ERROR_PERMISSION_DENIED));
	}
	lifecycle_detach(call->manager, a, verdict == POLICY_DETACH_AS_OWNER ? "request" : "admin",
	                 &call->connection->peer);
	return connection_reply(call->connection, NULL, NULL, 0);
}
