/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state model: VMs, their containers, the groups in them and the attachments, and which
 * of them owns each long-lived fd. It lives on the event loop; the kernel work of a change
 * runs on a worker thread (worker.h) between a *_begin() and an *_end() that are called on the
 * loop, while the records it touches are reserved (busy).
 *
 *   Vm          owns the container fd and a copy of the VM fd, the latter only while the VM
 *               has attachments (a held VM fd keeps the whole VM alive).
 *   Group       owns /dev/vfio/N, opened once system-wide; it sits in one VM's container.
 *   Attachment  one device given to one VM; refers to its Group and Vm, which live as long
 *               as any attachment or job refers to them.
 *
 * Besides these, a job owns the fds it was given (dups) until its *_end(); the owner watch of
 * an attachment (an sd-event source on its pidfd) is the lifecycle's (lifecycle.c). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "policy.h"
#include "sysfs.h"
#include "vfio.h"

typedef struct Vm {
	unsigned id;
	int vm_fd;
	int container_fd; /* -EBADF while a job creates it */
	VfioIommuType iommu_type;
	unsigned n_attachments;
	unsigned n_jobs; /* jobs that hold the record (and a dup of its container) */
	bool busy;       /* a job is creating its container: other attaches to it wait */
	struct Vm *next;
} Vm;

typedef struct Group {
	int number;
	int fd; /* -EBADF while a job opens it or after a job took it to release it */
	Vm *vm; /* NULL while reserved for a driver change */
	unsigned n_attachments;
	bool busy; /* a job opens, joins, releases it or changes a member's driver: calls wait */
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
	bool device_open; /* OpenDevice answered, or running */
	uint64_t memlock; /* RLIMIT_MEMLOCK the owner was raised to, UINT64_MAX unlimited; 0 none */
	int owner_pidfd;  /* the process that asked; see lifecycle_watch_owner() */
	/* The owner entry: attachments whose owner pidfds are one open file (made on one
	 * connection) share it, and the fd store keeps that file once (persist.c). 0: none yet. */
	unsigned owner;
	struct sd_event_source *owner_source;
	struct Attachment *next;
} Attachment;

/* Who holds a, as the policy's decisions about it take it (exited left for the caller). */
static inline PolicyOwner attachment_owner(const Attachment *a) {
	return (PolicyOwner){ .pid = a->pid, .uid = a->uid };
}

