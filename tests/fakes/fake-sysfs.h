/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A fake /sys for unit tests: bus/pci/devices, drivers and kernel/iommu_groups laid out as
 * the kernel lays them out, with symlinks, in a temporary directory. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FakeSysfs FakeSysfs;

/* A new empty tree; NULL on failure. */
FakeSysfs *fake_sysfs_new(void);

/* Removes the tree and frees fs; accepts NULL. */
void fake_sysfs_free(FakeSysfs *fs);

/* Adds a PCI device in IOMMU group `group` (-1: none), bound to driver (NULL: none).
 * Returns 0 or -errno. */
int fake_sysfs_add_device(FakeSysfs *fs, const char *address, uint16_t vendor, uint16_t device, int group,
                          const char *driver);

/* Gives the device at address the vfio cdev vfio<index> numbered major:minor, as the kernel
 * does when a VFIO driver binds it (its vfio-dev/vfio<index>/dev). */
int fake_sysfs_add_vfio_cdev(FakeSysfs *fs, const char *address, unsigned index, unsigned major,
                             unsigned minor);

/* The devices the cdev mode's unit tests attach, all on vfio-pci: IOMMU group 4 of 0000:02:01.0
 * and 0000:02:02.0 (cdevs vfio1 and vfio2, numbered 511:1 and 511:2), group 5 of 0000:05:00.0
 * and 0000:05:00.1 (vfio3, vfio4), and group 6 of 0000:06:00.0, which has no cdev. */
int fake_sysfs_add_cdev_devices(FakeSysfs *fs);

/* Binds address to driver (NULL unbinds). */
int fake_sysfs_bind(FakeSysfs *fs, const char *address, const char *driver);

/* Makes driver (bus/pci/drivers/NAME, no device bound) come from module: its module link, and,
 * with holds_vfio_pci_core, the module listed in module/vfio_pci_core/holders as the kernel
 * lists vfio-pci and its variants. */
int fake_sysfs_add_driver_module(FakeSysfs *fs, const char *driver, const char *module,
                                 bool holds_vfio_pci_core);

/* Gives the device a vfio-dev/NAME directory, as a VFIO driver's registration makes on kernels
 * with the vfio cdev. */
int fake_sysfs_add_vfio_dev(FakeSysfs *fs, const char *address, const char *name);

/* Writes the device's config file: 64 bytes, zero but for the header type at 0x0e (0 for a
 * function, 1 for a PCI-to-PCI bridge, 2 for CardBus; bit 7 multi-function). */
int fake_sysfs_set_header_type(FakeSysfs *fs, const char *address, uint8_t type);

/* Adds a non-PCI device `name` (under devices/platform) to IOMMU group `group`. */
int fake_sysfs_add_foreign_member(FakeSysfs *fs, int group, const char *name);

/* Adds a class device below a PCI device: the directory relative (to the device's, say
 * "net/eth0" or "nvme/nvme0/nvme0n1") with a subsystem link naming subsystem ("net",
 * "block"). Its attributes are written with fake_sysfs_write_attribute("net/eth0/flags"). */
int fake_sysfs_add_class_device(FakeSysfs *fs, const char *address, const char *relative,
                                const char *subsystem);

/* Writes any file below the root (its directories made), e.g. "proc/self/mountinfo". */
int fake_sysfs_write_file(FakeSysfs *fs, const char *relative, const char *text);

/* Overwrites one attribute file of a device with text, to fake malformed sysfs. */
int fake_sysfs_write_attribute(FakeSysfs *fs, const char *address, const char *name, const char *text);

/* Reads the file at relative (below the root, symlinks followed), whole, NUL-terminated: what
 * the code under test wrote to driver_override, drivers_probe or a driver's unbind, say.
 * Files it writes start as the kernel shows them ("(null)\n" for driver_override) or empty. */
int fake_sysfs_read_file(FakeSysfs *fs, const char *relative, char *buffer, size_t size);

/* The tree's root: a directory fd owned by fs, and its path. */
int fake_sysfs_root_fd(FakeSysfs *fs);
const char *fake_sysfs_path(FakeSysfs *fs);
