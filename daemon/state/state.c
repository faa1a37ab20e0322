/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "macro.h"
#include "state.h"

void state_init(State *s) {
	assert(s);
	*s = (State){ .vfio = &vfio_kernel, .next_vm_id = 1, .next_attachment_id = 1, .next_owner_id = 1 };
}

Attachment *state_find_attachment(State *s, unsigned id) {
	assert(s);
	for (Attachment *a = s->attachments; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

Attachment *state_find_attachment_by_address(State *s, PciAddress address) {
	assert(s);
	for (Attachment *a = s->attachments; a; a = a->next)
		if (pci_address_equal(a->address, address))
			return a;
	return NULL;
}

Attachment *state_find_attachment_by_group(State *s, int group) {
	assert(s);
	for (Attachment *a = s->attachments; a; a = a->next)
		if (a->group->number == group)
			return a;
	return NULL;
}

Group *state_find_group(State *s, int number) {
	assert(s);
	for (Group *g = s->groups; g; g = g->next)
		if (g->number == number)
			return g;
	return NULL;
}

/* The known group-mode VM whose held fd is the same open file as vm_fd, NULL when new. */
static Vm *state_find_vm(State *s, int vm_fd) {
	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (vm->mode == ATTACH_MODE_GROUP && vm_fd_same(vm->vm_fd, vm_fd) > 0)
			return vm;
	return NULL;
}

Vm *state_find_iommufd_vm(State *s, int fd) {
	assert(s);
	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (vm->mode == ATTACH_MODE_CDEV && vm->iommu_fd >= 0 && vm_fd_same(vm->iommu_fd, fd) > 0)
			return vm;
	return NULL;
}

#define UNLINK(head, type, item)                                                                            \
	do {                                                                                                \
		for (type **_p = &(head); *_p; _p = &(*_p)->next)                                           \
			if (*_p == (item)) {                                                                \
				*_p = (item)->next;                                                         \
				break;                                                                      \
			}                                                                                   \
	} while (0)

static void vm_free(Vm *vm) {
	if (!vm)
		return;
	safe_close(vm->container_fd);
	safe_close(vm->iommu_fd);
	safe_close(vm->vm_fd);
	free(vm);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Vm *, vm_free)

/* Frees vm once nothing refers to it: no attachment, no job. */
static void vm_release_if_unused(State *s, Vm *vm) {
	if (vm->n_attachments > 0 || vm->n_jobs > 0)
		return;
	UNLINK(s->vms, Vm, vm);
	vm_free(vm);
}

static void group_unlink_free(State *s, Group *g) {
	UNLINK(s->groups, Group, g);
	safe_close(g->fd);
	free(g);
}

/* A group no attachment holds, released on the calling thread: out of its container (EBUSY
 * while a client still holds a device fd of the group: the kernel keeps the group in the
 * container until that fd is closed), then closed. */
static void group_drop(State *s, Group *g) {
	const char *operation = NULL;
	int r = g->fd >= 0 && g->vm ? s->vfio->group_unset_container(g->fd, &operation) : 0;

	if (r < 0)
		log_debug_errno(r, "%s on group %d failed: %m", operation, g->number);
	group_unlink_free(s, g);
}

/* A new VM record, reserved until its container or iommufd exists; in the group mode with our
 * own copy of vm_fd. */
static int vm_new_reserved(State *s, AttachMode mode, int vm_fd, Vm **ret) {
	_cleanup_(vm_freep) Vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return -ENOMEM;
	*vm = (Vm){ .id = s->next_vm_id,
		    .mode = mode,
		    .vm_fd = -EBADF,
		    .container_fd = -EBADF,
		    .iommu_fd = -EBADF,
		    .busy = true };
	if (mode == ATTACH_MODE_GROUP) {
		vm->vm_fd = fcntl(vm_fd, F_DUPFD_CLOEXEC, 3);
		if (vm->vm_fd < 0)
			return negative_errno();
	}
	s->next_vm_id++;
	vm->next = s->vms;
	s->vms = vm;
	*ret = TAKE_PTR(vm);
	return 0;
}

/* A group record, reserved (busy) until a job has opened or changed it. */
static Group *group_new_reserved(State *s, int number, Vm *vm) {
	Group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	*g = (Group){ .number = number, .fd = -EBADF, .vm = vm, .busy = true, .next = s->groups };
	s->groups = g;
	return g;
}

/* A new attachment of address to g in vm, linked. */
static int attachment_link(State *s, PciAddress address, Group *g, Vm *vm, pid_t pid, uid_t uid,
                           Attachment **ret) {
	Attachment *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	*a = (Attachment){ .id = s->next_attachment_id++,
		           .address = address,
		           .group = g,
		           .vm = vm,
		           .pid = pid,
		           .uid = uid,
		           .since = time(NULL),
		           .device_fd = -EBADF,
		           .owner_pidfd = -EBADF,
		           .next = s->attachments };
	s->attachments = a;
	g->n_attachments++;
	vm->n_attachments++;
	*ret = a;
	return 0;
}

/* Whether device may be attached to vm (NULL: a new VM) now, in either mode: the daemon refuses
 * what the kernel would, a group whose devices went to another VM (the kernel refuses a group
 * open while a cdev of it is, and the reverse). Returns 0 with *ret_group, the group's record
 * (NULL when there is none); -EAGAIN while a job holds the VM or the group, or holds the group
 * for another VM with no attachment yet (the job's outcome decides); -EBUSY with *ret_failure
 * naming the attachment when the device is attached already, or its group is another VM's. */
static int state_check_attachable(State *s, const SysfsDevice *device, Vm *vm, AttachFailure *ret_failure,
                                  Group **ret_group) {
	Attachment *a = state_find_attachment_by_address(s, device->address);
	Group *g = state_find_group(s, device->group);

	if ((vm && vm->busy) || (g && g->busy))
		return -EAGAIN;
	if (!a && g && g->vm != vm) {
		a = state_find_attachment_by_group(s, device->group);
		if (!a)
			return -EAGAIN;
	}
	if (a) {
		*ret_failure = (AttachFailure){ .kind = ATTACH_FAILURE_BUSY, .attachment = a->id };
		return -EBUSY;
	}
	*ret_group = g;
	return 0;
}

/* A kernel failure of an attach before its job: its operation into *ret_failure, r returned. */
static int attach_fail(AttachFailure *ret_failure, const char *operation, int r) {
	*ret_failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL, .operation = operation };
	return r;
}

int state_attach_begin(State *s, const SysfsDevice *device, int vm_fd, pid_t pid, uid_t uid,
                       AttachFailure *ret_failure, AttachJob *job, Attachment **ret) {
	_cleanup_close_ int container = -EBADF;
	Group *g = NULL;
	Vm *vm;
	int r;

	assert(s);
	assert(device);
	assert(ret_failure);
	assert(job);
	assert(ret);

	vm = state_find_vm(s, vm_fd);
	r = state_check_attachable(s, device, vm, ret_failure, &g);
	if (r < 0)
		return r;
	/* The group is in this VM's container already: nothing for the kernel to do. */
	if (g)
		return attachment_link(s, device->address, g, vm, pid, uid, ret);
	if (vm) {
		container = fcntl(vm->container_fd, F_DUPFD_CLOEXEC, 3);
		if (container < 0)
			return attach_fail(ret_failure, "fcntl F_DUPFD_CLOEXEC", negative_errno());
	} else {
		r = vm_new_reserved(s, ATTACH_MODE_GROUP, vm_fd, &vm);
		if (r < 0)
			return attach_fail(ret_failure, "allocate the group", r);
	}
	g = group_new_reserved(s, device->group, vm);
	if (!g) {
		vm_release_if_unused(s, vm);
		return attach_fail(ret_failure, "allocate the group", -ENOMEM);
	}
	vm->n_jobs++;
	*job = (AttachJob){ .vfio = s->vfio,
		            .group_number = device->group,
		            .container_fd = TAKE_FD(container),
		            .group_fd = -EBADF,
		            .new_container_fd = -EBADF,
		            .vm = vm,
		            .group = g,
		            .address = device->address,
		            .pid = pid,
		            .uid = uid };
	return 1;
}

/* A VM's first group also sets the IOMMU type, which the kernel accepts only once a group is
 * in the container. */
static int attach_join_container(AttachJob *j, const char **op) {
	int container = j->container_fd >= 0 ? j->container_fd : j->new_container_fd;
	int r = j->vfio->group_set_container(j->group_fd, container, op);

	if (r < 0 || j->container_fd >= 0)
		return r;
	r = j->vfio->container_set_iommu(j->new_container_fd, j->iommu_type, op);
	if (r < 0)
		(void) j->vfio->group_unset_container(j->group_fd, NULL);
	return r;
}

/* The kernel steps of an attach, in order; the first failure ends them. */
static int attach_kernel_steps(AttachJob *j, const char **op) {
	bool viable = false;
	int r;

	r = j->vfio->group_open(j->group_number, &j->group_fd, op);
	if (r < 0)
		return r;
	r = j->vfio->group_get_viable(j->group_fd, &viable, op);
	if (r < 0)
		return r;
	if (!viable) {
		j->failure.kind = ATTACH_FAILURE_NOT_VIABLE;
		return -EPERM;
	}
	if (j->container_fd < 0) {
		r = j->vfio->container_open(&j->new_container_fd, &j->iommu_type, op);
		if (r < 0)
			return r;
	}
	return attach_join_container(j, op);
}

void state_attach_run(AttachJob *j) {
	int r;

	assert(j);
	assert(j->vfio);

	j->failure.kind = ATTACH_FAILURE_KERNEL;
	r = attach_kernel_steps(j, &j->failure.operation);
	if (r < 0) {
		/* Reverse order: the container was made after the group was opened. */
		j->new_container_fd = safe_close(j->new_container_fd);
		j->group_fd = safe_close(j->group_fd);
	} else
		j->failure.kind = ATTACH_FAILURE_NONE;
	j->container_fd = safe_close(j->container_fd);
	j->result = r;
}

/* The end of an attach that failed, its group gone: a VM that never got its container goes
 * with the job. */
static int attach_end_failed(State *s, AttachJob *j, AttachFailure *ret_failure, int r) {
	vm_release_if_unused(s, j->vm);
	*ret_failure = j->failure;
	return r;
}

int state_attach_end(State *s, AttachJob *j, bool abandon, AttachFailure *ret_failure, Attachment **ret) {
	Group *g;
	Vm *vm;
	int r;

	assert(s);
	assert(j);
	assert(ret_failure);
	assert(ret);
	/* The records the job reserved in state_attach_begin(). */
	assert(j->vm && j->vm->n_jobs > 0);
	assert(j->group && j->group->busy);

	vm = j->vm;
	g = j->group;
	r = j->result;
	vm->n_jobs--;
	if (r >= 0 && abandon) {
		(void) s->vfio->group_unset_container(j->group_fd, NULL);
		j->failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL, .operation = "abandoned" };
		r = -ECANCELED;
	}
	if (r < 0) {
		j->new_container_fd = safe_close(j->new_container_fd);
		j->group_fd = safe_close(j->group_fd);
		group_unlink_free(s, g);
		return attach_end_failed(s, j, ret_failure, r);
	}
	if (vm->busy) {
		vm->container_fd = TAKE_FD(j->new_container_fd);
		vm->iommu_type = j->iommu_type;
		vm->busy = false;
	}
	g->fd = TAKE_FD(j->group_fd);
	g->busy = false;
	r = attachment_link(s, j->address, g, vm, j->pid, j->uid, ret);
	if (r < 0) {
		j->failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL,
			                      .operation = "allocate the attachment" };
		group_drop(s, g);
		return attach_end_failed(s, j, ret_failure, r);
	}
	return 0;
}