typedef struct State {
	const VfioOps *vfio; /* &vfio_kernel; tests put a fake kernel here */
	Vm *vms;
	Group *groups;
	Attachment *attachments;
	/* Ids are handed out in order and never again, also across restarts (persist.c). */
	unsigned next_vm_id;
	unsigned next_attachment_id;
	unsigned next_owner_id;
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

/* Releases every attachment, group and VM, closing their fds (on the calling thread). */
void state_done(State *s);

Attachment *state_find_attachment(State *s, unsigned id);
/* The first attachment holding group number, NULL when the group is free. */
Attachment *state_find_attachment_by_group(State *s, int group);
Group *state_find_group(State *s, int number);

/* Attach: the privileged half of QEMU's attach sequence for device (already found in sysfs,
 * on vfio-pci or a variant) on the VM of vm_fd, for the process pid/uid. The kernel work
 * (open the group once, check its viability with the kernel, whose answer decides whatever
 * sysfs showed, put it in the VM's container, creating the container with the best IOMMU
 * type on the VM's first group) runs in state_attach_run(), on any thread; it touches
 * nothing but the job. */
typedef struct AttachJob {
	const VfioOps *vfio;
	int group_number;
	int container_fd;         /* a dup of the VM's container, or -EBADF: make one */
	int group_fd;             /* out */
	int new_container_fd;     /* out, when container_fd was -EBADF */
	VfioIommuType iommu_type; /* out, for a new container */
	int result;               /* out: 0 or -errno */
	AttachFailure failure;    /* out */
	/* The loop's side: the records reserved and who asked. */
	Vm *vm;
	Group *group;
	PciAddress address;
	pid_t pid;
	uid_t uid;
} AttachJob;

/* Decides, on the loop, what an attach needs. Returns 0 with *ret when it needed no kernel
 * work (a group the VM has already); 1 when *job was planned and its group and VM reserved:
 * run it with state_attach_run() and finish with state_attach_end(); -EAGAIN when a job holds
 * the group or the VM (call again once it ended); other -errno with *ret_failure (busy for
 * another VM: ATTACH_FAILURE_BUSY). */
int state_attach_begin(State *s, const SysfsDevice *device, int vm_fd, pid_t pid, uid_t uid,
                       AttachFailure *ret_failure, AttachJob *job, Attachment **ret);
void state_attach_run(AttachJob *job);
/* Applies a job's outcome on the loop and frees its reservations. With abandon (the caller
 * went away meanwhile) everything the job made is undone. Returns 0 with *ret, or the job's
 * -errno with *ret_failure (also -ECANCELED when abandoned). Any failure undoes the steps
 * taken, in reverse order. */
int state_attach_end(State *s, AttachJob *job, bool abandon, AttachFailure *ret_failure, Attachment **ret);

/* OpenDevice: VFIO_GROUP_GET_DEVICE_FD, which opens (and resets) the device in the kernel. */
typedef struct OpenJob {
	const VfioOps *vfio;
	int group_fd; /* a dup, owned by the job */
	PciAddress address;
	unsigned attachment;
	int device_fd;         /* out */
	int result;            /* out */
	const char *operation; /* out, on failure */
} OpenJob;

/* Marks a's device open and plans *job. Returns 0, -EBUSY when it is open already. */
int state_open_begin(State *s, Attachment *a, OpenJob *job);
void state_open_run(OpenJob *job);
/* Returns 0 with the new device fd (the caller's), or -errno with *ret_operation;
 * -ENOENT when the attachment ended meanwhile (the fd is closed). */
int state_open_end(State *s, OpenJob *job, int *ret_fd, const char **ret_operation);

/* Detach: unlinks attachment a at once. When it was its group's last, the group's release
 * (out of its container, closed, and the VM's fds with its last group) is *job's: returns 1
 * and keeps the group reserved until state_release_end(); 0 when nothing is left to do. */
typedef struct ReleaseJob {
	const VfioOps *vfio;
	int group_fd, container_fd, vm_fd; /* owned by the job; -EBADF for none */
	int group_number;
	const char *operation; /* out: a failed VFIO_GROUP_UNSET_CONTAINER, for the log */
	int result;
} ReleaseJob;

int state_detach(State *s, Attachment *a, ReleaseJob *job);
void state_release_run(ReleaseJob *job);
void state_release_end(State *s, ReleaseJob *job);
/* All three at once, on the calling thread (shutdown, restore, tests). */
void state_detach_now(State *s, Attachment *a);

/* An attachment of the VM whose fd is the same open file as vm_fd (kcmp), NULL when that VM
 * has none. Every attachment of a VM belongs to one process (method_attach()). */
Attachment *state_find_vm_attachment(State *s, int vm_fd);

/* Reserves group number for a driver change (Bind, Unbind): calls that need it wait until
 * state_group_unreserve(). Returns 0, -EAGAIN when a job holds it, -EBUSY when attached (with
 * *ret_attachment). */
int state_group_reserve(State *s, int number, Group **ret, unsigned *ret_attachment);
void state_group_unreserve(State *s, Group *g);

/* Restoring state saved in systemd's fd store (persist.c). Each takes its fds. */
Vm *state_find_vm_by_id(State *s, unsigned id);
int state_restore_vm(State *s, unsigned id, int vm_fd, int container_fd, VfioIommuType type);
int state_restore_group(State *s, int number, int fd, Vm *vm);
/* The attachment keeps owner_pidfd in a->owner_pidfd for the caller to watch. */
int state_restore_attachment(State *s, const Attachment *template, Group *g, Vm *vm, int owner_pidfd);
/* Raises the next ids to at least these, so that ids below them (handed out before a restart,
 * restored or not) are never handed out again. */
void state_reserve_ids(State *s, unsigned next_vm, unsigned next_attachment, unsigned next_owner);
/* Gives a, whose owner_pidfd is set, the owner of the attachments whose pidfd is the same
 * open file, or a new owner; an a that has an owner (restored) keeps it. */
void state_assign_owner(State *s, Attachment *a);
/* Releases the VMs and groups no attachment refers to. */
void state_prune(State *s);

/* "2026-11-24T21:30:07Z" into buffer (at least 21 bytes). */
void state_format_time(time_t t, char *buffer, size_t size);
