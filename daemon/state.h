/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state model: VMs, their containers, the groups in them and the attachments, and which
 * of them owns each fd. Nothing else in the daemon holds a VFIO or VM fd.
 *
 *   Vm          owns the container fd and a copy of the VM fd, the latter only while the VM
 *               has attachments (a held VM fd keeps the whole VM alive).
 *   Group       owns /dev/vfio/N, opened once system-wide; it sits in one VM's container.
 *   Attachment  one device given to one VM; refers to its Group and Vm, which live as long
 *               as any attachment refers to them. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sysfs.h"
#include "vfio.h"

typedef struct Vm {
	unsigned id;
	int vm_fd;
	int container_fd;
	VfioIommuType iommu_type;
	unsigned n_attachments;
	struct Vm *next;
} Vm;

typedef struct Group {
	int number;
	int fd;
	Vm *vm;
	unsigned n_attachments;
	struct Group *next;
} Group;

typedef struct Attachment {
	unsigned id;
	PciAddress address;
	Group *group;
	Vm *vm;
	pid_t pid;
	uid_t uid;
	time_t since;
	bool device_open;
	uint64_t memlock; /* RLIMIT_MEMLOCK the owner was raised to, UINT64_MAX unlimited; 0 none */
	int owner_pidfd;  /* the process that asked; see manager_watch_owner() */
	struct sd_event_source *owner_source;
	struct Attachment *next;
} Attachment;

typedef struct State {
	Vm *vms;
	Group *groups;
	Attachment *attachments;
	unsigned next_vm_id;
	unsigned next_attachment_id;
} State;

/* Why an attach failed, for the handler to choose the Varlink error. */
typedef enum AttachFailureKind {
	ATTACH_FAILURE_NONE,
	ATTACH_FAILURE_BUSY,       /* device or group held by another attachment: .attachment */
	ATTACH_FAILURE_NOT_VIABLE, /* the kernel says the group is not viable */
	ATTACH_FAILURE_KERNEL,     /* .operation failed with the returned -errno */
} AttachFailureKind;

typedef struct AttachFailure {
	AttachFailureKind kind;
	const char *operation;
	unsigned attachment;
} AttachFailure;

void state_init(State *s);

/* Releases every attachment, group and VM, closing their fds. */
void state_done(State *s);

Attachment *state_find_attachment(State *s, unsigned id);
Attachment *state_find_attachment_by_address(State *s, PciAddress address);
/* The first attachment holding group number, NULL when the group is free. */
Attachment *state_find_attachment_by_group(State *s, int group);

/* The known VM whose held fd is the same open file as vm_fd, NULL when new. */
Vm *state_find_vm(State *s, int vm_fd);

/* The privileged half of QEMU's attach sequence for device (already found in sysfs and
 * checked viable there) on the VM of vm_fd (borrowed; the state keeps its own copy), for
 * the process pid/uid. Opens the group once, checks viability with the kernel, puts the
 * group in the VM's container, creating the container with the best IOMMU type on the VM's
 * first attachment. Any failure undoes the steps taken, in reverse, returns -errno and fills
 * *ret_failure. On success returns 0 and the new attachment (owned by the state). */
int state_attach(State *s, const SysfsDevice *device, int vm_fd, pid_t pid, uid_t uid,
                 AttachFailure *ret_failure, Attachment **ret);

/* Opens the device of attachment a: a new fd the caller owns. */
int state_open_device(State *s, Attachment *a, int *ret_fd, const char **ret_operation);

/* Ends attachment a: the group leaves the container and closes when no other attachment
 * holds it, the VM's container and VM fd close when its last attachment goes. */
void state_detach(State *s, Attachment *a);

/* Restoring state saved in systemd's fd store (persist.c). Each takes its fds. */
Vm *state_find_vm_by_id(State *s, unsigned id);
Group *state_find_group(State *s, int number);
int state_restore_vm(State *s, unsigned id, int vm_fd, int container_fd, VfioIommuType type);
int state_restore_group(State *s, int number, int fd, Vm *vm);
/* The attachment keeps owner_pidfd in a->owner_pidfd for the caller to watch. */
int state_restore_attachment(State *s, const Attachment *template, Group *g, Vm *vm, int owner_pidfd);
/* Releases the VMs and groups no attachment refers to. */
void state_prune(State *s);

/* "2026-11-24T21:30:07Z" into buffer (at least 21 bytes). */
void state_format_time(time_t t, char *buffer, size_t size);