int state_attach_device_begin(State *s, const SysfsDevice *device, Vm *vm, int sysfs_fd, pid_t pid,
                              uid_t uid, AttachFailure *ret_failure, AttachDeviceJob *job) {
	Group *g = NULL;
	int r;

	assert(s);
	assert(device);
	assert(!vm || vm->mode == ATTACH_MODE_CDEV);
	assert(ret_failure);
	assert(job);

	r = state_check_attachable(s, device, vm, ret_failure, &g);
	if (r < 0)
		return r;
	if (!vm) {
		r = vm_new_reserved(s, ATTACH_MODE_CDEV, -EBADF, &vm);
		if (r < 0)
			return attach_fail(ret_failure, "allocate the VM", r);
	}
	if (!g)
		g = group_new_reserved(s, device->group, vm);
	if (!g) {
		vm_release_if_unused(s, vm);
		return attach_fail(ret_failure, "allocate the group", -ENOMEM);
	}
	vm->n_jobs++;
	g->n_jobs++;
	*job = (AttachDeviceJob){ .vfio = s->vfio,
		                  .sysfs_fd = sysfs_fd,
		                  .address = device->address,
		                  .new_vm = vm->busy,
		                  .iommu_fd = -EBADF,
		                  .device_fd = -EBADF,
		                  .vm = vm,
		                  .group = g,
		                  .pid = pid,
		                  .uid = uid };
	return 1;
}

