/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The state model through its kernel seam (VfioOps): a fake kernel answers with memfds and
 * fails on request, so that reference counting, container sharing, busy checks, reservations
 * while a job runs and the reverse-order undo of every failing step are checked without the
 * rig, in both modes (the cdev mode reads a fake sysfs tree for the devices' cdevs). Every
 * case ends with as many fds open as it began with. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "../fakes/fake-sysfs.h"
#include "../fakes/fake-vfio.h"
#include "state.h"
#include "util.h"

/* A memfd standing in for a VM's fd. */
static int vm_standin(void) {
	int fd = memfd_create("test-state", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

typedef struct Fixture {
	State state;
	int vm1, vm2; /* stand-ins for two VMs' fds */
	FakeSysfs *sysfs;
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	fake_vfio_reset();
	state_init(&f->state);
	f->state.vfio = &fake_vfio_ops;
	f->vm1 = vm_standin();
	f->vm2 = vm_standin();
	f->sysfs = fake_sysfs_new();
	assert_non_null(f->sysfs);
	assert_int_equal(fake_sysfs_add_cdev_devices(f->sysfs), 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	state_done(&f->state);
	safe_close(f->vm1);
	safe_close(f->vm2);
	fake_sysfs_free(f->sysfs);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static SysfsDevice device(const char *address, int group) {
	return (SysfsDevice){ .address = test_pci(address), .group = group, .viable = true };
}

/* begin, run and end in a row, as the worker would; returns what the attach came to. */
static int attach(Fixture *f, SysfsDevice d, int vm_fd, AttachFailure *failure, Attachment **ret) {
	AttachJob job;
	int r = state_attach_begin(&f->state, &d, vm_fd, 1, 1000, failure, &job, ret);

	if (r != 1)
		return r;
	state_attach_run(&job);
	return state_attach_end(&f->state, &job, false, failure, ret);
}

/* AttachDevice's begin, run and end in a row, to vm (NULL: a new VM). */
static int attach_device(Fixture *f, SysfsDevice d, Vm *vm, AttachFailure *failure, Attachment **ret) {
	AttachDeviceJob job;
	int r = state_attach_device_begin(&f->state, &d, vm, fake_sysfs_root_fd(f->sysfs), 1, 1000, failure,
	                                  &job);

	if (r != 1)
		return r;
	state_attach_device_run(&job);
	return state_attach_device_end(&f->state, &job, false, failure, ret);
}

static unsigned count_vms(State *s) {
	unsigned n = 0;

	for (Vm *vm = s->vms; vm; vm = vm->next)
		n++;
	return n;
}

static unsigned count_groups(State *s) {
	unsigned n = 0;

	for (Group *g = s->groups; g; g = g->next)
		n++;
	return n;
}

/* The first attach of a VM opens the group, makes a container and sets its IOMMU; a second
 * group joins the same container without a new IOMMU setting; a second device of a group the
 * VM has already costs the kernel nothing. */
static void attaches_share_container_and_group(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL, *c = NULL;

	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), 0);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CONTAINER_OPEN], 1);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_SET_IOMMU], 1);
	assert_int_equal(attach(f, device("0000:02:01.0", 4), f->vm1, &failure, &b), 0);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CONTAINER_OPEN], 1);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_SET_IOMMU], 1);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_SET_CONTAINER], 2);
	assert_ptr_equal(a->vm, b->vm);
	assert_int_equal(attach(f, device("0000:02:02.0", 4), f->vm1, &failure, &c), 0);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_GROUP_OPEN], 2);
	assert_ptr_equal(b->group, c->group);
	assert_int_equal(c->group->n_attachments, 2);
	assert_int_equal(a->vm->n_attachments, 3);
	assert_int_equal(count_vms(&f->state), 1);
	assert_int_equal(count_groups(&f->state), 2);
}

/* A group stays while any attachment holds it, and the VM while it has any: each release
 * comes with the last reference, the group out of its container first. */
