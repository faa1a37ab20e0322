/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-sysfs.h"

struct FakeSysfs {
	char path[64];
	int root_fd;
};

/* mkdir -p of a path below the root. */
static int mkdir_parents(FakeSysfs *fs, const char *relative) {
	char path[512];

	snprintf(path, sizeof(path), "%s", relative);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdirat(fs->root_fd, path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdirat(fs->root_fd, path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_file(FakeSysfs *fs, const char *relative, const char *text) {
	int fd = openat(fs->root_fd, relative, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t) strlen(text) ? 0 : -EIO;
}

static int symlink_replace(FakeSysfs *fs, const char *target, const char *relative) {
	(void) unlinkat(fs->root_fd, relative, 0);
	return symlinkat(target, fs->root_fd, relative) < 0 ? -errno : 0;
}

FakeSysfs *fake_sysfs_new(void) {
	FakeSysfs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	snprintf(fs->path, sizeof(fs->path), "/tmp/vfiod-fake-sysfs-XXXXXX");
	if (!mkdtemp(fs->path)) {
		free(fs);
		return NULL;
	}
	fs->root_fd = open(fs->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0 || mkdir_parents(fs, "bus/pci/devices") < 0 ||
	    mkdir_parents(fs, "bus/pci/drivers") < 0 || mkdir_parents(fs, "kernel/iommu_groups") < 0 ||
	    mkdir_parents(fs, "devices/pci0000:00") < 0 || write_file(fs, "bus/pci/drivers_probe", "") < 0) {
		fake_sysfs_free(fs);
		return NULL;
	}
	return fs;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

void fake_sysfs_free(FakeSysfs *fs) {
	if (!fs)
		return;
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	(void) nftw(fs->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fs);
}

int fake_sysfs_bind(FakeSysfs *fs, const char *address, const char *driver) {
	char link[256], target[256];
	int r;

	snprintf(link, sizeof(link), "devices/pci0000:00/%s/driver", address);
	if (!driver)
		return unlinkat(fs->root_fd, link, 0) < 0 && errno != ENOENT ? -errno : 0;
	snprintf(target, sizeof(target), "bus/pci/drivers/%s", driver);
	r = mkdir_parents(fs, target);
	if (r < 0)
		return r;
	/* The driver's bind and unbind files, which take an address (empty until written). */
	snprintf(target, sizeof(target), "bus/pci/drivers/%s/unbind", driver);
	if (faccessat(fs->root_fd, target, F_OK, 0) < 0 && (r = write_file(fs, target, "")) < 0)
		return r;
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	return symlink_replace(fs, target, link);
}

int fake_sysfs_add_driver_module(FakeSysfs *fs, const char *driver, const char *module,
                                 bool holds_vfio_pci_core) {
	char path[256], target[256];
	int r;

	snprintf(path, sizeof(path), "bus/pci/drivers/%s", driver);
	r = mkdir_parents(fs, path);
	snprintf(path, sizeof(path), "module/%s", module);
	if (r >= 0)
		r = mkdir_parents(fs, path);
	snprintf(path, sizeof(path), "bus/pci/drivers/%s/module", driver);
	snprintf(target, sizeof(target), "../../../../module/%s", module);
	if (r >= 0)
		r = symlink_replace(fs, target, path);
	if (r < 0 || !holds_vfio_pci_core)
		return r;
	r = mkdir_parents(fs, "module/vfio_pci_core/holders");
	snprintf(path, sizeof(path), "module/vfio_pci_core/holders/%s", module);
	snprintf(target, sizeof(target), "../../%s", module);
	return r < 0 ? r : symlink_replace(fs, target, path);
}

int fake_sysfs_add_vfio_dev(FakeSysfs *fs, const char *address, const char *name) {
	char path[256];

	snprintf(path, sizeof(path), "devices/pci0000:00/%s/vfio-dev/%s", address, name);
	return mkdir_parents(fs, path);
}

/* The entry of group's devices/ for the device `name` under devices/parent. */
static int link_group_member(FakeSysfs *fs, int group, const char *parent, const char *name) {
	char path[256], target[256];
	int r;

	snprintf(path, sizeof(path), "kernel/iommu_groups/%d/devices", group);
	r = mkdir_parents(fs, path);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "kernel/iommu_groups/%d/devices/%s", group, name);
	snprintf(target, sizeof(target), "../../../../devices/%s/%s", parent, name);
	return symlink_replace(fs, target, path);
}

static int add_group(FakeSysfs *fs, const char *address, int group) {
	char path[256], target[256];
	int r = link_group_member(fs, group, "pci0000:00", address);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "devices/pci0000:00/%s/iommu_group", address);
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
	return symlink_replace(fs, target, path);
}

int fake_sysfs_add_device(FakeSysfs *fs, const char *address, uint16_t vendor, uint16_t device, int group,
                          const char *driver) {
	char path[256], target[256], id[16];
	int r;

	snprintf(path, sizeof(path), "devices/pci0000:00/%s", address);
	r = mkdir_parents(fs, path);
	snprintf(id, sizeof(id), "0x%04x\n", vendor);
	if (r >= 0)
		r = fake_sysfs_write_attribute(fs, address, "vendor", id);
	snprintf(id, sizeof(id), "0x%04x\n", device);
	if (r >= 0)
		r = fake_sysfs_write_attribute(fs, address, "device", id);
	if (r >= 0)
		r = fake_sysfs_write_attribute(fs, address, "class", "0x020000\n");
	if (r >= 0)
		r = fake_sysfs_set_header_type(fs, address, 0);
	if (r >= 0)
		r = fake_sysfs_write_attribute(fs, address, "driver_override", "(null)\n");
	if (r >= 0)
		r = fake_sysfs_write_attribute(fs, address, "enable", "0\n");
	snprintf(path, sizeof(path), "bus/pci/devices/%s", address);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", address);
	if (r >= 0)
		r = symlink_replace(fs, target, path);
	if (r >= 0 && group >= 0)
		r = add_group(fs, address, group);
	if (r >= 0 && driver)
		r = fake_sysfs_bind(fs, address, driver);
	return r;
}

int fake_sysfs_add_vfio_cdev(FakeSysfs *fs, const char *address, unsigned index, unsigned major,
                             unsigned minor) {
	char path[256], text[32];

	snprintf(path, sizeof(path), "devices/pci0000:00/%s/vfio-dev/vfio%u/dev", address, index);
	snprintf(text, sizeof(text), "%u:%u\n", major, minor);
	return fake_sysfs_write_file(fs, path, text);
}

int fake_sysfs_add_cdev_devices(FakeSysfs *fs) {
	static const struct {
		const char *address;
		int group;
		unsigned cdev; /* 0 for none */
	} devices[] = {
		{ "0000:02:01.0", 4, 1 }, { "0000:02:02.0", 4, 2 }, { "0000:05:00.0", 5, 3 },
		{ "0000:05:00.1", 5, 4 }, { "0000:06:00.0", 6, 0 },
	};
	int r = 0;

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]) && r >= 0; i++) {
		r = fake_sysfs_add_device(fs, devices[i].address, 0x8086, 0x100e, devices[i].group,
		                          "vfio-pci");
		if (r >= 0 && devices[i].cdev > 0)
			r = fake_sysfs_add_vfio_cdev(fs, devices[i].address, devices[i].cdev, 511,
			                             devices[i].cdev);
	}
	return r;
}