/* A new VM's iommufd, its accounting set to the process before anything exists in it. */
static int attach_device_open_iommufd(AttachDeviceJob *j, const char **op) {
	dev_t devnum = 0;
	int r = sysfs_get_iommu_devnum(j->sysfs_fd, &devnum);

	/* Without the attribute the node is checked by its major alone. */
	if (r < 0 && r != -ENOENT) {
		*op = "read /sys/class/misc/iommu/dev";
		return r;
	}
	return j->vfio->iommufd_open(r < 0 ? 0 : devnum, &j->iommu_fd, op);
}

/* The kernel steps of an AttachDevice, in order; the first failure ends them. */
static int attach_device_kernel_steps(AttachDeviceJob *j, const char **op) {
	SysfsVfioCdev cdev;
	int r;

	if (j->new_vm) {
		r = attach_device_open_iommufd(j, op);
		if (r < 0)
			return r;
	}
	r = sysfs_get_vfio_cdev(j->sysfs_fd, j->address, &cdev);
	if (r < 0) {
		/* No vfio-dev/ in sysfs: the kernel made no cdev for the device, so there is no node
		 * to open (a kernel without CONFIG_VFIO_DEVICE_CDEV). */
		*op = r == -ENOENT ? VFIO_OPERATION_OPEN_CDEV : "read the device's vfio-dev in sysfs";
		return r;
	}
	return j->vfio->device_cdev_open(&cdev, &j->device_fd, op);
}

