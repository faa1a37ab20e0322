/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/major.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "macro.h"
#include "sysfs.h"
#include "vfio-cdev.h"
#include "vfio.h"

#define VFIO_DEV_DIR   "/dev/vfio"
#define VFIO_CDEV_DIR  VFIO_DEV_DIR "/devices"
#define IOMMU_DEV_PATH "/dev/iommu"

/* Stores the failing operation for the caller's KernelError and returns -errno. */
static int vfio_fail(const char **ret_operation, const char *operation) {
	int r = negative_errno();
	if (ret_operation)
		*ret_operation = operation;
	return r;
}

/* Held by a viability probe from its open to its close, and by every other group open of this
 * process for its open: a group opens once system-wide, and an attach or a driver change that
 * met the probe's open file would take vfiod's own question for someone else's (EBUSY). The
 * file's release runs before close() returns (the last fput of a task's file completes on its
 * return to user space). */
static pthread_mutex_t group_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* /dev/vfio/<group> opened O_RDWR; the caller holds group_open_lock. */
static int group_open_locked(int group, int *ret_fd, const char **ret_operation) {
	char path[sizeof(VFIO_DEV_DIR) + 16];
	int fd;

	if (group < 0)
		return -EINVAL;
	(void) snprintf(path, sizeof(path), VFIO_DEV_DIR "/%d", group);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vfio_fail(ret_operation, "open /dev/vfio/<group>");
	*ret_fd = fd;
	return 0;
}

int vfio_group_open(int group, int *ret_fd, const char **ret_operation) {
	int r;

	(void) pthread_mutex_lock(&group_open_lock);
	r = group_open_locked(group, ret_fd, ret_operation);
	(void) pthread_mutex_unlock(&group_open_lock);
	return r;
}

static int vfio_group_get_viable(int group_fd, bool *ret_viable, const char **ret_operation) {
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return vfio_fail(ret_operation, "VFIO_GROUP_GET_STATUS");
	*ret_viable = status.flags & VFIO_GROUP_FLAGS_VIABLE;
	return 0;
}

/* The open, the question and the close under the lock, so that no open of vfiod's own meets
 * the probe's file. The group's file is closed before the lock is released. */
static int vfio_group_probe_viable(int group, bool *ret_viable, const char **ret_operation) {
	int fd = -EBADF, r;

	(void) pthread_mutex_lock(&group_open_lock);
	r = group_open_locked(group, &fd, ret_operation);
	if (r >= 0)
		r = vfio_group_get_viable(fd, ret_viable, ret_operation);
	fd = safe_close(fd);
	(void) pthread_mutex_unlock(&group_open_lock);
	return r;
}

void vfio_judge_viability(const VfioOps *vfio, SysfsDevice *devices, size_t n) {
	for (size_t i = 0; i < n; i++) {
		bool viable = false;

		if (devices[i].group < 0 || devices[i].viable || sysfs_first_of_group(devices, i) < i)
			continue;
		if (vfio->group_probe_viable(devices[i].group, &viable, NULL) < 0)
			continue;
		for (size_t j = i; j < n; j++)
			if (devices[j].group == devices[i].group)
				devices[j].viable = viable;
	}
}

/* The best IOMMU type the container offers; -ENODEV when it offers neither. */
static int vfio_container_pick_type(int fd, VfioIommuType *ret_type, const char **ret_operation) {
	static const VfioIommuType preferred[] = { VFIO_IOMMU_TYPE1V2, VFIO_IOMMU_TYPE1 };

	for (size_t i = 0; i < ELEMENTSOF(preferred); i++) {
		int r = ioctl(fd, VFIO_CHECK_EXTENSION, (unsigned long) preferred[i]);
		if (r < 0)
			return vfio_fail(ret_operation, "VFIO_CHECK_EXTENSION");
		if (r > 0) {
			*ret_type = preferred[i];
			return 0;
		}
	}
	errno = ENODEV;
	return vfio_fail(ret_operation, "VFIO_CHECK_EXTENSION");
}

static int vfio_container_open(int *ret_fd, VfioIommuType *ret_type, const char **ret_operation) {
	_cleanup_close_ int fd = -EBADF;
	VfioIommuType type;
	int r;

	fd = open(VFIO_DEV_DIR "/vfio", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vfio_fail(ret_operation, "open /dev/vfio/vfio");
	r = ioctl(fd, VFIO_GET_API_VERSION);
	if (r < 0)
		return vfio_fail(ret_operation, "VFIO_GET_API_VERSION");
	if (r != VFIO_API_VERSION) {
		errno = EPROTONOSUPPORT;
		return vfio_fail(ret_operation, "VFIO_GET_API_VERSION");
	}
	r = vfio_container_pick_type(fd, &type, ret_operation);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	*ret_type = type;
	return 0;
}

static int vfio_group_set_container(int group_fd, int container_fd, const char **ret_operation) {
	if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) < 0)
		return vfio_fail(ret_operation, "VFIO_GROUP_SET_CONTAINER");
	return 0;
}

static int vfio_group_unset_container(int group_fd, const char **ret_operation) {
	if (ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER) < 0)
		return vfio_fail(ret_operation, "VFIO_GROUP_UNSET_CONTAINER");
	return 0;
}

