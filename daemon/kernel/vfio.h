/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel boundary: the only code that opens /dev/vfio and /dev/iommu or issues VFIO and
 * iommufd ioctls, and the checks on the KVM VM fds clients pass. Each function returns 0 (or a
 * value) or -errno, and names the kernel operation that failed in *ret_operation (for
 * KernelError). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pci.h"
#include "sysfs.h"

/* The IOMMU types a container can get, best first. */
typedef enum VfioIommuType {
	VFIO_IOMMU_NONE = 0,
	VFIO_IOMMU_TYPE1 = 1,   /* VFIO_TYPE1_IOMMU */
	VFIO_IOMMU_TYPE1V2 = 3, /* VFIO_TYPE1v2_IOMMU */
} VfioIommuType;

/* The operations a KernelError names when the cdev mode finds no node to open: a kernel without
 * CONFIG_IOMMUFD has no /dev/iommu, one without CONFIG_VFIO_DEVICE_CDEV no device cdevs. */
#define VFIO_OPERATION_OPEN_IOMMUFD "open /dev/iommu"
#define VFIO_OPERATION_OPEN_CDEV    "open /dev/vfio/devices/vfioN"

/* Opens /dev/vfio/<group> (O_RDWR|O_CLOEXEC). A group opens once system-wide: -EBUSY while
 * anyone holds it; -ENOENT when no device of the group is bound to vfio-pci or a variant.
 * Waits while this process's group_probe_viable holds the group for its one question, so that
 * vfiod's own question is never taken for someone else's open. */
int vfio_group_open(int group, int *ret_fd, const char **ret_operation);

/* The kernel calls of the state model, as a table: state.c goes through it, so that a unit
 * test can put a fake kernel behind the state model (tests/unit/test-state.c). vfio_kernel
 * is the real one. Each may be called from a worker thread. */
typedef struct VfioOps {
	/* vfio_group_open(). */
	int (*group_open)(int group, int *ret_fd, const char **ret_operation);
	/* VFIO_GROUP_GET_STATUS: *ret_viable is VFIO_GROUP_FLAGS_VIABLE, true when no member's
	 * driver claims the group's DMA ownership for the kernel's DMA API
	 * (iommu_group_dma_owner_claimed() false) or the group is in a container already. */
	int (*group_get_viable)(int group_fd, bool *ret_viable, const char **ret_operation);
	/* The kernel's viability of a group no one holds: /dev/vfio/<group> opened for
	 * VFIO_GROUP_GET_STATUS alone and closed again, all under the lock vfio_group_open()
	 * waits for. -EBUSY while the group is open elsewhere (or a member's cdev is: the kernel
	 * then cannot be asked), -ENOENT when no member is on a VFIO driver, as group_open. */
	int (*group_probe_viable)(int group, bool *ret_viable, const char **ret_operation);
	/* Opens /dev/vfio/vfio, checks VFIO_GET_API_VERSION and picks the best IOMMU type the
	 * kernel offers (TYPE1v2, else TYPE1). The type is set later, once a group is in. */
	int (*container_open)(int *ret_fd, VfioIommuType *ret_type, const char **ret_operation);
	/* VFIO_GROUP_SET_CONTAINER. */
	int (*group_set_container)(int group_fd, int container_fd, const char **ret_operation);
	/* VFIO_GROUP_UNSET_CONTAINER. */
	int (*group_unset_container)(int group_fd, const char **ret_operation);
	/* VFIO_SET_IOMMU, after the first group joined the container. */
	int (*container_set_iommu)(int container_fd, VfioIommuType type, const char **ret_operation);
	/* VFIO_GROUP_GET_DEVICE_FD for the device at address; the new fd is O_CLOEXEC. */
	int (*group_get_device_fd)(int group_fd, PciAddress address, int *ret_fd,
	                           const char **ret_operation);
	/* vm_fd_is_kvm(). */
	int (*vm_fd_is_kvm)(int fd);
	/* The cdev mode. Opens /dev/iommu, checks that it is the iommufd misc device (a character
	 * device of the misc major, numbered devnum unless that is 0) and sets
	 * IOMMU_OPTION_RLIMIT_MODE to 1 while nothing exists in it yet, which the kernel requires:
	 * the memory its users pin is then charged to the pinning process's RLIMIT_MEMLOCK, not to
	 * its user. Setting it takes CAP_SYS_RESOURCE. The new fd is O_CLOEXEC. */
	int (*iommufd_open)(dev_t devnum, int *ret_fd, const char **ret_operation);
	/* Opens the device cdev /dev/vfio/devices/<cdev->name> and checks that it is a character
	 * device numbered cdev->devnum: the node is trusted no further than that. O_CLOEXEC. */
	int (*device_cdev_open)(const SysfsVfioCdev *cdev, int *ret_fd, const char **ret_operation);
} VfioOps;

extern const VfioOps vfio_kernel;

/* Puts the kernel's own answer into the viable of the devices of a listing (sorted or not)
 * whose group sysfs judged not viable, where the kernel can be asked (vfio->group_probe_viable);
 * where it cannot (open elsewhere, no node), sysfs's verdict stays. The groups sysfs judged
 * viable are not asked: there the kernel can only agree (a group it holds not viable with
 * every driver known is claimed by a user of the group file or a member's cdev, which the
 * open answers EBUSY), and not holding them open even for an instant leaves them to the
 * programs that would use them. Runs on a worker. */
void vfio_judge_viability(const VfioOps *vfio, SysfsDevice *devices, size_t n);

/* Checks on fds handed back from systemd's fd store after a restart. They go by what the
 * kernel answers, not by /proc paths, which differ between mount namespaces. */
/* Whether fd is a VFIO container (VFIO_GET_API_VERSION answers). */
bool vfio_container_check(int fd);
/* Whether fd is /dev/vfio/<group> (same device number) and in a container. */
bool vfio_group_check(int fd, int group);

/* Whether fd is /dev/iommu: a character device with the number of that node. */
bool vfio_iommufd_check(int fd);
/* Whether fd is the vfio cdev of the device at address: a character device with the number
 * sysfs under root_fd gives that device's cdev. */
bool vfio_device_cdev_check(int fd, int root_fd, PciAddress address);

/* Whether fd (one a client passed) is a KVM VM: 1 yes, 0 no, -errno on failure. */
int vm_fd_is_kvm(int fd);

/* Whether two fds refer to the same open file (kcmp KCMP_FILE): 1 same, 0 different. */
int vm_fd_same(int fd1, int fd2);
