/* SPDX-License-Identifier: LGPL-2.1-or-later */

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
	*s = (State){ .next_vm_id = 1, .next_attachment_id = 1 };
}

void state_done(State *s) {
	while (s->attachments)
		state_detach(s, s->attachments);
}

Attachment *state_find_attachment(State *s, unsigned id) {
	for (Attachment *a = s->attachments; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

Attachment *state_find_attachment_by_address(State *s, PciAddress address) {
	for (Attachment *a = s->attachments; a; a = a->next)
		if (pci_address_equal(a->address, address))
			return a;
	return NULL;
}

Attachment *state_find_attachment_by_group(State *s, int group) {
	for (Attachment *a = s->attachments; a; a = a->next)
		if (a->group->number == group)
			return a;
	return NULL;
}

Group *state_find_group(State *s, int number) {
	for (Group *g = s->groups; g; g = g->next)
		if (g->number == number)
			return g;
	return NULL;
}

Vm *state_find_vm(State *s, int vm_fd) {
	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (vm_fd_same(vm->vm_fd, vm_fd) > 0)
			return vm;
	return NULL;
}

static void vm_free(Vm *vm) {
	if (!vm)
		return;
	safe_close(vm->container_fd);
	safe_close(vm->vm_fd);
	free(vm);
}

static void group_free(Group *g) {
	if (!g)
		return;
	safe_close(g->fd);
	free(g);
}

/* A new VM: our own copy of its fd and a fresh container. Not linked yet. */
static int vm_new(State *s, int vm_fd, Vm **ret, const char **ret_operation) {
	Vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return -ENOMEM;
	vm->container_fd = -EBADF;
	vm->vm_fd = fcntl(vm_fd, F_DUPFD_CLOEXEC, 3);
	if (vm->vm_fd < 0) {
		*ret_operation = "fcntl F_DUPFD_CLOEXEC";
		r = negative_errno();
	} else
		r = vfio_container_open(&vm->container_fd, &vm->iommu_type, ret_operation);
	if (r < 0) {
		vm_free(vm);
		return r;
	}
	vm->id = s->next_vm_id++;
	*ret = vm;
	return 0;
}

/* Opens group number and checks that the kernel finds it viable. Not linked yet. */
static int group_new(int number, Group **ret, AttachFailure *failure) {
	Group *g = calloc(1, sizeof(*g));
	bool viable = false;
	int r;

	if (!g)
		return -ENOMEM;
	g->number = number;
	g->fd = -EBADF;
	r = vfio_group_open(number, &g->fd, &failure->operation);
	if (r >= 0)
		r = vfio_group_get_viable(g->fd, &viable, &failure->operation);
	if (r >= 0 && !viable) {
		failure->kind = ATTACH_FAILURE_NOT_VIABLE;
		r = -EPERM;
	}
	if (r < 0) {
		group_free(g);
		return r;
	}
	*ret = g;
	return 0;
}

/* Puts a new group into vm's container; a VM's first group also sets the IOMMU type, which
 * the kernel accepts only once a group is in the container. */
static int group_join_vm(Group *g, Vm *vm, bool first, const char **ret_operation) {
	int r = vfio_group_set_container(g->fd, vm->container_fd, ret_operation);

	if (r >= 0 && first) {
		r = vfio_container_set_iommu(vm->container_fd, vm->iommu_type, ret_operation);
		if (r < 0)
			(void) vfio_group_unset_container(g->fd, NULL);
	}
	if (r >= 0)
		g->vm = vm;
	return r;
}

static int attachment_new(State *s, const SysfsDevice *device, pid_t pid, uid_t uid, Attachment **ret) {
	Attachment *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->id = s->next_attachment_id++;
	a->address = device->address;
	a->pid = pid;
	a->uid = uid;
	a->since = time(NULL);
	a->owner_pidfd = -EBADF;
	*ret = a;
	return 0;
}

/* Refuses a device whose group belongs to another VM, or that is attached already. */
static int state_check_busy(State *s, const SysfsDevice *device, Vm *vm, AttachFailure *failure) {
	Attachment *a = state_find_attachment_by_address(s, device->address);
	Group *g = state_find_group(s, device->group);

	if (!a && g && g->vm != vm)
		a = state_find_attachment_by_group(s, device->group);
	if (!a)
		return 0;
	failure->kind = ATTACH_FAILURE_BUSY;
	failure->attachment = a->id;
	return -EBUSY;
}

int state_attach(State *s, const SysfsDevice *device, int vm_fd, pid_t pid, uid_t uid,
                 AttachFailure *ret_failure, Attachment **ret) {
	AttachFailure failure = { .kind = ATTACH_FAILURE_KERNEL };
	Vm *vm = state_find_vm(s, vm_fd), *new_vm = NULL;
	Group *g = state_find_group(s, device->group), *new_group = NULL;
	Attachment *a = NULL;
	int r;

	r = state_check_busy(s, device, vm, &failure);
	if (r >= 0 && !g)
		r = group_new(device->group, &new_group, &failure);
	if (r >= 0 && !vm)
		r = vm_new(s, vm_fd, &new_vm, &failure.operation);
	if (r >= 0 && new_group)
		r = group_join_vm(new_group, vm ?: new_vm, !vm, &failure.operation);
	if (r >= 0)
		r = attachment_new(s, device, pid, uid, &a);
	if (r < 0) {
		/* Reverse order: the VM (container) was made after the group was opened. */
		vm_free(new_vm);
		group_free(new_group);
		*ret_failure = failure;
		return r;
	}
	if (new_vm) {
		new_vm->next = s->vms;
		s->vms = vm = new_vm;
	}
	if (new_group) {
		new_group->next = s->groups;
		s->groups = g = new_group;
	}
	a->group = g;
	a->vm = vm;
	g->n_attachments++;
	vm->n_attachments++;
	a->next = s->attachments;
	s->attachments = a;
	*ret = a;
	return 0;
}

int state_open_device(State *s _unused_, Attachment *a, int *ret_fd, const char **ret_operation) {
	int r = vfio_group_get_device_fd(a->group->fd, a->address, ret_fd, ret_operation);

	if (r >= 0)
		a->device_open = true;
	return r;
}

#define UNLINK(head, type, item)                                                                            \
	do {                                                                                                \
		for (type **_p = &(head); *_p; _p = &(*_p)->next)                                           \
			if (*_p == (item)) {                                                                \
				*_p = (item)->next;                                                         \
				break;                                                                      \
			}                                                                                   \
	} while (0)

void state_detach(State *s, Attachment *a) {
	Group *g = a->group;
	Vm *vm = a->vm;

	UNLINK(s->attachments, Attachment, a);
	sd_event_source_disable_unref(a->owner_source);
	safe_close(a->owner_pidfd);
	free(a);
	if (--g->n_attachments == 0) {
		const char *operation = NULL;
		int r = vfio_group_unset_container(g->fd, &operation);
		/* EBUSY while a client still holds a device fd of the group: the kernel keeps the
		 * group in the container until that fd is closed. */
		if (r < 0)
			log_debug_errno(r, "%s on group %d failed: %m", operation, g->number);
		UNLINK(s->groups, Group, g);
		group_free(g);
	}
	if (--vm->n_attachments == 0) {
		UNLINK(s->vms, Vm, vm);
		vm_free(vm);
	}
}

void state_format_time(time_t t, char *buffer, size_t size) {
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buffer, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void) snprintf(buffer, size, "1970-01-01T00:00:00Z");
}

Vm *state_find_vm_by_id(State *s, unsigned id) {
	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (vm->id == id)
			return vm;
	return NULL;
}

int state_restore_vm(State *s, unsigned id, int vm_fd, int container_fd, VfioIommuType type) {
	Vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		safe_close(vm_fd);
		safe_close(container_fd);
		return -ENOMEM;
	}
	*vm = (Vm){
		.id = id, .vm_fd = vm_fd, .container_fd = container_fd, .iommu_type = type, .next = s->vms
	};
	s->vms = vm;
	if (s->next_vm_id <= id)
		s->next_vm_id = id + 1;
	return 0;
}