static void last_detach_releases(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL, *c = NULL;
	int before;

	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), 0);
	assert_int_equal(attach(f, device("0000:02:01.0", 4), f->vm1, &failure, &b), 0);
	assert_int_equal(attach(f, device("0000:02:02.0", 4), f->vm1, &failure, &c), 0);
	before = test_count_fds();
	state_detach_now(&f->state, b);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_UNSET_CONTAINER], 0);
	assert_int_equal(test_count_fds(), before);
	state_detach_now(&f->state, c);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_UNSET_CONTAINER], 1);
	assert_int_equal(count_groups(&f->state), 1);
	assert_int_equal(test_count_fds(), before - 1); /* the group's fd */
	state_detach_now(&f->state, a);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(count_groups(&f->state), 0);
	assert_int_equal(test_count_fds(), before - 4); /* and the group, container and VM copy */
}

/* A device attached, or a group in another VM's container, is busy for another VM, which
 * gets the attachment holding it and no kernel call. */
static void busy_for_another_vm(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;

	assert_int_equal(attach(f, device("0000:02:01.0", 4), f->vm1, &failure, &a), 0);
	memset(fake_vfio.calls, 0, sizeof(fake_vfio.calls));
	assert_int_equal(attach(f, device("0000:02:02.0", 4), f->vm2, &failure, &b), -EBUSY);
	assert_int_equal(failure.kind, ATTACH_FAILURE_BUSY);
	assert_int_equal(failure.attachment, a->id);
	assert_int_equal(attach(f, device("0000:02:01.0", 4), f->vm1, &failure, &b), -EBUSY);
	for (unsigned i = 0; i < FAKE_N_CALLS; i++)
		assert_int_equal(fake_vfio.calls[i], 0);
	assert_int_equal(count_vms(&f->state), 1);
}

/* Every step that fails is answered with its operation and undone in reverse: no record, no
 * fd left, and the device attachable afterwards. */
static void failing_steps_undo_everything(void **state) {
	static const FakeVfioCall steps[] = { FAKE_CALL_GROUP_OPEN, FAKE_CALL_GET_VIABLE,
		                              FAKE_CALL_CONTAINER_OPEN, FAKE_CALL_SET_CONTAINER,
		                              FAKE_CALL_SET_IOMMU };
	Fixture *f = *state;
	int before = test_count_fds();

	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		AttachFailure failure = {};
		Attachment *a = NULL;

		fake_vfio.fail_at = steps[i];
		fake_vfio.fail_errno = EIO;
		assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), -EIO);
		assert_int_equal(failure.kind, ATTACH_FAILURE_KERNEL);
		assert_non_null(failure.operation);
		assert_null(f->state.attachments);
		assert_int_equal(count_vms(&f->state), 0);
		assert_int_equal(count_groups(&f->state), 0);
		assert_int_equal(test_count_fds(), before);
	}
	/* VFIO_SET_IOMMU failed after the group joined: it was taken out again. */
	assert_int_equal(fake_vfio.calls[FAKE_CALL_UNSET_CONTAINER], 1);
	fake_vfio.fail_at = FAKE_CALL_NONE;
	fake_vfio.not_viable = true;
	{
		AttachFailure failure = {};
		Attachment *a = NULL;
		assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), -EPERM);
		assert_int_equal(failure.kind, ATTACH_FAILURE_NOT_VIABLE);
		fake_vfio.not_viable = false;
		assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), 0);
	}
}

/* While a job works on a group or a new VM, every other call that needs them waits (EAGAIN);
 * the records hold no fd the fd store could take; an abandoned job leaves nothing behind. */