void state_attach_device_run(AttachDeviceJob *j) {
	assert(j);
	assert(j->vfio);

	j->failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL };
	j->result = attach_device_kernel_steps(j, &j->failure.operation);
	if (j->result >= 0) {
		j->failure.kind = ATTACH_FAILURE_NONE;
		return;
	}
	/* What was opened before the failing step. */
	j->device_fd = safe_close(j->device_fd);
	j->iommu_fd = safe_close(j->iommu_fd);
}

/* The attachment of a job that succeeded, holding the cdev; a new VM gets its iommufd. */
static int attach_device_link(State *s, AttachDeviceJob *j, Attachment **ret) {
	Attachment *a;
	int r = attachment_link(s, j->address, j->group, j->vm, j->pid, j->uid, &a);

	if (r < 0) {
		j->failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL,
			                      .operation = "allocate the attachment" };
		return r;
	}
	if (j->vm->busy) {
		j->vm->iommu_fd = TAKE_FD(j->iommu_fd);
		j->vm->busy = false;
	}
	j->group->busy = false;
	a->device_fd = TAKE_FD(j->device_fd);
	a->device_open = true;
	*ret = a;
	return 0;
}

int state_attach_device_end(State *s, AttachDeviceJob *j, bool abandon, AttachFailure *ret_failure,
                            Attachment **ret) {
	Group *g;
	int r;

	assert(s);
	assert(j);
	assert(ret_failure);
	assert(ret);
	/* The records the job holds since state_attach_device_begin(). */
	assert(j->vm && j->vm->n_jobs > 0);
	assert(j->group && j->group->n_jobs > 0);

	g = j->group;
	r = j->result;
	j->vm->n_jobs--;
	g->n_jobs--;
	if (r >= 0 && abandon) {
		j->failure = (AttachFailure){ .kind = ATTACH_FAILURE_KERNEL, .operation = "abandoned" };
		r = -ECANCELED;
	}
	if (r >= 0)
		r = attach_device_link(s, j, ret);
	if (r < 0) {
		/* The cdev before the iommufd, as a release closes them. */
		j->device_fd = safe_close(j->device_fd);
		j->iommu_fd = safe_close(j->iommu_fd);
		/* A group this job made, or whose attachments ended meanwhile, has no fd to release. */
		if (g->n_attachments == 0 && g->n_jobs == 0)
			group_unlink_free(s, g);
		vm_release_if_unused(s, j->vm);
		*ret_failure = j->failure;
		return r;
	}
	return 0;
}

