/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "sysfs.h"

#define PCI_DEVICES_DIR  "bus/pci/devices"
#define PCI_DRIVERS_DIR  "bus/pci/drivers"
#define IOMMU_GROUPS_DIR "kernel/iommu_groups"
#define VFIO_DRIVER_DIR  "bus/pci/drivers/vfio-pci"
#define IOMMU_MISC_DEV   "class/misc/iommu/dev"
/* The modules that use vfio-pci-core's exports: vfio-pci and every variant driver. */
#define VFIO_PCI_CORE_HOLDERS_DIR "module/vfio_pci_core/holders"
#define VFIO_PCI_DRIVER           "vfio-pci"

/* How deep below a PCI device's directory its block and net devices are looked for: an AHCI
 * partition is 7 levels down (ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1), USB storage
 * behind an xHCI controller 9. */
#define HOST_USE_DEPTH_MAX 12
/* Longest line of /proc/self/mountinfo or /proc/swaps read whole; longer ones are read in
 * pieces, and a piece is never taken for a line's start. */
#define PROC_LINE_MAX 4096

int sysfs_open_root(const char *path, int *ret_fd) {
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

/* Reads a small attribute file of dir into buffer, without its trailing newline. */
static int read_attribute(int dir_fd, const char *name, char *buffer, size_t size) {
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	n = read(fd, buffer, size - 1);
	if (n < 0)
		return negative_errno();
	buffer[n] = '\0';
	if (n > 0 && buffer[n - 1] == '\n')
		buffer[n - 1] = '\0';
	return 0;
}

/* A PCI ID attribute: "0x" and exactly four hex digits. */
static int read_pci_id(int dir_fd, const char *name, uint16_t *ret) {
	char text[16], *end = NULL;
	unsigned long value;
	int r = read_attribute(dir_fd, name, text, sizeof(text));

	if (r < 0)
		return r;
	if (strncmp(text, "0x", 2) != 0 || strlen(text) != 6)
		return -EBADMSG;
	errno = 0;
	value = strtoul(text + 2, &end, 16);
	if (errno != 0 || *end || value > 0xffff)
		return -EBADMSG;
	*ret = (uint16_t) value;
	return 0;
}

/* PCI configuration space: the header type byte, whose low seven bits give the layout (0 a
 * function, 1 a PCI-to-PCI bridge, 2 a CardBus bridge; bit 7 multi-function). */
#define PCI_HEADER_TYPE_OFFSET 0x0e
#define PCI_HEADER_TYPE_MASK   0x7f

/* Whether the device's header type makes it a bridge: vfio-pci refuses every function whose
 * header type is not 0 (vfio_pci_probe), whatever its class code says, so the class cannot
 * decide which members a group fd can never open. A config file that cannot be read that far
 * counts as no bridge: such a member then needs a rule like any other (fail closed). */
static bool read_is_bridge(int dir_fd) {
	_cleanup_close_ int fd = openat(dir_fd, "config", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint8_t type;

	if (fd < 0 || pread(fd, &type, 1, PCI_HEADER_TYPE_OFFSET) != 1)
		return false;
	type &= PCI_HEADER_TYPE_MASK;
	return type == 1 || type == 2;
}

/* The last path component of the symlink name in dir, "" when there is no such link. */
static int read_link_basename(int dir_fd, const char *name, char *buffer, size_t size) {
	char target[256];
	const char *base;
	ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);

	if (n < 0) {
		buffer[0] = '\0';
		return errno == ENOENT ? 0 : negative_errno();
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	strcpy(buffer, base);
	return 0;
}

static int read_group_number(int dir_fd, int *ret) {
	char text[32], *end = NULL;
	long value;
	int r = read_link_basename(dir_fd, "iommu_group", text, sizeof(text));

	if (r < 0)
		return r;
	if (!text[0]) {
		*ret = -1;
		return 0;
	}
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end || value < 0 || value > INT32_MAX)
		return -EBADMSG;
	*ret = (int) value;
	return 0;
}

/* A driver name the kernel could have registered and a path may hold: letters, digits, '_'
 * and '-', as every PCI driver's name is. */
static bool driver_name_is_valid(const char *driver) {
	size_t length = strnlen(driver, SYSFS_DRIVER_MAX);

	return length > 0 && length < SYSFS_DRIVER_MAX &&
	       strspn(driver, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == length;
}

/* Whether the module of the loaded PCI driver `driver` uses vfio-pci-core: the kernel lists
 * the modules that use a module's symbols in its holders/. A driver built in has no module
 * link, and vfio-pci-core built in has no holders/: no sign either way. */
static bool driver_holds_vfio_pci_core(int root_fd, const char *driver) {
	char path[sizeof(VFIO_PCI_CORE_HOLDERS_DIR) + SYSFS_DRIVER_MAX + sizeof(PCI_DRIVERS_DIR) + 16];
	_cleanup_close_ int driver_fd = -EBADF;
	char module[SYSFS_DRIVER_MAX];

	(void) snprintf(path, sizeof(path), PCI_DRIVERS_DIR "/%s", driver);
	driver_fd = openat(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (driver_fd < 0 || read_link_basename(driver_fd, "module", module, sizeof(module)) < 0 ||
	    !driver_name_is_valid(module))
		return false;
	(void) snprintf(path, sizeof(path), VFIO_PCI_CORE_HOLDERS_DIR "/%s", module);
	return faccessat(root_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int sysfs_driver_is_vfio(int root_fd, const char *driver) {
	char path[sizeof(PCI_DRIVERS_DIR) + SYSFS_DRIVER_MAX + 1];

	if (!driver_name_is_valid(driver))
		return -EINVAL;
	(void) snprintf(path, sizeof(path), PCI_DRIVERS_DIR "/%s", driver);
	if (faccessat(root_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	return strcmp(driver, VFIO_PCI_DRIVER) == 0 || driver_holds_vfio_pci_core(root_fd, driver);
}

/* The class of the driver bound to the device of dir_fd. A VFIO device shows as one by any
 * of the kernel's signs: its driver is vfio-pci or holds vfio-pci-core, or it has a vfio-dev/
 * directory (the vfio cdev's, on kernels with CONFIG_VFIO_DEVICE_CDEV, which only a VFIO
 * driver's registration makes). pcieport and pci-stub, named by the PCI core's own drivers'
 * names, declare driver_managed_dma (drivers/pci/pcie/portdrv.c, drivers/pci/pci-stub.c). A
 * sign that cannot be read is no sign: the device then counts as on a host driver, which
 * blocks its group and attaches nothing (fail closed). */
static SysfsDriverKind classify_driver(int root_fd, int dir_fd, const char *driver) {
	if (!driver[0])
		return SYSFS_DRIVER_NONE;
	if (faccessat(dir_fd, "vfio-dev", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	    sysfs_driver_is_vfio(root_fd, driver) > 0)
		return SYSFS_DRIVER_VFIO;
	if (strcmp(driver, "pcieport") == 0 || strcmp(driver, "pci-stub") == 0)
		return SYSFS_DRIVER_NO_DMA;
	return SYSFS_DRIVER_HOST;
}

/* The device directory of address, opened; -ENOENT when there is no such device. The strict
 * form of a parsed address is the only text that reaches the path. */
static int open_device_dir(int root_fd, PciAddress address, int *ret_fd) {
	char path[sizeof(PCI_DEVICES_DIR) + PCI_ADDRESS_MAX + 1];
	int fd;

	(void) snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s", PCI_ADDRESS_TEXT(address));
	fd = openat(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : negative_errno();
	*ret_fd = fd;
	return 0;
}

/* One attribute of the device at address, as read_attribute(). */
static int read_device_attribute(int root_fd, PciAddress address, const char *name, char *buffer,
                                 size_t size) {
	_cleanup_close_ int dir_fd = -EBADF;
	int r = open_device_dir(root_fd, address, &dir_fd);

	return r < 0 ? r : read_attribute(dir_fd, name, buffer, size);
}

int sysfs_device_is_enabled(int root_fd, PciAddress address) {
	char text[16];
	int r = read_device_attribute(root_fd, address, "enable", text, sizeof(text));

	if (r < 0)
		return r;
	/* The kernel shows its enable count: 0 when disabled, a count otherwise. */
	if (text[0] < '0' || text[0] > '9' || strspn(text, "0123456789") != strlen(text))
		return -EBADMSG;
	return strspn(text, "0") != strlen(text);
}

/* Address, IDs, driver and group of one device; viability is left to the caller. */
static int sysfs_read_device(int root_fd, PciAddress address, SysfsDevice *ret) {
	_cleanup_close_ int dir_fd = -EBADF;
	SysfsDevice d = {};
	int r;

	r = open_device_dir(root_fd, address, &dir_fd);
	if (r < 0)
		return r;
	d.address = address;
	r = read_pci_id(dir_fd, "vendor", &d.vendor);
	if (r < 0)
		return r;
	r = read_pci_id(dir_fd, "device", &d.device);
	if (r < 0)
		return r;
	d.bridge = read_is_bridge(dir_fd);
	r = read_link_basename(dir_fd, "driver", d.driver, sizeof(d.driver));
	if (r < 0)
		return r;
	d.driver_kind = classify_driver(root_fd, dir_fd, d.driver);
	r = read_group_number(dir_fd, &d.group);
	if (r < 0)
		return r;
	*ret = d;
	return 0;
}

static int compare_devices(const void *a, const void *b) {
	return pci_address_compare(((const SysfsDevice *) a)->address, ((const SysfsDevice *) b)->address);
}

/* Opens directory path (relative to root) for readdir(). */
static int open_directory(int root_fd, const char *path, DIR **ret) {
	_cleanup_close_ int fd = openat(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d)
		return negative_errno();
	/* The stream owns fd now. */
	TAKE_FD(fd);
	*ret = d;
	return 0;
}

static int devices_append(SysfsDevice **devices, size_t *n, size_t *allocated, const SysfsDevice *d) {
	if (*n == *allocated) {
		size_t want = *allocated ? *allocated * 2 : 16;
		SysfsDevice *p = reallocarray(*devices, want, sizeof(*p));
		if (!p)
			return -ENOMEM;
		*devices = p;
		*allocated = want;
	}
	(*devices)[(*n)++] = *d;
	return 0;
}

/* Reads the device an entry of a directory names. Returns 1 and *ret when it is a PCI device
 * the daemon can name and read (and, for a group's directory, in that group); 0 when it is
 * not; -errno on read failures. */
static int read_entry(int root_fd, const char *name, int group, SysfsDevice *ret) {
	PciAddress address;
	int r;

	if (pci_address_parse(name, &address) < 0)
		return 0;
	r = sysfs_read_device(root_fd, address, ret);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return group < 0 || ret->group == group;
}

/* Reads every device named by a valid address in directory path (relative to root), sorted.
 * In bus/pci/devices (group -1), other entries are ignored. In the devices/ directory of
 * IOMMU group `group` every entry counts, since a group fd reaches every member: an entry that
 * is no PCI device the daemon can name (a PCI domain above ffff, as Intel VMD creates; a
 * non-PCI device; a member gone or moved while read) is counted in *ret_unknown instead, and
 * makes the group not grantable and not viable (fail closed). */
static int sysfs_read_directory(int root_fd, const char *path, int group, SysfsDevice **ret, size_t *ret_n,
                                unsigned *ret_unknown) {
	_cleanup_free_ SysfsDevice *devices = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	size_t n = 0, allocated = 0;
	unsigned unknown = 0;
	struct dirent *e;
	int r;

	r = open_directory(root_fd, path, &d);
	if (r < 0)
		return r;
	while ((e = readdir(d))) {
		SysfsDevice device;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = read_entry(root_fd, e->d_name, group, &device);
		if (r < 0)
			return r;
		if (r == 0) {
			unknown += group >= 0;
			continue;
		}
		r = devices_append(&devices, &n, &allocated, &device);
		if (r < 0)
			return r;
	}
	if (n > 0)
		qsort(devices, n, sizeof(*devices), compare_devices);
	*ret = n > 0 ? TAKE_PTR(devices) : NULL;
	*ret_n = n;
	*ret_unknown = unknown;
	return 0;
}

/* "kernel/iommu_groups/N/devices" into path (at least GROUP_PATH_MAX bytes). */
#define GROUP_PATH_MAX (sizeof(IOMMU_GROUPS_DIR) + 32)
static int group_devices_path(int group, char *path) {
	if (group < 0)
		return -EINVAL;
	(void) snprintf(path, GROUP_PATH_MAX, IOMMU_GROUPS_DIR "/%d/devices", group);
	return 0;
}

static int sysfs_read_group(int root_fd, int group, SysfsDevice **ret, size_t *ret_n,
                            unsigned *ret_unknown) {
	char path[GROUP_PATH_MAX];
	int r = group_devices_path(group, path);

	return r < 0 ? r : sysfs_read_directory(root_fd, path, group, ret, ret_n, ret_unknown);
}

/* What the group of d is, into d: viable as far as sysfs can tell (no member on a driver that
 * uses the kernel's DMA API, and none unknown, whose drivers vfiod cannot read) and its count
 * of unknown members. */
static int sysfs_judge_group(int root_fd, SysfsDevice *d) {
	_cleanup_free_ SysfsDevice *members = NULL;
	size_t n = 0;
	int r;

	d->viable = false;
	d->group_unknown = 0;
	if (d->group < 0)
		return 0;
	r = sysfs_read_group(root_fd, d->group, &members, &n, &d->group_unknown);
	if (r < 0)
		return r;
	d->viable = n > 0 && d->group_unknown == 0;
	for (size_t i = 0; i < n; i++)
		if (members[i].driver_kind == SYSFS_DRIVER_HOST)
			d->viable = false;
	return 0;
}

int sysfs_get_device(int root_fd, PciAddress address, SysfsDevice *ret) {
	SysfsDevice d;
	int r;

	r = sysfs_read_device(root_fd, address, &d);
	if (r < 0)
		return r;
	r = sysfs_judge_group(root_fd, &d);
	if (r < 0)
		return r;
	*ret = d;
	return 0;
}

size_t sysfs_first_of_group(const SysfsDevice *devices, size_t i) {
	for (size_t j = 0; j < i; j++)
		if (devices[j].group == devices[i].group)
			return j;
	return i;
}

/* Fills the viability of every device of a list, reading each group once. */
static int sysfs_fill_viable(int root_fd, SysfsDevice *devices, size_t n) {
	for (size_t i = 0; i < n; i++) {
		size_t earlier = sysfs_first_of_group(devices, i);
		int r;

		if (earlier < i) {
			devices[i].viable = devices[earlier].viable;
			devices[i].group_unknown = devices[earlier].group_unknown;
			continue;
		}
		r = sysfs_judge_group(root_fd, &devices[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The devices of directory path (the devices/ of group, or bus/pci/devices for -1), sorted,
 * with their groups judged. */
static int sysfs_list_directory(int root_fd, const char *path, int group, SysfsDevice **ret, size_t *ret_n) {
	_cleanup_free_ SysfsDevice *devices = NULL;
	size_t n = 0;
	unsigned unknown = 0;
	int r;

	r = sysfs_read_directory(root_fd, path, group, &devices, &n, &unknown);
	if (r < 0)
		return r;
	r = sysfs_fill_viable(root_fd, devices, n);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(devices);
	*ret_n = n;
	return 0;
}

int sysfs_list_devices(int root_fd, SysfsDevice **ret, size_t *ret_n) {
	return sysfs_list_directory(root_fd, PCI_DEVICES_DIR, -1, ret, ret_n);
}

int sysfs_list_group(int root_fd, int group, SysfsDevice **ret, size_t *ret_n) {
	char path[GROUP_PATH_MAX];
	int r = group_devices_path(group, path);

	return r < 0 ? r : sysfs_list_directory(root_fd, path, group, ret, ret_n);
}

/* A device number as the kernel prints one in a dev attribute: "MAJOR:MINOR" in decimal, within
 * the 12 and 20 bits Linux gives them. */
static int parse_devnum(const char *text, dev_t *ret) {
	unsigned long major_number, minor_number;
	char *end = NULL;

	if (!isdigit((unsigned char) text[0]))
		return -EBADMSG;
	errno = 0;
	major_number = strtoul(text, &end, 10);
	if (errno != 0 || *end != ':' || !isdigit((unsigned char) end[1]))
		return -EBADMSG;
	minor_number = strtoul(end + 1, &end, 10);
	if (errno != 0 || *end || major_number >= (1ul << 12) || minor_number >= (1ul << 20))
		return -EBADMSG;
	*ret = makedev(major_number, minor_number);
	return 0;
}

/* The dev attribute at path (relative to dir_fd), parsed. */
static int read_devnum(int dir_fd, const char *path, dev_t *ret) {
	char text[32];
	int r = read_attribute(dir_fd, path, text, sizeof(text));

	return r < 0 ? r : parse_devnum(text, ret);
}

/* Whether name is "vfio" and a decimal index: the only names the kernel gives a device's cdev,
 * and so the only text of vfio-dev/ that reaches a path under /dev. */
static bool is_vfio_cdev_name(const char *name) {
	size_t length = strlen(name);

	return length > 4 && length < SYSFS_VFIO_CDEV_NAME_MAX && strncmp(name, "vfio", 4) == 0 &&
	       strspn(name + 4, "0123456789") == length - 4;
}

/* The one entry of the vfio-dev/ directory d, into ret->name. */
static int read_vfio_cdev_name(DIR *d, SysfsVfioCdev *ret) {
	bool found = false;
	struct dirent *e;

	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* A device has one cdev: anything else there is not what the kernel makes. */
		if (found || !is_vfio_cdev_name(e->d_name))
			return -EBADMSG;
		(void) snprintf(ret->name, sizeof(ret->name), "%s", e->d_name);
		found = true;
	}
	return found ? 0 : -ENOENT;
}

int sysfs_get_vfio_cdev(int root_fd, PciAddress address, SysfsVfioCdev *ret) {
	char path[SYSFS_VFIO_CDEV_NAME_MAX + sizeof("/dev")];
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_(closedirp) DIR *d = NULL;
	SysfsVfioCdev cdev = {};
	int r;

	r = open_device_dir(root_fd, address, &dir_fd);
	if (r < 0)
		return r;
	r = open_directory(dir_fd, "vfio-dev", &d);
	if (r < 0)
		return r == -ENOTDIR ? -ENOENT : r;
	r = read_vfio_cdev_name(d, &cdev);
	if (r < 0)
		return r;
	(void) snprintf(path, sizeof(path), "%s/dev", cdev.name);
	r = read_devnum(dirfd(d), path, &cdev.devnum);
	if (r < 0)
		return r;
	*ret = cdev;
	return 0;
}

int sysfs_get_iommu_devnum(int root_fd, dev_t *ret) {
	return read_devnum(root_fd, IOMMU_MISC_DEV, ret);
}

/* Whether a line of /proc/self/mountinfo mounts block device `name` numbered dev ("maj:min"):
 * its third field is the st_dev of the mount, its mount source (the second field after " - ")
 * the device path. Both, because btrfs reports an anonymous st_dev of major 0. */
static bool mountinfo_line_mounts(const char *line, const char *name, const char *dev) {
	const char *tail = strstr(line, " - ");
	char number[32], source[PROC_LINE_MAX];

	if (sscanf(line, "%*s %*s %31s", number) == 1 && strcmp(number, dev) == 0)
		return true;
	return tail && sscanf(tail, " - %*s %4095s", source) == 1 && strncmp(source, "/dev/", 5) == 0 &&
	       strcmp(source + 5, name) == 0;
}

/* Whether a line of /proc/swaps swaps on block device `name`. */
static bool swaps_line_uses(const char *line, const char *name, const char *dev) {
	char path[PROC_LINE_MAX];

	(void) dev;
	return sscanf(line, "%4095s", path) == 1 && strncmp(path, "/dev/", 5) == 0 &&
	       strcmp(path + 5, name) == 0;
}

/* Whether any line of the file at path (relative to proc_fd) matches. A file that cannot be
 * opened matches nothing (no swap configured leaves /proc/swaps with its header only). */
static int proc_file_matches(int proc_fd, const char *path,
                             bool (*match)(const char *, const char *, const char *), const char *name,
                             const char *dev) {
	_cleanup_close_ int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	_cleanup_(fclosep) FILE *f = NULL;
	char line[PROC_LINE_MAX];
	bool line_start = true;

	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	f = fdopen(fd, "re");
	if (!f)
		return negative_errno();
	TAKE_FD(fd);
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;

		if (line_start && match(line, name, dev))
			return 1;
		line_start = whole;
	}
	return 0;
}

/* A block device (a disk or a partition) the host uses: stacked devices hold it, it is
 * mounted, or swapped on. Writes the reason and returns 1; 0 when none shows; -errno. */
static int block_in_use(int dir_fd, const char *name, int proc_fd, char *reason, size_t size) {
	_cleanup_(closedirp) DIR *holders = NULL;
	char dev[32];
	struct dirent *e;
	int r;

	/* No holders/ directory (an old kernel, a partition of some drivers): nothing holds it. */
	if (open_directory(dir_fd, "holders", &holders) >= 0) {
		while ((e = readdir(holders)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				(void) snprintf(reason, size, "block device %s is held by %s", name,
				                e->d_name);
				return 1;
			}
	}
	r = read_attribute(dir_fd, "dev", dev, sizeof(dev));
	if (r < 0)
		return r;
	r = proc_file_matches(proc_fd, "self/mountinfo", mountinfo_line_mounts, name, dev);
	if (r != 0) {
		(void) snprintf(reason, size, "block device %s is mounted", name);
		return r;
	}
	r = proc_file_matches(proc_fd, "swaps", swaps_line_uses, name, dev);
	if (r != 0)
		(void) snprintf(reason, size, "block device %s is in use as swap", name);
	return r;
}

/* A network interface the host uses: administratively up (IFF_UP in its flags). Addresses
 * and routes live in network namespaces the daemon does not all see; up is what an admin or
 * a network manager sets to use it, and what they take back to give it away. */
static int net_in_use(int dir_fd, const char *name, char *reason, size_t size) {
	char text[32], *end = NULL;
	unsigned long flags;
	int r = read_attribute(dir_fd, "flags", text, sizeof(text));

	if (r < 0)
		return r;
	errno = 0;
	flags = strtoul(text, &end, 16);
	if (errno != 0 || end == text || *end)
		return -EBADMSG;
	if (!(flags & 0x1)) /* IFF_UP */
		return 0;
	(void) snprintf(reason, size, "network interface %s is up", name);
	return 1;
}

/* Looks through the directories below dir_fd (never following a symlink, so the walk stays
 * inside the device) for block and net devices the host uses. */
static int walk_host_use(int dir_fd, unsigned depth, int proc_fd, char *reason, size_t size) {
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *e;
	int r = open_directory(dir_fd, ".", &d);

	if (r < 0)
		return r;
	while ((e = readdir(d))) {
		_cleanup_close_ int child = -EBADF;
		char subsystem[SYSFS_DRIVER_MAX];

		r = 0;

		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0)
			continue; /* gone meanwhile */
		if (read_link_basename(child, "subsystem", subsystem, sizeof(subsystem)) < 0)
			subsystem[0] = '\0';
		if (strcmp(subsystem, "block") == 0)
			r = block_in_use(child, e->d_name, proc_fd, reason, size);
		else if (strcmp(subsystem, "net") == 0)
			r = net_in_use(child, e->d_name, reason, size);
		if (r == 0 && depth + 1 < HOST_USE_DEPTH_MAX)
			r = walk_host_use(child, depth + 1, proc_fd, reason, size);
		if (r != 0)
			return r;
	}
	return 0;
}

int sysfs_device_host_use(int root_fd, PciAddress address, int proc_fd, char *reason, size_t size) {
	_cleanup_close_ int dir_fd = -EBADF;
	char text[16];
	int r;

	r = open_device_dir(root_fd, address, &dir_fd);
	if (r < 0)
		return r;
	/* The console the firmware set up: the host's own display. */
	if (read_device_attribute(root_fd, address, "boot_vga", text, sizeof(text)) >= 0 &&
	    strcmp(text, "1") == 0) {
		(void) snprintf(reason, size, "it is the boot VGA device");
		return 1;
	}
	return walk_host_use(dir_fd, 0, proc_fd, reason, size);
}

/* Longest text written to an attribute: a driver name or an address, with a newline. */
#define SYSFS_WRITE_MAX 64

/* Writes text to the existing attribute at path (relative to dir_fd) in one write(2): a
 * sysfs store takes its whole input in one call, and a short write is a failure. */
static int write_attribute(int dir_fd, const char *path, const char *text) {
	_cleanup_close_ int fd = -EBADF;
	size_t length = strnlen(text, SYSFS_WRITE_MAX + 1);
	ssize_t n;

	if (length == 0 || length > SYSFS_WRITE_MAX)
		return -EINVAL;
	fd = openat(dir_fd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = write(fd, text, length);
	if (n < 0)
		return negative_errno();
	return (size_t) n == length ? 0 : -EIO;
}

/* Stores the failing write for the caller's KernelError and returns r. */
static int sysfs_fail(const char **ret_operation, const char *operation, int r) {
	if (ret_operation)
		*ret_operation = operation;
	return r;
}

/* The device directory of address, opened, and its driver's name ("" for none), for a driver
 * change: like sysfs_fail() on failure. */
static int open_device_and_driver(int root_fd, PciAddress address, int *ret_fd,
                                  char driver[static SYSFS_DRIVER_MAX], const char **ret_operation) {
	_cleanup_close_ int dir_fd = -EBADF;
	int r = open_device_dir(root_fd, address, &dir_fd);

	if (r < 0)
		return sysfs_fail(ret_operation, "open the device in sysfs", r);
	r = read_link_basename(dir_fd, "driver", driver, SYSFS_DRIVER_MAX);
	if (r < 0)
		return sysfs_fail(ret_operation, "read the device's driver link", r);
	*ret_fd = TAKE_FD(dir_fd);
	return 0;
}

/* The kernel's sequence for moving a device between drivers (Documentation/ABI, sysfs-bus-pci):
 * driver_override names the only driver that may probe it ("\n" clears it), unbind releases
 * it from the driver it has, drivers_probe runs the probe again. The device leaves its driver
 * only when that driver is on the wrong side: another than to_driver, or, back to the host
 * (to_driver NULL), vfio-pci or a variant. */
static int sysfs_change_driver(int root_fd, PciAddress address, const char *to_driver,
                               const char **ret_operation) {
	_cleanup_close_ int dir_fd = -EBADF;
	char driver[SYSFS_DRIVER_MAX];
	bool leave;
	int r;

	r = open_device_and_driver(root_fd, address, &dir_fd, driver, ret_operation);
	if (r < 0)
		return r;
	r = write_attribute(dir_fd, "driver_override", to_driver ?: "\n");
	if (r < 0)
		return sysfs_fail(ret_operation, "write driver_override", r);
	leave = to_driver ? strcmp(driver, to_driver) != 0
	                  : classify_driver(root_fd, dir_fd, driver) == SYSFS_DRIVER_VFIO;
	if (driver[0] && leave) {
		r = write_attribute(dir_fd, "driver/unbind", PCI_ADDRESS_TEXT(address));
		if (r < 0) {
			/* Still on its driver: take back an override that would bind to_driver at
			 * the next probe, best effort. */
			if (to_driver)
				(void) write_attribute(dir_fd, "driver_override", "\n");
			return sysfs_fail(ret_operation, "write driver/unbind", r);
		}
	}
	r = write_attribute(root_fd, "bus/pci/drivers_probe", PCI_ADDRESS_TEXT(address));
	if (r < 0)
		return sysfs_fail(ret_operation, "write drivers_probe", r);
	return 0;
}

/* Puts the device back where it was after the driver it was given did not take it: a host
 * driver again, with no override, so that no later probe binds a VFIO driver (a probe, then
 * the driver's own bind file should the probe pick no driver); or the VFIO driver or pci-stub
 * it came from, which take only devices named to them, by override. Best effort: the caller
 * reports the failed bind. */
static void sysfs_restore_driver(int root_fd, int dir_fd, PciAddress address, const char *old_driver,
                                 SysfsDriverKind old_kind) {
	char path[sizeof(PCI_DRIVERS_DIR) + SYSFS_DRIVER_MAX + sizeof("/bind")];
	char driver[SYSFS_DRIVER_MAX];
	bool by_override = old_kind == SYSFS_DRIVER_VFIO || strcmp(old_driver, "pci-stub") == 0;

	(void) write_attribute(dir_fd, "driver_override", by_override ? old_driver : "\n");
	if (!old_driver[0])
		return;
	if (read_link_basename(dir_fd, "driver", driver, sizeof(driver)) >= 0 && !driver[0])
		(void) write_attribute(root_fd, "bus/pci/drivers_probe", PCI_ADDRESS_TEXT(address));
	if (read_link_basename(dir_fd, "driver", driver, sizeof(driver)) < 0 || driver[0])
		return;
	(void) snprintf(path, sizeof(path), PCI_DRIVERS_DIR "/%s/bind", old_driver);
	(void) write_attribute(root_fd, path, PCI_ADDRESS_TEXT(address));
}

/* What binding to driver needs, checked before the device leaves its driver: the driver
 * loaded and a VFIO PCI driver, the device in an IOMMU group. Like sysfs_fail(). */
static int bind_check_needs(int root_fd, int dir_fd, const char *driver, const char **ret_operation) {
	bool named = strcmp(driver, VFIO_PCI_DRIVER) != 0;
	int group, r = sysfs_driver_is_vfio(root_fd, driver);

	if (r == -ENOENT)
		return sysfs_fail(ret_operation,
		                  named ? "find the named driver (module not loaded?)"
		                        : "find the vfio-pci driver (module not loaded?)",
		                  -ENODEV);
	if (r == 0)
		r = -EINVAL;
	if (r < 0)
		return sysfs_fail(ret_operation, "check that the driver is vfio-pci or a vfio-pci variant",
		                  r);
	r = read_group_number(dir_fd, &group);
	if (r < 0 || group < 0)
		return sysfs_fail(ret_operation, "find the device's IOMMU group", r < 0 ? r : -ENODEV);
	return 0;
}

int sysfs_bind_vfio(int root_fd, PciAddress address, const char *driver, const char **ret_operation) {
	_cleanup_close_ int dir_fd = -EBADF;
	char old_driver[SYSFS_DRIVER_MAX], now[SYSFS_DRIVER_MAX];
	SysfsDriverKind old_kind;
	int r;

	r = open_device_and_driver(root_fd, address, &dir_fd, old_driver, ret_operation);
	if (r < 0)
		return r;
	r = bind_check_needs(root_fd, dir_fd, driver, ret_operation);
	if (r < 0)
		return r;
	old_kind = classify_driver(root_fd, dir_fd, old_driver);
	r = sysfs_change_driver(root_fd, address, driver, ret_operation);
	if (r < 0)
		return r;
	/* drivers_probe succeeds when no driver takes the device: the driver's verdict is the
	 * driver link. */
	r = read_link_basename(dir_fd, "driver", now, sizeof(now));
	if (r >= 0 && strcmp(now, driver) == 0)
		return 0;
	sysfs_restore_driver(root_fd, dir_fd, address, old_driver, old_kind);
	return sysfs_fail(ret_operation,
	                  strcmp(driver, VFIO_PCI_DRIVER) == 0 ? "probe the device with vfio-pci"
	                                                       : "probe the device with the named driver",
	                  r < 0 ? r : -ENODEV);
}

int sysfs_unbind_vfio(int root_fd, PciAddress address, const char **ret_operation) {
	return sysfs_change_driver(root_fd, address, NULL, ret_operation);
}
