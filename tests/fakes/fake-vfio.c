/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-vfio.h"
#include "macro.h"

FakeVfio fake_vfio = { .fail_at = FAKE_CALL_NONE, .probe_errno = ENOENT, .gate = -1 };

void fake_vfio_reset(void) {
	fake_vfio = (FakeVfio){ .fail_at = FAKE_CALL_NONE, .probe_errno = ENOENT, .gate = -1 };
}

static int fake_call(FakeVfioCall call, const char **ret_operation, const char *name) {
	__atomic_fetch_add(&fake_vfio.calls[call], 1, __ATOMIC_RELAXED);
	if (fake_vfio.fail_at != call)
		return 0;
	if (ret_operation)
		*ret_operation = name;
	return -fake_vfio.fail_errno;
}

/* A memfd named name, or -errno (the caller's step fails as a kernel call would). */
static int fake_named_fd(const char *name, int *ret_fd) {
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

static int fake_fd(int *ret_fd) {
	return fake_named_fd("fake-vfio", ret_fd);
}

/* Waits at the gate, when there is one. */
static int fake_pass_gate(void) {
	char byte;

	return fake_vfio.gate >= 0 && read(fake_vfio.gate, &byte, 1) != 1 ? -EIO : 0;
}

static int fake_group_open(int group _unused_, int *ret_fd, const char **op) {
	int r = fake_pass_gate();

	if (r >= 0)
		r = fake_call(FAKE_CALL_GROUP_OPEN, op, "open group");
	return r < 0 ? r : fake_fd(ret_fd);
}

static int fake_get_viable(int fd _unused_, bool *ret, const char **op) {
	int r = fake_call(FAKE_CALL_GET_VIABLE, op, "VFIO_GROUP_GET_STATUS");

	*ret = !fake_vfio.not_viable;
	return r;
}

static int fake_probe_viable(int group _unused_, bool *ret, const char **op) {
	int r = fake_call(FAKE_CALL_PROBE_VIABLE, op, "VFIO_GROUP_GET_STATUS");

	if (r < 0)
		return r;
	if (fake_vfio.probe_errno != 0)
		return -fake_vfio.probe_errno;
	*ret = !fake_vfio.not_viable;
	return 0;
}

static int fake_container_open(int *ret_fd, VfioIommuType *ret_type, const char **op) {
	int r = fake_call(FAKE_CALL_CONTAINER_OPEN, op, "open container");

	if (r < 0)
		return r;
	*ret_type = VFIO_IOMMU_TYPE1V2;
	return fake_fd(ret_fd);
}

static int fake_set_container(int group_fd _unused_, int container_fd _unused_, const char **op) {
	return fake_call(FAKE_CALL_SET_CONTAINER, op, "VFIO_GROUP_SET_CONTAINER");
}

static int fake_unset_container(int group_fd _unused_, const char **op) {
	return fake_call(FAKE_CALL_UNSET_CONTAINER, op, "VFIO_GROUP_UNSET_CONTAINER");
}

static int fake_set_iommu(int container_fd _unused_, VfioIommuType type _unused_, const char **op) {
	return fake_call(FAKE_CALL_SET_IOMMU, op, "VFIO_SET_IOMMU");
}

static int fake_get_device_fd(int group_fd _unused_, PciAddress address _unused_, int *ret_fd,
                              const char **op) {
	int r = fake_call(FAKE_CALL_GET_DEVICE_FD, op, "VFIO_GROUP_GET_DEVICE_FD");

	return r < 0 ? r : fake_fd(ret_fd);
}

static int fake_vm_fd_is_kvm(int fd _unused_) {
	return 1;
}

static int fake_iommufd_open(dev_t devnum, int *ret_fd, const char **op) {
	int r = fake_call(FAKE_CALL_IOMMUFD_OPEN, op, VFIO_OPERATION_OPEN_IOMMUFD);

	fake_vfio.iommu_devnum = devnum;
	return r < 0 ? r : fake_named_fd(FAKE_VFIO_IOMMUFD, ret_fd);
}

static int fake_device_cdev_open(const SysfsVfioCdev *cdev, int *ret_fd, const char **op) {
	int r = fake_pass_gate();

	if (r >= 0)
		r = fake_call(FAKE_CALL_CDEV_OPEN, op, VFIO_OPERATION_OPEN_CDEV);
	fake_vfio.cdev = *cdev;
	return r < 0 ? r : fake_named_fd(FAKE_VFIO_CDEV, ret_fd);
}

int fake_vfio_count_open(const char *name) {
	char path[sizeof("/proc/self/fd/") + 256], target[128], want[128];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	/* A memfd's link reads "/memfd:NAME (deleted)". */
	(void) snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	while ((e = readdir(d))) {
		ssize_t k;

		(void) snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		k = readlink(path, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		n += strcmp(target, want) == 0;
	}
	closedir(d);
	return n;
}

const VfioOps fake_vfio_ops = {
	.group_open = fake_group_open,
	.group_get_viable = fake_get_viable,
	.group_probe_viable = fake_probe_viable,
	.container_open = fake_container_open,
	.group_set_container = fake_set_container,
	.group_unset_container = fake_unset_container,
	.container_set_iommu = fake_set_iommu,
	.group_get_device_fd = fake_get_device_fd,
	.vm_fd_is_kvm = fake_vm_fd_is_kvm,
	.iommufd_open = fake_iommufd_open,
	.device_cdev_open = fake_device_cdev_open,
};