static void reservations_while_a_job_runs(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;
	Group *g = NULL;
	unsigned holder = 0;
	SysfsDevice d = device("0000:00:02.0", 1), other = device("0000:02:01.0", 4);
	AttachJob job;
	int before = test_count_fds();

	assert_int_equal(state_attach_begin(&f->state, &d, f->vm1, 1, 1000, &failure, &job, &a), 1);
	assert_true(f->state.groups->busy && f->state.groups->fd < 0);
	assert_true(f->state.vms->busy && f->state.vms->container_fd < 0);
	/* The same group, or another group of the same new VM: wait. */
	assert_int_equal(attach(f, d, f->vm2, &failure, &b), -EAGAIN);
	assert_int_equal(attach(f, other, f->vm1, &failure, &b), -EAGAIN);
	assert_int_equal(state_group_reserve(&f->state, 1, &g, &holder), -EAGAIN);
	state_attach_run(&job);
	/* The caller went away meanwhile. */
	assert_int_equal(state_attach_end(&f->state, &job, true, &failure, &a), -ECANCELED);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(count_groups(&f->state), 0);
	assert_int_equal(test_count_fds(), before);
	/* And then the group is free for anyone. */
	assert_int_equal(attach(f, d, f->vm2, &failure, &b), 0);
}

/* A detached group stays reserved until its release job ended: nobody opens it meanwhile. */
static void released_group_reserved_until_the_job_ends(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;
	ReleaseJob job;

	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), 0);
	assert_int_equal(state_detach(&f->state, a, &job), 1);
	assert_null(f->state.attachments);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm2, &failure, &b), -EAGAIN);
	state_release_run(&job);
	state_release_end(&f->state, &job);
	assert_int_equal(count_groups(&f->state), 0);
	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm2, &failure, &b), 0);
}

/* OpenDevice: once per attachment; a failure lets the owner try again; the device fd of an
 * attachment that ended meanwhile is closed, not handed out. */
static void open_device_once(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL;
	const char *operation = NULL;
	OpenJob job;
	int fd = -EBADF, before;

	assert_int_equal(attach(f, device("0000:00:02.0", 1), f->vm1, &failure, &a), 0);
	fake_vfio.fail_at = FAKE_CALL_GET_DEVICE_FD;
	fake_vfio.fail_errno = EIO;
	assert_int_equal(state_open_begin(&f->state, a, &job), 0);
	assert_int_equal(state_open_begin(&f->state, a, &(OpenJob){}), -EBUSY);
	state_open_run(&job);
	assert_int_equal(state_open_end(&f->state, &job, &fd, &operation), -EIO);
	assert_string_equal(operation, "VFIO_GROUP_GET_DEVICE_FD");
	assert_false(a->device_open);
	fake_vfio.fail_at = FAKE_CALL_NONE;
	assert_int_equal(state_open_begin(&f->state, a, &job), 0);
	state_open_run(&job);
	assert_int_equal(state_open_end(&f->state, &job, &fd, &operation), 0);
	assert_true(fd >= 0 && a->device_open);
	fd = safe_close(fd);
	/* Detached while the job ran. */
	before = test_count_fds();
	a->device_open = false;
	assert_int_equal(state_open_begin(&f->state, a, &job), 0);
	state_detach_now(&f->state, a);
	state_open_run(&job);
	assert_int_equal(state_open_end(&f->state, &job, &fd, &operation), -ENOENT);
	/* The group, the container and the copy of the VM went with the detach; the job's copy
	 * of the group and the device fd with the job. */
	assert_int_equal(test_count_fds(), before - 3);
}

/* A driver change reserves a free group, is refused for an attached one (naming it), and
 * waits for a reserved one. */
static void driver_change_reserves_the_group(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;
	Group *g = NULL;
	unsigned holder = 0;

	assert_int_equal(state_group_reserve(&f->state, 7, &g, &holder), 0);
	assert_int_equal(attach(f, device("0000:07:00.0", 7), f->vm1, &failure, &b), -EAGAIN);
	assert_int_equal(state_group_reserve(&f->state, 7, &(Group *){ NULL }, &holder), -EAGAIN);
	state_group_unreserve(&f->state, g);
	assert_int_equal(attach(f, device("0000:07:00.0", 7), f->vm1, &failure, &a), 0);
	assert_int_equal(state_group_reserve(&f->state, 7, &g, &holder), -EBUSY);
	assert_int_equal(holder, a->id);
}

