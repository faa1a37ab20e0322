/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state model: VMs, their containers, the groups in them and the attachments, and which
 * of them owns each long-lived fd. It lives on the event loop; the kernel work of a change
 * runs on a worker thread (worker.h) between a *_begin() and an *_end() that are called on the
 * loop, while the records it touches are reserved (busy).
 *
 *   Vm          in the group mode (Attach), owns the container fd and a copy of the VM fd,
 *               the latter only while the VM has attachments (a held VM fd keeps the whole VM
 *               alive); in the cdev mode (AttachDevice), owns the iommufd it handed out, which
 *               is what names the VM.
 *   Group       in the group mode, owns /dev/vfio/N, opened once system-wide; it sits in one
 *               VM's container. In the cdev mode it owns no fd and only records which VM the
 *               group's devices went to: a group's devices go to one VM, in either mode.
 *   Attachment  one device given to one VM; refers to its Group and Vm, which live as long
 *               as any attachment or job refers to them. In the cdev mode it owns the
 *               daemon's copy of the device's cdev.
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

/* How an attachment hands its device out (doc/protocol.md): the legacy group and container
 * (Attach), or the device's vfio cdev and an iommufd (AttachDevice). A VM has one mode. */
typedef enum AttachMode {
	ATTACH_MODE_GROUP,
	ATTACH_MODE_CDEV,
} AttachMode;

/* The mode as the Attachment's "mode", the fd store's description and the audit trail name it. */
static inline const char *attach_mode_name(AttachMode mode) {
	return mode == ATTACH_MODE_CDEV ? "cdev" : "group";
}

typedef struct Vm {
	unsigned id;
	AttachMode mode;
	int vm_fd;        /* group mode */
	int container_fd; /* group mode; -EBADF while a job creates it */
	int iommu_fd;     /* cdev mode; -EBADF while a job opens it */
	VfioIommuType iommu_type;
	unsigned n_attachments;
	unsigned n_jobs; /* jobs that hold the record (and a dup of its container) */
	bool busy;       /* a job is creating its container or iommufd: other attaches to it wait */
	struct Vm *next;
} Vm;

typedef struct Group {
	int number;
	int fd; /* -EBADF while a job opens it, after a job took it to release it, and in cdev mode */
	Vm *vm; /* NULL while reserved for a driver change */
	unsigned n_attachments;
	unsigned n_jobs; /* AttachDevice jobs that will attach a device of it: it stays meanwhile */
	bool busy;       /* a job opens, joins, releases it or changes a member's driver: calls wait */
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
	bool device_open; /* OpenDevice answered, or running; always in the cdev mode */
	int device_fd;    /* cdev mode: the daemon's copy of the device's cdev; else -EBADF */
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
/* The attachment of the device at address, NULL when it has none. */
Attachment *state_find_attachment_by_address(State *s, PciAddress address);
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

/* AttachDevice: the cdev mode's attach of device (found in sysfs and checked viable there) to
 * vm, a cdev-mode VM found by the iommufd it was handed (state_find_iommufd_vm()), or to a new
 * VM (vm NULL), for the process pid/uid. The kernel work runs in state_attach_device_run(), on
 * any thread, touching nothing but the job: for a new VM, open /dev/iommu and charge what is
 * pinned through it to the pinning process (VfioOps.iommufd_open); then find the device's cdev
 * in sysfs and open it (VfioOps.device_cdev_open). */
typedef struct AttachDeviceJob {
	const VfioOps *vfio;
	int sysfs_fd; /* the daemon's sysfs root, open as long as it runs: not the job's */
	PciAddress address;
	bool new_vm;           /* open an iommufd for a new VM */
	int iommu_fd;          /* out, for a new VM */
	int device_fd;         /* out */
	int result;            /* out: 0 or -errno */
	AttachFailure failure; /* out */
	/* The loop's side: the records held and who asked. */
	Vm *vm;
	Group *group;
	pid_t pid;
	uid_t uid;
} AttachDeviceJob;

/* Decides, on the loop, what an AttachDevice needs. Returns 1 when *job was planned and its VM
 * and group are held (a new VM or group reserved) until state_attach_device_end(); -EAGAIN when
 * a job holds the group (call again once it ended); other -errno with *ret_failure
 * (ATTACH_FAILURE_BUSY: the device is attached already, or its group is another VM's, in
 * either mode). There is always kernel work: every device has a cdev of its own. */
int state_attach_device_begin(State *s, const SysfsDevice *device, Vm *vm, int sysfs_fd, pid_t pid,
                              uid_t uid, AttachFailure *ret_failure, AttachDeviceJob *job);
void state_attach_device_run(AttachDeviceJob *job);
/* Applies the job's outcome on the loop, as state_attach_end() does: 0 with *ret, an
 * attachment whose device counts as open, holding the cdev (and its VM the iommufd); or the
 * job's -errno with *ret_failure, everything it made undone (-ECANCELED when abandoned). */
int state_attach_device_end(State *s, AttachDeviceJob *job, bool abandon, AttachFailure *ret_failure,
                            Attachment **ret);

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

/* Detach: unlinks attachment a at once. What the kernel must let go of is *job's: a's cdev
 * (cdev mode); when a was its group's last, the group's release (out of its container and
 * closed, group mode); and with the VM's last, the VM's fds (container and VM fd, or iommufd).
 * Returns 1 with a job to run, keeping a released group reserved until state_release_end();
 * 0 when nothing is left to do. */
typedef struct ReleaseJob {
	const VfioOps *vfio;
	int group_fd, device_fd, container_fd, iommu_fd, vm_fd; /* the job's; -EBADF for none */
	int group_number;                                       /* the group released, -1 for none */
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
/* An attachment of vm, NULL when it has none (only jobs). */
Attachment *state_vm_attachment(State *s, const Vm *vm);
/* The cdev-mode VM whose iommufd is the same open file as fd (kcmp), NULL when none is. */
Vm *state_find_iommufd_vm(State *s, int fd);

/* Reserves group number for a driver change (Bind, Unbind): calls that need it wait until
 * state_group_unreserve(). Returns 0, -EAGAIN when a job holds it, -EBUSY when attached (with
 * *ret_attachment). */
int state_group_reserve(State *s, int number, Group **ret, unsigned *ret_attachment);
void state_group_unreserve(State *s, Group *g);

/* Restoring state saved in systemd's fd store (persist.c). Each takes its fds. */
Vm *state_find_vm_by_id(State *s, unsigned id);
int state_restore_vm(State *s, unsigned id, int vm_fd, int container_fd, VfioIommuType type);
/* A cdev-mode VM and the iommufd that names it. */
int state_restore_iommufd_vm(State *s, unsigned id, int iommu_fd);
/* fd is -EBADF for a group of a cdev-mode VM. */
int state_restore_group(State *s, int number, int fd, Vm *vm);
/* The attachment keeps owner_pidfd in a->owner_pidfd for the caller to watch, and device_fd, its
 * cdev (-EBADF in the group mode). */
int state_restore_attachment(State *s, const Attachment *template, Group *g, Vm *vm, int owner_pidfd,
                             int device_fd);
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