static int vfio_container_set_iommu(int container_fd, VfioIommuType type, const char **ret_operation) {
	if (ioctl(container_fd, VFIO_SET_IOMMU, (unsigned long) type) < 0)
		return vfio_fail(ret_operation, "VFIO_SET_IOMMU");
	return 0;
}

static int vfio_group_get_device_fd(int group_fd, PciAddress address, int *ret_fd,
                                    const char **ret_operation) {
	/* The name is a path component in the kernel's lookup: only the strict form of a parsed
	 * address gets there. */
	int fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, PCI_ADDRESS_TEXT(address));
	if (fd < 0)
		return vfio_fail(ret_operation, "VFIO_GROUP_GET_DEVICE_FD");
	/* The kernel opens device fds O_CLOEXEC already; make sure regardless. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = vfio_fail(ret_operation, "fcntl F_SETFD");
		safe_close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Whether the open fd is a character device of major major_number, numbered devnum unless that
 * is 0. */
static bool fd_is_char_device(int fd, unsigned major_number, dev_t devnum) {
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == major_number &&
	       (devnum == 0 || st.st_rdev == devnum);
}

static int vfio_iommufd_open(dev_t devnum, int *ret_fd, const char **ret_operation) {
	struct iommu_option option = { .size = sizeof(option),
		                       .option_id = IOMMU_OPTION_RLIMIT_MODE,
		                       .op = IOMMU_OPTION_OP_SET,
		                       .val64 = 1 };
	_cleanup_close_ int fd = open(IOMMU_DEV_PATH, O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return vfio_fail(ret_operation, VFIO_OPERATION_OPEN_IOMMUFD);
	/* The misc major in any case: sysfs may not say which minor the kernel gave iommufd. */
	if (!fd_is_char_device(fd, MISC_MAJOR, devnum)) {
		errno = ENODEV;
		return vfio_fail(ret_operation, "check " IOMMU_DEV_PATH " (not the iommufd device)");
	}
	/* The kernel takes the option only while the context holds no object. */
	if (ioctl(fd, IOMMU_OPTION, &option) < 0)
		return vfio_fail(ret_operation, "IOMMU_OPTION RLIMIT_MODE");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int vfio_device_cdev_open(const SysfsVfioCdev *cdev, int *ret_fd, const char **ret_operation) {
	char path[sizeof(VFIO_CDEV_DIR) + SYSFS_VFIO_CDEV_NAME_MAX];
	_cleanup_close_ int fd = -EBADF;

	/* cdev->name is "vfio" and digits (sysfs_get_vfio_cdev()): no other path can be made. */
	(void) snprintf(path, sizeof(path), VFIO_CDEV_DIR "/%s", cdev->name);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vfio_fail(ret_operation, VFIO_OPERATION_OPEN_CDEV);
	if (!fd_is_char_device(fd, major(cdev->devnum), cdev->devnum)) {
		errno = ENODEV;
		return vfio_fail(ret_operation, "check " VFIO_CDEV_DIR "/vfioN (not the device's cdev)");
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

bool vfio_iommufd_check(int fd) {
	struct stat node;

	return stat(IOMMU_DEV_PATH, &node) == 0 && S_ISCHR(node.st_mode) &&
	       fd_is_char_device(fd, MISC_MAJOR, node.st_rdev);
}

bool vfio_device_cdev_check(int fd, int root_fd, PciAddress address) {
	SysfsVfioCdev cdev;

	return sysfs_get_vfio_cdev(root_fd, address, &cdev) >= 0 &&
	       fd_is_char_device(fd, major(cdev.devnum), cdev.devnum);
}

bool vfio_container_check(int fd) {
	return ioctl(fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION;
}

bool vfio_group_check(int fd, int group) {
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[sizeof(VFIO_DEV_DIR) + 16];
	struct stat held, node;

	(void) snprintf(path, sizeof(path), VFIO_DEV_DIR "/%d", group);
	return group >= 0 && fstat(fd, &held) == 0 && stat(path, &node) == 0 && S_ISCHR(held.st_mode) &&
	       held.st_rdev == node.st_rdev && ioctl(fd, VFIO_GROUP_GET_STATUS, &status) == 0 &&
	       (status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}

int vm_fd_is_kvm(int fd) {
	char path[64], target[64];
	ssize_t n;

	if (fd < 0)
		return 0;
	/* Every anonymous inode shares one inode, so st_ino cannot tell; the link name can. */
	(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return negative_errno();
	target[n] = '\0';
	return strcmp(target, "anon_inode:kvm-vm") == 0;
}

int vm_fd_same(int fd1, int fd2) {
	pid_t self = getpid();
	long r = syscall(SYS_kcmp, self, self, KCMP_FILE, (unsigned long) fd1, (unsigned long) fd2);

	if (r < 0)
		return negative_errno();
	return r == 0;
}

const VfioOps vfio_kernel = {
	.group_open = vfio_group_open,
	.group_get_viable = vfio_group_get_viable,
	.group_probe_viable = vfio_group_probe_viable,
	.container_open = vfio_container_open,
	.group_set_container = vfio_group_set_container,
	.group_unset_container = vfio_group_unset_container,
	.container_set_iommu = vfio_container_set_iommu,
	.group_get_device_fd = vfio_group_get_device_fd,
	.vm_fd_is_kvm = vm_fd_is_kvm,
	.iommufd_open = vfio_iommufd_open,
	.device_cdev_open = vfio_device_cdev_open,
};