/* ---- The cdev mode ---- */

/* The first device of a VM opens an iommufd, the VM's name; a second device of the same group
 * given that VM shares it and the group record, and gets a cdev of its own. Nothing of the
 * group mode is called, and each attachment counts as open. */
static void cdev_devices_of_one_group_share_the_iommufd(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL, *again = NULL;
	int other = vm_standin(), copy;
	OpenJob open;

	assert_int_equal(attach_device(f, device("0000:02:01.0", 4), NULL, &failure, &a), 0);
	assert_int_equal(a->vm->mode, ATTACH_MODE_CDEV);
	assert_true(a->device_open && a->device_fd >= 0 && a->vm->iommu_fd >= 0);
	assert_string_equal(fake_vfio.cdev.name, "vfio1");
	assert_int_equal(fake_vfio.cdev.devnum, makedev(511, 1));
	/* The VM is found by any fd of the same open file as its iommufd, and by nothing else. */
	copy = fcntl(a->vm->iommu_fd, F_DUPFD_CLOEXEC, 3);
	assert_ptr_equal(state_find_iommufd_vm(&f->state, copy), a->vm);
	assert_null(state_find_iommufd_vm(&f->state, other));
	assert_null(state_find_vm_attachment(&f->state, copy));
	assert_int_equal(attach_device(f, device("0000:02:02.0", 4), state_find_iommufd_vm(&f->state, copy),
	                               &failure, &b),
	                 0);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN], 1);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 2);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_GROUP_OPEN] + fake_vfio.calls[FAKE_CALL_CONTAINER_OPEN],
	                 0);
	assert_ptr_equal(a->vm, b->vm);
	assert_ptr_equal(a->group, b->group);
	assert_int_equal(a->group->n_attachments, 2);
	assert_true(a->group->fd < 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 2);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 2); /* the VM's and the copy */
	/* The same device again is busy, for its VM too; OpenDevice has nothing to open. */
	assert_int_equal(attach_device(f, device("0000:02:02.0", 4), a->vm, &failure, &again), -EBUSY);
	assert_int_equal(failure.attachment, b->id);
	assert_int_equal(state_open_begin(&f->state, b, &open), -EBUSY);
	safe_close(copy);
	safe_close(other);
}

/* A group's devices go to one VM, whatever the modes: the daemon refuses before the kernel
 * would, naming the attachment that holds the group, and calls the kernel for nothing. */
static void cdev_and_group_modes_exclude_each_other(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *legacy = NULL, *cdev = NULL, *b = NULL;

	assert_int_equal(attach(f, device("0000:02:01.0", 4), f->vm1, &failure, &legacy), 0);
	assert_int_equal(attach_device(f, device("0000:05:00.0", 5), NULL, &failure, &cdev), 0);
	memset(fake_vfio.calls, 0, sizeof(fake_vfio.calls));
	/* A new VM, or the cdev VM, for the legacy VM's group. */
	assert_int_equal(attach_device(f, device("0000:02:02.0", 4), NULL, &failure, &b), -EBUSY);
	assert_int_equal(failure.kind, ATTACH_FAILURE_BUSY);
	assert_int_equal(failure.attachment, legacy->id);
	assert_int_equal(attach_device(f, device("0000:02:02.0", 4), cdev->vm, &failure, &b), -EBUSY);
	/* The legacy VM, another one, or another cdev VM for the cdev VM's group. */
	failure = (AttachFailure){};
	assert_int_equal(attach(f, device("0000:05:00.1", 5), f->vm1, &failure, &b), -EBUSY);
	assert_int_equal(failure.attachment, cdev->id);
	assert_int_equal(attach(f, device("0000:05:00.1", 5), f->vm2, &failure, &b), -EBUSY);
	assert_int_equal(attach_device(f, device("0000:05:00.1", 5), NULL, &failure, &b), -EBUSY);
	for (unsigned i = 0; i < FAKE_N_CALLS; i++)
		assert_int_equal(fake_vfio.calls[i], 0);
	assert_int_equal(count_vms(&f->state), 2);
	assert_int_equal(count_groups(&f->state), 2);
}