int state_restore_group(State *s, int number, int fd, Vm *vm) {
	Group *g = calloc(1, sizeof(*g));

	if (!g) {
		safe_close(fd);
		return -ENOMEM;
	}
	*g = (Group){ .number = number, .fd = fd, .vm = vm, .next = s->groups };
	s->groups = g;
	return 0;
}

int state_restore_attachment(State *s, const Attachment *template, Group *g, Vm *vm, int owner_pidfd) {
	Attachment *a = malloc(sizeof(*a));

	if (!a) {
		safe_close(owner_pidfd);
		return -ENOMEM;
	}
	*a = *template;
	a->group = g;
	a->vm = vm;
	a->owner_pidfd = owner_pidfd;
	a->owner_source = NULL;
	a->next = s->attachments;
	s->attachments = a;
	g->n_attachments++;
	vm->n_attachments++;
	if (s->next_attachment_id <= a->id)
		s->next_attachment_id = a->id + 1;
	return 0;
}

void state_prune(State *s) {
	for (Group **p = &s->groups; *p;) {
		Group *g = *p;
		if (g->n_attachments > 0) {
			p = &g->next;
			continue;
		}
		*p = g->next;
		(void) vfio_group_unset_container(g->fd, NULL);
		group_free(g);
	}
	for (Vm **p = &s->vms; *p;) {
		Vm *vm = *p;
		if (vm->n_attachments > 0) {
			p = &vm->next;
			continue;
		}
		*p = vm->next;
		vm_free(vm);
	}
}
