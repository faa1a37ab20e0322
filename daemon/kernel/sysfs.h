/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI devices and IOMMU groups as sysfs shows them, and the writes that move a device between
 * drivers. Every path is opened relative to a root dirfd (normally /sys), so unit tests point
 * it at a fake tree. Never logs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pci.h"

#define SYSFS_DRIVER_MAX 64

/* What the driver bound to a device means for VFIO. The kernel's rule (pci_dma_configure(),
 * drivers/pci/pci-driver.c): a driver that does not declare driver_managed_dma uses the
 * kernel's DMA API and claims its IOMMU group's DMA ownership for it, and a group so claimed
 * is not viable (VFIO_GROUP_GET_STATUS, drivers/vfio/group.c). Which drivers declare it is
 * not in sysfs; the classes below are what sysfs can tell. */
typedef enum SysfsDriverKind {
	SYSFS_DRIVER_NONE, /* no driver bound */
	/* vfio-pci or a vfio-pci variant driver (mlx5_vfio_pci, ...), recognised by the kernel's
	 * signs (sysfs_driver_is_vfio()): a VFIO device, the only kind a group fd opens */
	SYSFS_DRIVER_VFIO,
	/* pcieport or pci-stub: they declare driver_managed_dma and make no VFIO device */
	SYSFS_DRIVER_NO_DMA,
	/* any other: uses the kernel's DMA API, so its group is not viable */
	SYSFS_DRIVER_HOST,
} SysfsDriverKind;

typedef struct SysfsDevice {
	PciAddress address;
	int group; /* IOMMU group number, -1 when the device has none */
	uint16_t vendor;
	uint16_t device;
	char driver[SYSFS_DRIVER_MAX]; /* "" when no driver is bound */
	SysfsDriverKind driver_kind;
	/* No member of its group is on a driver of SYSFS_DRIVER_HOST and none is unknown: the
	 * kernel's rule as far as sysfs shows it. vfio_judge_viability() puts the kernel's own
	 * answer here where it can be had. */
	bool viable;
	bool bridge; /* header type 1 or 2 (PCI-to-PCI, CardBus bridge), which vfio-pci never binds */
	/* Entries of its group's devices/ that are no PCI device the daemon can name and read (a
	 * domain above ffff, a non-PCI device): a group fd may reach them, so a group with any is
	 * granted to admins only. */
	unsigned group_unknown;
} SysfsDevice;

/* The index of the first device of devices[0..i] in the IOMMU group of devices[i]: i itself
 * when no earlier device shares it, so that a listing decides each group once. */
size_t sysfs_first_of_group(const SysfsDevice *devices, size_t i);

/* Opens path (normally "/sys") as a directory fd, O_CLOEXEC. Returns 0 and *ret_fd, or -errno. */
int sysfs_open_root(const char *path, int *ret_fd);

/* Reads one device. Returns 0; -ENOENT when no such PCI device exists; other -errno on read
 * failures. */
int sysfs_get_device(int root_fd, PciAddress address, SysfsDevice *ret);

/* Lists every PCI device, sorted by address, in a malloc'd array the caller frees.
 * Returns 0 and sets *ret and *ret_n (an empty list is *ret == NULL, *ret_n == 0), or -errno. */
int sysfs_list_devices(int root_fd, SysfsDevice **ret, size_t *ret_n);

/* Lists the members of IOMMU group `group`, sorted by address, like sysfs_list_devices; the
 * members it cannot list are counted in each member's group_unknown. */
int sysfs_list_group(int root_fd, int group, SysfsDevice **ret, size_t *ret_n);

/* A device's vfio cdev, /dev/vfio/devices/vfioN, as sysfs names it: its node's name ("vfio" and
 * the kernel's decimal index, nothing else) and its device number. */
#define SYSFS_VFIO_CDEV_NAME_MAX 16
typedef struct SysfsVfioCdev {
	char name[SYSFS_VFIO_CDEV_NAME_MAX];
	dev_t devnum;
} SysfsVfioCdev;

/* The vfio cdev of the device at address: the one entry of the device's vfio-dev/ directory,
 * which the kernel makes while a VFIO driver holds the device on a kernel built with
 * CONFIG_VFIO_DEVICE_CDEV (Linux 6.6 and later), and the "MAJOR:MINOR" of that entry's dev file.
 * Returns 0; -ENOENT when there is no such device, no vfio-dev/ or nothing in it (no cdev);
 * -EBADMSG for an entry of another name, a second entry or a malformed dev file; other -errno. */
int sysfs_get_vfio_cdev(int root_fd, PciAddress address, SysfsVfioCdev *ret);

/* The device number of the iommufd misc device (/dev/iommu), from class/misc/iommu/dev.
 * Returns 0; -ENOENT when the kernel has none (no CONFIG_IOMMUFD); -EBADMSG for a malformed
 * dev file; other -errno. */
int sysfs_get_iommu_devnum(int root_fd, dev_t *ret);

/* Whether the device at address is enabled (its "enable" attribute, the kernel's enable
 * count): a device bound to vfio-pci is enabled exactly while some process holds its device
 * fd, unless someone enabled it by hand. Returns 1, 0, or -errno (-EBADMSG for text that is
 * no count). */
int sysfs_device_is_enabled(int root_fd, PciAddress address);

/* Whether the host visibly uses the device at address, so that handing it to vfio-pci would
 * take it away: it is the boot VGA device (boot_vga 1); a block device below it is held by
 * another (holders/), mounted (proc_fd's self/mountinfo, by device number or /dev/ name) or
 * swapped on (proc_fd's swaps); a network interface below it is up (IFF_UP). proc_fd is /proc
 * (a directory fd). Returns 1 with the reason in reason, 0 when nothing shows, -errno. */
int sysfs_device_host_use(int root_fd, PciAddress address, int proc_fd, char *reason, size_t size);

/* Whether the PCI driver named driver is loaded and is vfio-pci or a vfio-pci variant driver,
 * by the kernel's own sign: its module (bus/pci/drivers/NAME/module) is a holder of
 * vfio_pci_core (module/vfio_pci_core/holders/MODULE), as every driver built on vfio-pci-core
 * is; vfio-pci also by its name, for kernels with vfio-pci-core built in (no holders there).
 * Returns 1, 0 when loaded but no such driver, -ENOENT when not loaded, -EINVAL for a name
 * that is no driver name ([A-Za-z0-9_-], shorter than SYSFS_DRIVER_MAX). */
int sysfs_driver_is_vfio(int root_fd, const char *driver);

/* Hands the device at address to driver, vfio-pci or a variant (sysfs_driver_is_vfio()):
 * the driver's name into its driver_override, its address into its driver's unbind when it
 * has another driver, then into bus/pci/drivers_probe. Nothing is written unless the driver
 * is loaded (-ENODEV), is a VFIO PCI driver (-EINVAL), and the device has an IOMMU group
 * (-ENODEV). When the driver did not take it (-ENODEV, "probe the device with ..."), the
 * driver it had gets it back. Returns 0, or -errno with *ret_operation naming the step that
 * failed (static text). */
int sysfs_bind_vfio(int root_fd, PciAddress address, const char *driver, const char **ret_operation);

/* Gives the device at address back to the host: clears its driver_override, unbinds it when
 * vfio-pci or a variant holds it, and asks bus/pci/drivers_probe for a driver. Returns like
 * sysfs_bind_vfio(). */
int sysfs_unbind_vfio(int root_fd, PciAddress address, const char **ret_operation);