int state_open_begin(State *s, Attachment *a, OpenJob *job) {
	int fd;

	assert(s);
	assert(a);
	assert(job);

	if (a->device_open)
		return -EBUSY;
	/* The job's own copy: the group's fd may close on the loop meanwhile (a detach). */
	fd = fcntl(a->group->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return negative_errno();
	a->device_open = true;
	*job = (OpenJob){ .vfio = s->vfio,
		          .group_fd = fd,
		          .address = a->address,
		          .attachment = a->id,
		          .device_fd = -EBADF };
	return 0;
}

void state_open_run(OpenJob *j) {
	assert(j);
	assert(j->vfio);
	j->result = j->vfio->group_get_device_fd(j->group_fd, j->address, &j->device_fd, &j->operation);
	j->group_fd = safe_close(j->group_fd);
}

int state_open_end(State *s, OpenJob *j, int *ret_fd, const char **ret_operation) {
	Attachment *a;

	assert(s);
	assert(j);
	assert(ret_fd);
	assert(ret_operation);

	a = state_find_attachment(s, j->attachment);
	if (!a) {
		j->device_fd = safe_close(j->device_fd);
		return -ENOENT;
	}
	if (j->result < 0) {
		a->device_open = false;
		*ret_operation = j->operation;
		return j->result;
	}
	*ret_fd = TAKE_FD(j->device_fd);
	return 0;
}

int state_detach(State *s, Attachment *a, ReleaseJob *job) {
	Group *g;
	Vm *vm;

	assert(s);
	assert(a);
	assert(job);

	g = a->group;
	vm = a->vm;
	/* Closing a cdev may be its last reference, which closes (and resets) the device in the
	 * kernel: the job's, off the loop. */
	*job = (ReleaseJob){ .vfio = s->vfio,
		             .group_fd = -EBADF,
		             .device_fd = TAKE_FD(a->device_fd),
		             .container_fd = -EBADF,
		             .iommu_fd = -EBADF,
		             .vm_fd = -EBADF,
		             .group_number = -1 };
	UNLINK(s->attachments, Attachment, a);
	sd_event_source_disable_unref(a->owner_source);
	safe_close(a->owner_pidfd);
	free(a);
	vm->n_attachments--;
	if (--g->n_attachments == 0 && g->n_jobs == 0) {
		/* The group's last: the job releases it, the record stays reserved until then so
		 * that nobody opens the group (or a cdev of it) again while the kernel still has it
		 * open. */
		job->group_fd = TAKE_FD(g->fd);
		job->group_number = g->number;
		g->busy = true;
		g->vm = NULL;
	}
	if (vm->n_attachments == 0 && vm->n_jobs == 0) {
		/* Closed after the group left the container, as QEMU does. */
		job->container_fd = TAKE_FD(vm->container_fd);
		job->iommu_fd = TAKE_FD(vm->iommu_fd);
		job->vm_fd = TAKE_FD(vm->vm_fd);
		vm_release_if_unused(s, vm);
	}
	return job->device_fd >= 0 || job->group_number >= 0 || job->container_fd >= 0 || job->iommu_fd >= 0;
}

void state_release_run(ReleaseJob *j) {
	assert(j);
	assert(j->vfio);
	j->result = j->group_fd >= 0 ? j->vfio->group_unset_container(j->group_fd, &j->operation) : 0;
	/* What is bound to something goes first: a device before its iommufd, as QEMU closes them. */
	j->group_fd = safe_close(j->group_fd);
	j->device_fd = safe_close(j->device_fd);
	j->container_fd = safe_close(j->container_fd);
	j->iommu_fd = safe_close(j->iommu_fd);
	j->vm_fd = safe_close(j->vm_fd);
}

void state_release_end(State *s, ReleaseJob *j) {
	Group *g;

	assert(s);
	assert(j);

	g = state_find_group(s, j->group_number);
	/* EBUSY while a client still holds a device fd of the group: the kernel keeps the group
	 * in the container until that fd is closed. */
	if (j->result < 0)
		log_debug_errno(j->result, "%s on group %d failed: %m", j->operation, j->group_number);
	if (g && g->busy && !g->vm)
		group_unlink_free(s, g);
}

void state_detach_now(State *s, Attachment *a) {
	ReleaseJob job;

	assert(s);
	assert(a);

	if (state_detach(s, a, &job) > 0) {
		state_release_run(&job);
		state_release_end(s, &job);
	}
}

int state_group_reserve(State *s, int number, Group **ret, unsigned *ret_attachment) {
	Group *g;

	assert(s);
	assert(ret);
	assert(ret_attachment);

	g = state_find_group(s, number);
	if (g && g->busy)
		return -EAGAIN;
	if (g) {
		Attachment *a = state_find_attachment_by_group(s, number);
		*ret_attachment = a ? a->id : 0;
		return -EBUSY;
	}
	g = group_new_reserved(s, number, NULL);
	if (!g)
		return -ENOMEM;
	*ret = g;
	return 0;
}

void state_group_unreserve(State *s, Group *g) {
	assert(s);
	/* A group state_group_reserve() reserved. */
	assert(g && g->busy && !g->vm);
	group_unlink_free(s, g);
}

void state_done(State *s) {
	assert(s);
	while (s->attachments)
		state_detach_now(s, s->attachments);
	/* Records a job still held, had one been left running. */
	while (s->groups)
		group_unlink_free(s, s->groups);
	while (s->vms) {
		Vm *vm = s->vms;
		s->vms = vm->next;
		vm_free(vm);
	}
}

void state_format_time(time_t t, char *buffer, size_t size) {
	struct tm tm;

	assert(buffer);

	if (!gmtime_r(&t, &tm) || strftime(buffer, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void) snprintf(buffer, size, "1970-01-01T00:00:00Z");
}

Attachment *state_vm_attachment(State *s, const Vm *vm) {
	assert(s);
	for (Attachment *a = vm ? s->attachments : NULL; a; a = a->next)
		if (a->vm == vm)
			return a;
	return NULL;
}

Attachment *state_find_vm_attachment(State *s, int vm_fd) {
	assert(s);
	return state_vm_attachment(s, state_find_vm(s, vm_fd));
}

Vm *state_find_vm_by_id(State *s, unsigned id) {
	assert(s);
	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (vm->id == id)
			return vm;
	return NULL;
}

int state_restore_vm(State *s, unsigned id, int _vm_fd, int _container_fd, VfioIommuType type) {
	_cleanup_close_ int vm_fd = TAKE_FD(_vm_fd), container_fd = TAKE_FD(_container_fd);
	Vm *vm;

	assert(s);

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	*vm = (Vm){ .id = id,
		    .mode = ATTACH_MODE_GROUP,
		    .vm_fd = TAKE_FD(vm_fd),
		    .container_fd = TAKE_FD(container_fd),
		    .iommu_fd = -EBADF,
		    .iommu_type = type,
		    .next = s->vms };
	s->vms = vm;
	state_reserve_ids(s, id + 1, 0, 0);
	return 0;
}

int state_restore_iommufd_vm(State *s, unsigned id, int _iommu_fd) {
	_cleanup_close_ int iommu_fd = TAKE_FD(_iommu_fd);
	Vm *vm;

	assert(s);

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	*vm = (Vm){ .id = id,
		    .mode = ATTACH_MODE_CDEV,
		    .vm_fd = -EBADF,
		    .container_fd = -EBADF,
		    .iommu_fd = TAKE_FD(iommu_fd),
		    .next = s->vms };
	s->vms = vm;
	state_reserve_ids(s, id + 1, 0, 0);
	return 0;
}

int state_restore_group(State *s, int number, int _fd, Vm *vm) {
	_cleanup_close_ int fd = TAKE_FD(_fd);
	Group *g;

	assert(s);
	assert(vm);

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (Group){ .number = number, .fd = TAKE_FD(fd), .vm = vm, .next = s->groups };
	s->groups = g;
	return 0;
}

int state_restore_attachment(State *s, const Attachment *template, Group *g, Vm *vm, int _owner_pidfd,
                             int _device_fd) {
	_cleanup_close_ int owner_pidfd = TAKE_FD(_owner_pidfd), device_fd = TAKE_FD(_device_fd);
	Attachment *a;

	assert(s);
	assert(template);
	assert(g);
	assert(vm);

	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = *template;
	a->group = g;
	a->vm = vm;
	a->owner_pidfd = TAKE_FD(owner_pidfd);
	a->device_fd = TAKE_FD(device_fd);
	a->owner_source = NULL;
	a->next = s->attachments;
	s->attachments = a;
	g->n_attachments++;
	vm->n_attachments++;
	state_reserve_ids(s, 0, a->id + 1, a->owner + 1);
	return 0;
}

static void raise_to(unsigned *counter, unsigned value) {
	if (*counter < value)
		*counter = value;
}

void state_reserve_ids(State *s, unsigned next_vm, unsigned next_attachment, unsigned next_owner) {
	assert(s);
	raise_to(&s->next_vm_id, next_vm);
	raise_to(&s->next_attachment_id, next_attachment);
	raise_to(&s->next_owner_id, next_owner);
}

void state_assign_owner(State *s, Attachment *a) {
	assert(s);
	assert(a && a->owner_pidfd >= 0);

	if (a->owner != 0)
		return;
	/* One open file, one owner: systemd's fd store keeps a file only once (it drops a
	 * duplicate by kcmp KCMP_FILE), so attachments sharing it must share its entry. */
	for (Attachment *other = s->attachments; other; other = other->next)
		if (other != a && other->owner != 0 && other->owner_pidfd >= 0 &&
		    vm_fd_same(other->owner_pidfd, a->owner_pidfd) > 0) {
			a->owner = other->owner;
			return;
		}
	a->owner = s->next_owner_id++;
}

void state_prune(State *s) {
	assert(s);
	for (Group *g = s->groups, *next; g; g = next) {
		next = g->next;
		if (g->n_attachments == 0 && !g->busy)
			group_drop(s, g);
	}
	for (Vm *vm = s->vms, *next; vm; vm = next) {
		next = vm->next;
		vm_release_if_unused(s, vm);
	}
}