/* A device the kernel made no cdev for (no vfio-dev/ in sysfs) answers the node it cannot
 * open; every failing step is undone, the iommufd opened before it too. */
static void cdev_failures_name_the_node_and_undo(void **state) {
	static const struct {
		const char *address;
		FakeVfioCall fail_at;
		int error;
		const char *operation;
	} cases[] = {
		{ "0000:06:00.0", FAKE_CALL_NONE, ENOENT, VFIO_OPERATION_OPEN_CDEV },
		{ "0000:02:01.0", FAKE_CALL_IOMMUFD_OPEN, ENOENT, VFIO_OPERATION_OPEN_IOMMUFD },
		{ "0000:02:01.0", FAKE_CALL_CDEV_OPEN, EACCES, VFIO_OPERATION_OPEN_CDEV },
	};
	Fixture *f = *state;
	int before = test_count_fds();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		AttachFailure failure = {};
		Attachment *a = NULL;

		fake_vfio.fail_at = cases[i].fail_at;
		fake_vfio.fail_errno = cases[i].error;
		assert_int_equal(attach_device(f, device(cases[i].address, 4), NULL, &failure, &a),
		                 -cases[i].error);
		assert_int_equal(failure.kind, ATTACH_FAILURE_KERNEL);
		assert_string_equal(failure.operation, cases[i].operation);
		assert_null(f->state.attachments);
		assert_int_equal(count_vms(&f->state), 0);
		assert_int_equal(count_groups(&f->state), 0);
		assert_int_equal(test_count_fds(), before);
	}
	assert_int_equal(fake_vfio.calls[FAKE_CALL_IOMMUFD_OPEN], 3);
	assert_int_equal(fake_vfio.calls[FAKE_CALL_CDEV_OPEN], 1);
}

/* A new VM's iommufd is checked against the number sysfs gives /dev/iommu, when it gives one;
 * a device that fails for an existing VM leaves the VM and its attachments as they were. */
static void cdev_iommufd_number_and_second_device_failure(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;

	assert_int_equal(attach_device(f, device("0000:05:00.0", 5), NULL, &failure, &a), 0);
	assert_int_equal(fake_vfio.iommu_devnum, 0);
	assert_int_equal(fake_sysfs_write_file(f->sysfs, "class/misc/iommu/dev", "10:257\n"), 0);
	assert_int_equal(attach_device(f, device("0000:02:01.0", 4), NULL, &failure, &b), 0);
	assert_int_equal(fake_vfio.iommu_devnum, makedev(10, 257));
	fake_vfio.fail_at = FAKE_CALL_CDEV_OPEN;
	fake_vfio.fail_errno = EIO;
	assert_int_equal(attach_device(f, device("0000:05:00.1", 5), a->vm, &failure, &b), -EIO);
	assert_int_equal(a->group->n_attachments, 1);
	assert_true(a->vm->iommu_fd >= 0);
	assert_int_equal(count_vms(&f->state), 2);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 2);
}

/* Each detach closes the daemon's cdev of its device; the VM's last closes the iommufd. The
 * group stays reserved until the release job ended. */