int fake_sysfs_set_header_type(FakeSysfs *fs, const char *address, uint8_t type) {
	/* The 64 bytes of the standard header any user may read; only the header type is set. */
	uint8_t config[64] = {};
	char path[256];
	ssize_t n;
	int fd;

	config[0x0e] = type;
	snprintf(path, sizeof(path), "devices/pci0000:00/%s/config", address);
	fd = openat(fs->root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, config, sizeof(config));
	close(fd);
	return n == (ssize_t) sizeof(config) ? 0 : -EIO;
}

int fake_sysfs_add_foreign_member(FakeSysfs *fs, int group, const char *name) {
	char path[256];
	int r;

	snprintf(path, sizeof(path), "devices/platform/%s", name);
	r = mkdir_parents(fs, path);
	return r < 0 ? r : link_group_member(fs, group, "platform", name);
}

int fake_sysfs_add_class_device(FakeSysfs *fs, const char *address, const char *relative,
                                const char *subsystem) {
	char path[256], target[256];
	int r;

	snprintf(path, sizeof(path), "devices/pci0000:00/%s/%s", address, relative);
	r = mkdir_parents(fs, path);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "devices/pci0000:00/%s/%s/subsystem", address, relative);
	snprintf(target, sizeof(target), "/sys/class/%s", subsystem);
	return symlink_replace(fs, target, path);
}

int fake_sysfs_write_file(FakeSysfs *fs, const char *relative, const char *text) {
	char directory[256], *slash;
	int r;

	snprintf(directory, sizeof(directory), "%s", relative);
	slash = strrchr(directory, '/');
	if (slash) {
		*slash = '\0';
		r = mkdir_parents(fs, directory);
		if (r < 0)
			return r;
	}
	return write_file(fs, relative, text);
}

int fake_sysfs_write_attribute(FakeSysfs *fs, const char *address, const char *name, const char *text) {
	char path[256];

	snprintf(path, sizeof(path), "devices/pci0000:00/%s/%s", address, name);
	return write_file(fs, path, text);
}

int fake_sysfs_read_file(FakeSysfs *fs, const char *relative, char *buffer, size_t size) {
	int fd = openat(fs->root_fd, relative, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buffer, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buffer[n] = '\0';
	return 0;
}

int fake_sysfs_root_fd(FakeSysfs *fs) {
	return fs->root_fd;
}

const char *fake_sysfs_path(FakeSysfs *fs) {
	return fs->path;
}