static void cdev_release_closes_the_daemons_copies(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL, *c = NULL;
	ReleaseJob job;

	assert_int_equal(attach_device(f, device("0000:02:01.0", 4), NULL, &failure, &a), 0);
	assert_int_equal(attach_device(f, device("0000:02:02.0", 4), a->vm, &failure, &b), 0);
	state_detach_now(&f->state, a);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 1);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 1);
	assert_int_equal(count_groups(&f->state), 1);
	assert_int_equal(state_detach(&f->state, b, &job), 1);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(attach_device(f, device("0000:02:01.0", 4), NULL, &failure, &c), -EAGAIN);
	state_release_run(&job);
	state_release_end(&f->state, &job);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_CDEV), 0);
	assert_int_equal(fake_vfio_count_open(FAKE_VFIO_IOMMUFD), 0);
	assert_int_equal(count_groups(&f->state), 0);
	/* No group of the cdev mode was ever in a container. */
	assert_int_equal(fake_vfio.calls[FAKE_CALL_UNSET_CONTAINER], 0);
	assert_int_equal(attach_device(f, device("0000:02:01.0", 4), NULL, &failure, &c), 0);
}

/* An AttachDevice whose caller went away while the kernel worked leaves nothing behind; a job
 * adding a device to a group keeps the group and the VM though their last attachment ends
 * meanwhile, and releases them when it fails. */
static void cdev_jobs_abandoned_or_outliving_their_group(void **state) {
	Fixture *f = *state;
	AttachFailure failure = {};
	Attachment *a = NULL, *b = NULL;
	SysfsDevice d = device("0000:02:01.0", 4), other = device("0000:02:02.0", 4);
	AttachDeviceJob job;
	int root = fake_sysfs_root_fd(f->sysfs), before = test_count_fds();

	assert_int_equal(state_attach_device_begin(&f->state, &d, NULL, root, 1, 1000, &failure, &job), 1);
	assert_true(f->state.vms->busy && f->state.groups->busy);
	assert_int_equal(attach_device(f, other, NULL, &failure, &b), -EAGAIN);
	state_attach_device_run(&job);
	assert_int_equal(state_attach_device_end(&f->state, &job, true, &failure, &a), -ECANCELED);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(count_groups(&f->state), 0);
	assert_int_equal(test_count_fds(), before);

	assert_int_equal(attach_device(f, d, NULL, &failure, &a), 0);
	assert_int_equal(state_attach_device_begin(&f->state, &other, a->vm, root, 1, 1000, &failure, &job),
	                 1);
	state_detach_now(&f->state, a);
	assert_int_equal(count_vms(&f->state), 1);
	assert_int_equal(count_groups(&f->state), 1);
	/* The group has no attachment now, only the job for its VM: others wait for its outcome. */
	assert_int_equal(attach_device(f, d, NULL, &failure, &a), -EAGAIN);
	assert_int_equal(attach(f, d, f->vm1, &failure, &a), -EAGAIN);
	state_attach_device_run(&job);
	assert_int_equal(state_attach_device_end(&f->state, &job, false, &failure, &b), 0);
	assert_true(b->vm->iommu_fd >= 0 && !b->group->busy);
	assert_int_equal(b->group->n_attachments, 1);

	assert_int_equal(state_attach_device_begin(&f->state, &d, b->vm, root, 1, 1000, &failure, &job), 1);
	state_detach_now(&f->state, b);
	fake_vfio.fail_at = FAKE_CALL_CDEV_OPEN;
	fake_vfio.fail_errno = EIO;
	state_attach_device_run(&job);
	assert_int_equal(state_attach_device_end(&f->state, &job, false, &failure, &a), -EIO);
	assert_int_equal(count_vms(&f->state), 0);
	assert_int_equal(count_groups(&f->state), 0);
	assert_int_equal(test_count_fds(), before);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(attaches_share_container_and_group),
		T(last_detach_releases),
		T(busy_for_another_vm),
		T(failing_steps_undo_everything),
		T(reservations_while_a_job_runs),
		T(released_group_reserved_until_the_job_ends),
		T(open_device_once),
		T(driver_change_reserves_the_group),
		T(cdev_devices_of_one_group_share_the_iommufd),
		T(cdev_and_group_modes_exclude_each_other),
		T(cdev_failures_name_the_node_and_undo),
		T(cdev_iommufd_number_and_second_device_failure),
		T(cdev_release_closes_the_daemons_copies),
		T(cdev_jobs_abandoned_or_outliving_their_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
