/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* sysfs against a fake tree: listing, IDs, drivers and their classes, groups and viability
 * (sysfs's rule, and the kernel's answer through a fake kernel where it can be had), and the
 * writes that move a device between drivers. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/fake-sysfs.h"
#include "../fakes/fake-vfio.h"
#include "util.h"
#include "macro.h"
#include "sysfs.h"
#include "vfio.h"

typedef struct Fixture {
	FakeSysfs *fs;
	int fds_before;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	f->fs = fake_sysfs_new();
	assert_non_null(f->fs);
	/* A solo device, a group of two, a device without IOMMU group. */
	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:00:02.0", 0x8086, 0x10d3, 1, "e1000e"), 0);
	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:02:02.0", 0x8086, 0x100e, 4, "e1000"), 0);
	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:02:01.0", 0x8086, 0x100e, 4, "vfio-pci"), 0);
	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:00:1f.3", 0x1af4, 0x1000, -1, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	int after;

	fake_sysfs_free(f->fs);
	after = test_count_fds();
	assert_int_equal(after, f->fds_before);
	free(f);
	return 0;
}

static void list_is_sorted_and_complete(void **state) {
	Fixture *f = *state;
	_cleanup_free_ SysfsDevice *d = NULL;
	size_t n = 0;

	assert_int_equal(sysfs_list_devices(fake_sysfs_root_fd(f->fs), &d, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(PCI_ADDRESS_TEXT(d[0].address), "0000:00:02.0");
	assert_string_equal(PCI_ADDRESS_TEXT(d[1].address), "0000:00:1f.3");
	assert_string_equal(PCI_ADDRESS_TEXT(d[2].address), "0000:02:01.0");
	assert_string_equal(PCI_ADDRESS_TEXT(d[3].address), "0000:02:02.0");
	assert_int_equal(d[0].vendor, 0x8086);
	assert_int_equal(d[0].device, 0x10d3);
	assert_string_equal(d[0].driver, "e1000e");
	assert_int_equal(d[0].group, 1);
	assert_int_equal(d[1].group, -1);
	assert_string_equal(d[1].driver, "");
	assert_int_equal(d[2].group, 4);
}

static void viability_follows_group_drivers(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	SysfsDevice d;

	/* Host driver: not viable. */
	assert_int_equal(sysfs_get_device(root, test_pci("0000:00:02.0"), &d), 0);
	assert_false(d.viable);
	assert_int_equal(fake_sysfs_bind(f->fs, "0000:00:02.0", "vfio-pci"), 0);
	assert_int_equal(sysfs_get_device(root, test_pci("0000:00:02.0"), &d), 0);
	assert_true(d.viable);
	assert_string_equal(d.driver, "vfio-pci");
	/* One member on e1000: both members are not viable. */
	assert_int_equal(sysfs_get_device(root, test_pci("0000:02:01.0"), &d), 0);
	assert_false(d.viable);
	assert_int_equal(sysfs_get_device(root, test_pci("0000:02:02.0"), &d), 0);
	assert_false(d.viable);
	/* vfio-pci and no driver: viable. */
	assert_int_equal(fake_sysfs_bind(f->fs, "0000:02:02.0", NULL), 0);
	assert_int_equal(sysfs_get_device(root, test_pci("0000:02:01.0"), &d), 0);
	assert_true(d.viable);
	/* No IOMMU group: never viable. */
	assert_int_equal(sysfs_get_device(root, test_pci("0000:00:1f.3"), &d), 0);
	assert_false(d.viable);
}

static void group_members_listed(void **state) {
	Fixture *f = *state;
	_cleanup_free_ SysfsDevice *d = NULL;
	size_t n = 0;

	assert_int_equal(sysfs_list_group(fake_sysfs_root_fd(f->fs), 4, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(PCI_ADDRESS_TEXT(d[0].address), "0000:02:01.0");
	assert_string_equal(d[1].driver, "e1000");
	assert_int_equal(sysfs_list_group(fake_sysfs_root_fd(f->fs), 77, &d, &n), -ENOENT);
}

/* One driver class of a group member: how the fake tree shows its driver. */
typedef struct DriverClass {
	const char *driver; /* NULL: none */
	const char *module; /* its module; NULL: built in */
	bool holder;        /* the module uses vfio_pci_core (module/vfio_pci_core/holders) */
	bool vfio_dev;      /* the device has a vfio-dev/ directory (a vfio cdev kernel) */
	SysfsDriverKind kind;
	bool viable; /* of a group of it and an endpoint on vfio-pci */
} DriverClass;

/* The kernel's rule, from sysfs: a group is viable unless a member's driver uses the kernel's
 * DMA API; pcieport, pci-stub, vfio-pci and its variants do not. A variant is recognised by
 * the kernel's signs, not by its name. Each class as a switch port in an endpoint's group. */
static void driver_classes_decide_viability(void **state) {
	(void) state;
	static const DriverClass cases[] = {
		{ NULL, NULL, false, false, SYSFS_DRIVER_NONE, true },
		{ "vfio-pci", NULL, false, false, SYSFS_DRIVER_VFIO, true },
		{ "vfio-pci", "vfio_pci", true, false, SYSFS_DRIVER_VFIO, true },
		{ "mlx5_vfio_pci", "mlx5_vfio_pci", true, false, SYSFS_DRIVER_VFIO, true },
		/* Built in, on a cdev kernel: the device's vfio-dev/ tells. */
		{ "virtio_vfio_pci", NULL, false, true, SYSFS_DRIVER_VFIO, true },
		{ "pcieport", NULL, false, false, SYSFS_DRIVER_NO_DMA, true },
		{ "pci-stub", "pci_stub", false, false, SYSFS_DRIVER_NO_DMA, true },
		{ "e1000e", "e1000e", false, false, SYSFS_DRIVER_HOST, false },
		/* A name is no sign: a module that does not use vfio_pci_core is a host driver. */
		{ "fake_vfio_pci", "fake_vfio_pci", false, false, SYSFS_DRIVER_HOST, false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const DriverClass *c = &cases[i];
		_cleanup_free_ SysfsDevice *all = NULL;
		void *fixture = NULL;
		SysfsDevice port, endpoint;
		size_t n = 0;
		Fixture *f;
		int root;

		setup(&fixture);
		f = fixture;
		root = fake_sysfs_root_fd(f->fs);
		if (c->module)
			assert_int_equal(
			        fake_sysfs_add_driver_module(f->fs, c->driver, c->module, c->holder), 0);
		assert_int_equal(fake_sysfs_add_device(f->fs, "0000:04:00.0", 0x104c, 0x8233, 9, c->driver),
		                 0);
		assert_int_equal(fake_sysfs_add_device(f->fs, "0000:05:00.0", 0x8086, 0x10d3, 9, "vfio-pci"),
		                 0);
		if (c->vfio_dev)
			assert_int_equal(fake_sysfs_add_vfio_dev(f->fs, "0000:04:00.0", "vfio3"), 0);
		assert_int_equal(sysfs_get_device(root, test_pci("0000:04:00.0"), &port), 0);
		assert_int_equal(sysfs_get_device(root, test_pci("0000:05:00.0"), &endpoint), 0);
		if (port.driver_kind != c->kind || endpoint.viable != c->viable || port.viable != c->viable)
			fail_msg("case %zu (%s): kind %d viable %d, expected %d %d", i, c->driver ?: "none",
			         port.driver_kind, endpoint.viable, c->kind, c->viable);
		assert_int_equal(endpoint.driver_kind, SYSFS_DRIVER_VFIO);
		/* A listing says the same of the group. */
		assert_int_equal(sysfs_list_devices(root, &all, &n), 0);
		for (size_t j = 0; j < n; j++)
			if (all[j].group == 9)
				assert_int_equal(all[j].viable, c->viable);
		teardown(&fixture);
	}
}

/* The signs Bind checks a named driver by: loaded, and vfio-pci or a holder of vfio_pci_core. */
static void vfio_drivers_recognised_by_the_kernels_signs(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	static const char *const bad_names[] = {
		"",         "..",  "a/b",
		"vfio pci", "x\n", "0123456789012345678901234567890123456789012345678901234567890123"
	};

	assert_int_equal(fake_sysfs_add_driver_module(f->fs, "mlx5_vfio_pci", "mlx5_vfio_pci", true), 0);
	assert_int_equal(fake_sysfs_add_driver_module(f->fs, "pci-stub", "pci_stub", false), 0);
	assert_int_equal(sysfs_driver_is_vfio(root, "vfio-pci"), 1);
	assert_int_equal(sysfs_driver_is_vfio(root, "mlx5_vfio_pci"), 1);
	assert_int_equal(sysfs_driver_is_vfio(root, "e1000e"), 0);
	assert_int_equal(sysfs_driver_is_vfio(root, "pci-stub"), 0);
	assert_int_equal(sysfs_driver_is_vfio(root, "hisi_acc_vfio_pci"), -ENOENT);
	for (size_t i = 0; i < ELEMENTSOF(bad_names); i++)
		assert_int_equal(sysfs_driver_is_vfio(root, bad_names[i]), -EINVAL);
}

/* The kernel's answer decides a group sysfs judges not viable, where it can be had: a driver
 * vfiod does not know may declare driver_managed_dma. Where the kernel cannot be asked (the
 * group open elsewhere: EBUSY; no group node), sysfs's verdict stays. Groups sysfs judges
 * viable are not asked (vfio_judge_viability()). */
static void kernel_answer_preferred_when_available(void **state) {
	Fixture *f = *state;
	static const struct {
		int probe_errno;
		bool kernel_viable;
		bool viable;
	} cases[] = {
		{ 0, true, true },       /* the kernel calls it viable: e1000's driver must not claim DMA */
		{ 0, false, false },     /* the kernel agrees with sysfs */
		{ EBUSY, true, false },  /* open elsewhere: sysfs's rule */
		{ ENOENT, true, false }, /* no group node: sysfs's rule */
		{ EACCES, true, false }, /* any other failure: sysfs's rule */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ SysfsDevice *d = NULL;
		size_t n = 0;

		fake_vfio_reset();
		fake_vfio.probe_errno = cases[i].probe_errno;
		fake_vfio.not_viable = !cases[i].kernel_viable;
		assert_int_equal(sysfs_list_devices(fake_sysfs_root_fd(f->fs), &d, &n), 0);
		vfio_judge_viability(&fake_vfio_ops, d, n);
		/* Group 1 (e1000e) and group 4 (vfio-pci and e1000) are not viable in sysfs: one
		 * question each. Group -1 is never asked. */
		assert_int_equal(fake_vfio.calls[FAKE_CALL_PROBE_VIABLE], 2);
		for (size_t j = 0; j < n; j++)
			if (d[j].group == 4 && d[j].viable != cases[i].viable)
				fail_msg("case %zu: %s viable %d", i, PCI_ADDRESS_TEXT(d[j].address),
				         d[j].viable);
	}
	/* A group sysfs judges viable is left alone, whatever the kernel would say. */
	{
		SysfsDevice d;

		assert_int_equal(fake_sysfs_bind(f->fs, "0000:00:02.0", "vfio-pci"), 0);
		assert_int_equal(sysfs_get_device(fake_sysfs_root_fd(f->fs), test_pci("0000:00:02.0"), &d),
		                 0);
		fake_vfio_reset();
		fake_vfio.probe_errno = 0;
		fake_vfio.not_viable = true;
		vfio_judge_viability(&fake_vfio_ops, &d, 1);
		assert_true(d.viable);
		assert_int_equal(fake_vfio.calls[FAKE_CALL_PROBE_VIABLE], 0);
	}
}

/* A group member the daemon cannot name (a VMD domain above ffff, a non-PCI device) is counted,
 * never skipped: every member of the group says so, and the group is not viable. */
static void group_members_it_cannot_name_are_counted(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	_cleanup_free_ SysfsDevice *d = NULL, *all = NULL;
	size_t n = 0;
	SysfsDevice one;

	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:00:07.0", 0x8086, 0x10d3, 7, "vfio-pci"), 0);
	assert_int_equal(fake_sysfs_add_device(f->fs, "10000:01:00.0", 0x8086, 0x10d3, 7, "vfio-pci"), 0);
	assert_int_equal(fake_sysfs_add_device(f->fs, "0000:00:08.0", 0x8086, 0x10d3, 8, "vfio-pci"), 0);
	assert_int_equal(fake_sysfs_add_foreign_member(f->fs, 8, "dmar-widget.0"), 0);
	assert_int_equal(sysfs_list_group(root, 7, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].group_unknown, 1);
	assert_false(d[0].viable);
	assert_int_equal(sysfs_get_device(root, test_pci("0000:00:08.0"), &one), 0);
	assert_int_equal(one.group_unknown, 1);
	assert_false(one.viable);
	/* The whole listing says the same of each group, and nothing of the others. */
	assert_int_equal(sysfs_list_devices(root, &all, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(all[i].group_unknown, all[i].group == 7 || all[i].group == 8);
	/* The group of 0000:02:01.0, all known, stays viable once its other member is free. */
	assert_int_equal(fake_sysfs_bind(f->fs, "0000:02:02.0", NULL), 0);
	assert_int_equal(sysfs_get_device(root, test_pci("0000:02:01.0"), &one), 0);
	assert_true(one.viable);
	assert_int_equal(one.group_unknown, 0);
}

/* Bridge means header type 1 or 2 (what vfio-pci refuses), not a bridge's class code. */
static void bridges_by_header_type_not_class(void **state) {
	Fixture *f = *state;
	static const struct {
		const char *class;
		uint8_t header;
		bool bridge;
	} cases[] = {
		{ "0x060400\n", 0x00, false }, /* a type-0 function claiming the PCI bridge class */
		{ "0x060400\n", 0x01, true },  { "0x060700\n", 0x82, true }, /* CardBus, multi-function */
		{ "0x020000\n", 0x01, true },  { "0x020000\n", 0x80, false },
	};
	SysfsDevice d;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:00:02.0", "class", cases[i].class),
		                 0);
		assert_int_equal(fake_sysfs_set_header_type(f->fs, "0000:00:02.0", cases[i].header), 0);
		assert_int_equal(sysfs_get_device(fake_sysfs_root_fd(f->fs), test_pci("0000:00:02.0"), &d),
		                 0);
		if (d.bridge != cases[i].bridge)
			fail_msg("case %zu: bridge %d, expected %d", i, d.bridge, cases[i].bridge);
	}
	/* No readable header: no bridge, so the member needs a rule (fail closed). */
	assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:00:02.0", "config", ""), 0);
	assert_int_equal(sysfs_get_device(fake_sysfs_root_fd(f->fs), test_pci("0000:00:02.0"), &d), 0);
	assert_false(d.bridge);
}

static void unknown_addresses_fail(void **state) {
	Fixture *f = *state;
	SysfsDevice d = { .group = 12345 };

	assert_int_equal(sysfs_get_device(fake_sysfs_root_fd(f->fs), test_pci("0000:09:00.0"), &d), -ENOENT);
	/* ret untouched on failure */
	assert_int_equal(d.group, 12345);
}

static void malformed_ids_fail(void **state) {
	Fixture *f = *state;
	static const char *const bad[] = { "8086\n", "0x80861\n", "0xzzzz\n", "", "0x-1\n" };
	_cleanup_free_ SysfsDevice *d = NULL;
	size_t n = 0;
	SysfsDevice one;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:00:02.0", "vendor", bad[i]), 0);
		assert_int_equal(sysfs_get_device(fake_sysfs_root_fd(f->fs), test_pci("0000:00:02.0"), &one),
		                 -EBADMSG);
	}
	/* A listing with one broken device fails whole, with an error, not a crash. */
	assert_int_equal(sysfs_list_devices(fake_sysfs_root_fd(f->fs), &d, &n), -EBADMSG);
}

static void non_address_entries_ignored(void **state) {
	Fixture *f = *state;
	_cleanup_free_ SysfsDevice *d = NULL;
	size_t n = 0;
	char path[512];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/not-a-device", fake_sysfs_path(f->fs));
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:02.0.bak", fake_sysfs_path(f->fs));
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(sysfs_list_devices(fake_sysfs_root_fd(f->fs), &d, &n), 0);
	assert_int_equal(n, 4);
}

static void empty_tree_lists_nothing(void **state) {
	(void) state;
	FakeSysfs *empty = fake_sysfs_new();
	SysfsDevice *d = (SysfsDevice *) 1;
	size_t n = 99;

	assert_non_null(empty);
	assert_int_equal(sysfs_list_devices(fake_sysfs_root_fd(empty), &d, &n), 0);
	assert_int_equal(n, 0);
	assert_null(d);
	fake_sysfs_free(empty);
}

static void open_root_of_missing_path_fails(void **state) {
	(void) state;
	int fd = -1;

	assert_int_equal(sysfs_open_root("/nonexistent-sysfs-root", &fd), -ENOENT);
	assert_int_equal(fd, -1);
}

/* Asserts what the fake file at relative holds. */
static void assert_file(Fixture *f, const char *relative, const char *expected) {
	char text[256];

	assert_int_equal(fake_sysfs_read_file(f->fs, relative, text, sizeof(text)), 0);
	assert_string_equal(text, expected);
}

/* What a bind or unbind of a device on driver writes: its override, the address into the
 * driver's unbind when the driver is on the wrong side, and drivers_probe. */
typedef struct DriverChange {
	bool bind;
	const char *address;
	const char *driver;
	const char *override;
	bool unbinds;
	int result;
} DriverChange;

static void driver_changes_write_the_kernel_sequence(void **state) {
	(void) state;
	static const DriverChange cases[] = {
		/* The fake kernel moves no driver: vfio-pci did not take the device, whose override
		 * is taken back (item 7 of the 2026-12 review). */
		{ true, "0000:00:02.0", "e1000e", "\n", true, -ENODEV },
		{ true, "0000:02:01.0", "vfio-pci", "vfio-pci", false, 0 },
		{ false, "0000:02:01.0", "vfio-pci", "\n", true, 0 },
		{ false, "0000:00:02.0", "e1000e", "\n", false, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const DriverChange *c = &cases[i];
		const char *operation = NULL;
		char path[256];
		void *fixture = NULL;
		Fixture *f;
		int r;

		setup(&fixture);
		f = fixture;
		r = c->bind ? sysfs_bind_vfio(fake_sysfs_root_fd(f->fs), test_pci(c->address), "vfio-pci",
		                              &operation)
		            : sysfs_unbind_vfio(fake_sysfs_root_fd(f->fs), test_pci(c->address), &operation);
		assert_int_equal(r, c->result);
		if (c->result == 0)
			assert_null(operation);
		else
			assert_string_equal(operation, "probe the device with vfio-pci");
		snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", c->address);
		assert_file(f, path, c->override);
		snprintf(path, sizeof(path), "bus/pci/drivers/%s/unbind", c->driver);
		assert_file(f, path, c->unbinds ? c->address : "");
		assert_file(f, "bus/pci/drivers_probe", c->address);
		teardown(&fixture);
	}
}

static void driver_change_of_unknown_address_writes_nothing(void **state) {
	Fixture *f = *state;
	const char *operation = NULL;

	assert_int_equal(
	        sysfs_bind_vfio(fake_sysfs_root_fd(f->fs), test_pci("0000:09:00.0"), "vfio-pci", &operation),
	        -ENOENT);
	assert_non_null(operation);
	assert_file(f, "bus/pci/drivers_probe", "");
}

/* A failed unbind leaves the device on its driver: the override is taken back, nothing is
 * probed, and the failing write is named. */
static void bind_with_failing_unbind_takes_back_override(void **state) {
	Fixture *f = *state;
	const char *operation = NULL;

	assert_int_equal(unlinkat(fake_sysfs_root_fd(f->fs), "bus/pci/drivers/e1000/unbind", 0), 0);
	assert_int_equal(
	        sysfs_bind_vfio(fake_sysfs_root_fd(f->fs), test_pci("0000:02:02.0"), "vfio-pci", &operation),
	        -ENOENT);
	assert_string_equal(operation, "write driver/unbind");
	assert_file(f, "bus/pci/devices/0000:02:02.0/driver_override", "\n");
	assert_file(f, "bus/pci/drivers_probe", "");
}

/* Bind checks what vfio-pci needs before the device leaves its driver: the driver loaded, an
 * IOMMU group. Nothing is written otherwise. */
static void bind_without_vfio_pci_or_group_writes_nothing(void **state) {
	Fixture *f = *state;
	const char *operation = NULL;
	int root = fake_sysfs_root_fd(f->fs);

	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:00:1f.3"), "vfio-pci", &operation), -ENODEV);
	assert_string_equal(operation, "find the device's IOMMU group");
	assert_int_equal(fake_sysfs_bind(f->fs, "0000:02:01.0", NULL), 0);
	assert_int_equal(unlinkat(root, "bus/pci/drivers/vfio-pci/unbind", 0), 0);
	assert_int_equal(unlinkat(root, "bus/pci/drivers/vfio-pci", AT_REMOVEDIR), 0);
	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:00:02.0"), "vfio-pci", &operation), -ENODEV);
	assert_string_equal(operation, "find the vfio-pci driver (module not loaded?)");
	assert_file(f, "bus/pci/devices/0000:00:02.0/driver_override", "(null)\n");
	assert_file(f, "bus/pci/drivers/e1000e/unbind", "");
	assert_file(f, "bus/pci/drivers_probe", "");
}

/* Bind to a variant the admin names: its name into the override; from vfio-pci, vfio-pci
 * unbound. The fake kernel binds nothing, so the variant does not take the device, which goes
 * back to vfio-pci's override (a VFIO driver takes only devices named to it). */
static void bind_to_a_variant_writes_its_name(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	const char *operation = NULL;

	assert_int_equal(fake_sysfs_add_driver_module(f->fs, "mlx5_vfio_pci", "mlx5_vfio_pci", true), 0);
	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:02:01.0"), "mlx5_vfio_pci", &operation),
	                 -ENODEV);
	assert_string_equal(operation, "probe the device with the named driver");
	assert_file(f, "bus/pci/drivers/vfio-pci/unbind", "0000:02:01.0");
	assert_file(f, "bus/pci/drivers_probe", "0000:02:01.0");
	assert_file(f, "bus/pci/devices/0000:02:01.0/driver_override", "vfio-pci");
	/* Already on the variant: nothing unbound, the probe asked, done. */
	assert_int_equal(fake_sysfs_bind(f->fs, "0000:00:02.0", "mlx5_vfio_pci"), 0);
	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:00:02.0"), "mlx5_vfio_pci", &operation), 0);
	assert_file(f, "bus/pci/devices/0000:00:02.0/driver_override", "mlx5_vfio_pci");
	assert_file(f, "bus/pci/drivers/mlx5_vfio_pci/unbind", "");
	/* Unbind takes it from the variant as from vfio-pci. */
	assert_int_equal(sysfs_unbind_vfio(root, test_pci("0000:00:02.0"), &operation), 0);
	assert_file(f, "bus/pci/drivers/mlx5_vfio_pci/unbind", "0000:00:02.0");
	assert_file(f, "bus/pci/devices/0000:00:02.0/driver_override", "\n");
}

/* A driver that is no VFIO PCI driver, or not loaded, moves nothing. */
static void bind_to_a_host_driver_writes_nothing(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	const char *operation = NULL;

	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:02:01.0"), "e1000", &operation), -EINVAL);
	assert_string_equal(operation, "check that the driver is vfio-pci or a vfio-pci variant");
	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:02:01.0"), "../e1000", &operation), -EINVAL);
	assert_int_equal(sysfs_bind_vfio(root, test_pci("0000:02:01.0"), "pds_vfio_pci", &operation),
	                 -ENODEV);
	assert_string_equal(operation, "find the named driver (module not loaded?)");
	assert_file(f, "bus/pci/devices/0000:02:01.0/driver_override", "(null)\n");
	assert_file(f, "bus/pci/drivers/vfio-pci/unbind", "");
	assert_file(f, "bus/pci/drivers_probe", "");
}

/* The host's use of a device, as sysfs and /proc show it; proc is the fake tree's "proc". */
static int host_use(Fixture *f, const char *address, char *reason, size_t size) {
	_cleanup_close_ int proc_fd = -EBADF;

	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/swaps", "Filename Type Size Used Priority\n"),
	                 0);
	proc_fd = openat(fake_sysfs_root_fd(f->fs), "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);
	return sysfs_device_host_use(fake_sysfs_root_fd(f->fs), test_pci(address), proc_fd, reason, size);
}

static void host_use_is_found(void **state) {
	Fixture *f = *state;
	static const char *const other_mount = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	                                       "23 22 0:5 / /proc rw shared:2 - proc proc rw\n";
	char reason[128] = "";

	/* An NVMe controller with a partitioned disk, a NIC with an interface: nothing in use. */
	assert_int_equal(fake_sysfs_add_class_device(f->fs, "0000:00:02.0", "nvme/nvme0/nvme0n1", "block"),
	                 0);
	assert_int_equal(
	        fake_sysfs_write_attribute(f->fs, "0000:00:02.0", "nvme/nvme0/nvme0n1/dev", "259:0\n"), 0);
	assert_int_equal(
	        fake_sysfs_add_class_device(f->fs, "0000:00:02.0", "nvme/nvme0/nvme0n1/nvme0n1p2", "block"),
	        0);
	assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:00:02.0",
	                                            "nvme/nvme0/nvme0n1/nvme0n1p2/dev", "259:2\n"),
	                 0);
	assert_int_equal(fake_sysfs_add_class_device(f->fs, "0000:02:02.0", "net/eth0", "net"), 0);
	assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:02:02.0", "net/eth0/flags", "0x1002\n"), 0);
	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/self/mountinfo", other_mount), 0);
	assert_int_equal(host_use(f, "0000:00:02.0", reason, sizeof(reason)), 0);
	assert_int_equal(host_use(f, "0000:02:02.0", reason, sizeof(reason)), 0);

	/* Mounted by device number, by name (btrfs shows major 0), swapped on, held. */
	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/self/mountinfo",
	                                       "22 1 259:2 / / rw shared:1 - ext4 /dev/root rw\n"),
	                 0);
	assert_int_equal(host_use(f, "0000:00:02.0", reason, sizeof(reason)), 1);
	assert_string_equal(reason, "block device nvme0n1p2 is mounted");
	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/self/mountinfo",
	                                       "22 1 0:31 / /home rw shared:1 - btrfs /dev/nvme0n1 rw\n"),
	                 0);
	assert_int_equal(host_use(f, "0000:00:02.0", reason, sizeof(reason)), 1);
	assert_string_equal(reason, "block device nvme0n1 is mounted");
	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/self/mountinfo", other_mount), 0);
	assert_int_equal(fake_sysfs_add_class_device(f->fs, "0000:00:02.0",
	                                             "nvme/nvme0/nvme0n1/holders/dm-0", "block"),
	                 0);
	assert_int_equal(host_use(f, "0000:00:02.0", reason, sizeof(reason)), 1);
	assert_string_equal(reason, "block device nvme0n1 is held by dm-0");

	/* An interface administratively up (IFF_UP), a boot VGA device. */
	assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:02:02.0", "net/eth0/flags", "0x1003\n"), 0);
	assert_int_equal(host_use(f, "0000:02:02.0", reason, sizeof(reason)), 1);
	assert_string_equal(reason, "network interface eth0 is up");
	assert_int_equal(host_use(f, "0000:02:01.0", reason, sizeof(reason)), 0);
	assert_int_equal(fake_sysfs_write_attribute(f->fs, "0000:02:01.0", "boot_vga", "1\n"), 0);
	assert_int_equal(host_use(f, "0000:02:01.0", reason, sizeof(reason)), 1);
	assert_string_equal(reason, "it is the boot VGA device");
}

static void swap_is_host_use(void **state) {
	Fixture *f = *state;
	char reason[128] = "";
	_cleanup_close_ int proc_fd = -EBADF;

	assert_int_equal(
	        fake_sysfs_add_class_device(f->fs, "0000:00:02.0", "ata1/host0/block/sda/sda2", "block"), 0);
	assert_int_equal(
	        fake_sysfs_write_attribute(f->fs, "0000:00:02.0", "ata1/host0/block/sda/sda2/dev", "8:2\n"),
	        0);
	assert_int_equal(fake_sysfs_write_file(f->fs, "proc/self/mountinfo", ""), 0);
	assert_int_equal(
	        fake_sysfs_write_file(f->fs, "proc/swaps",
	                              "Filename Type Size Used Priority\n/dev/sda2 partition 1 0 -2\n"),
	        0);
	proc_fd = openat(fake_sysfs_root_fd(f->fs), "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);
	assert_int_equal(sysfs_device_host_use(fake_sysfs_root_fd(f->fs), test_pci("0000:00:02.0"), proc_fd,
	                                       reason, sizeof(reason)),
	                 1);
	assert_string_equal(reason, "block device sda2 is in use as swap");
}

/* A device's vfio cdev: the one vfioN of its vfio-dev/ and that entry's number. */
static void vfio_cdev_is_read(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	SysfsVfioCdev cdev = {};

	assert_int_equal(fake_sysfs_add_vfio_cdev(f->fs, "0000:02:01.0", 12, 511, 12), 0);
	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:02:01.0"), &cdev), 0);
	assert_string_equal(cdev.name, "vfio12");
	assert_int_equal(major(cdev.devnum), 511);
	assert_int_equal(minor(cdev.devnum), 12);
}

/* No vfio-dev/ (a kernel without the cdev, a device on a host driver), an empty one or no such
 * device: no cdev, -ENOENT, which the attach answers as the node it cannot open. */
static void missing_vfio_cdev_is_enoent(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	SysfsVfioCdev cdev = {};

	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:02:01.0"), &cdev), -ENOENT);
	assert_int_equal(fake_sysfs_write_file(f->fs, "devices/pci0000:00/0000:00:02.0/vfio-dev/.keep", ""),
	                 0);
	assert_int_equal(unlinkat(root, "devices/pci0000:00/0000:00:02.0/vfio-dev/.keep", 0), 0);
	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:00:02.0"), &cdev), -ENOENT);
	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:09:00.0"), &cdev), -ENOENT);
}

/* What the kernel never makes is refused, not guessed at: a name that is not vfio and digits
 * (it would reach a path under /dev), two entries, a dev file that is no MAJOR:MINOR. */
static void malformed_vfio_cdev_fails(void **state) {
	static const struct {
		const char *entry, *dev;
	} bad[] = {
		{ "vfio", "511:0\n" },    { "vfio1x", "511:0\n" }, { "..vfio1", "511:0\n" },
		{ "vfio1", "511\n" },     { "vfio1", "511:\n" },   { "vfio1", ":1\n" },
		{ "vfio1", "511:1:1\n" }, { "vfio1", "4096:1\n" }, { "vfio1", "-1:1\n" },
		{ "vfio1", "" },
	};
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	SysfsVfioCdev cdev = {};
	char path[256];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(path, sizeof(path), "devices/pci0000:00/0000:00:02.0/vfio-dev/%s/dev",
		         bad[i].entry);
		assert_int_equal(fake_sysfs_write_file(f->fs, path, bad[i].dev), 0);
		if (sysfs_get_vfio_cdev(root, test_pci("0000:00:02.0"), &cdev) != -EBADMSG)
			fail_msg("entry '%s' with dev '%s' was taken", bad[i].entry, bad[i].dev);
		assert_int_equal(unlinkat(root, path, 0), 0);
		*strrchr(path, '/') = '\0';
		assert_int_equal(unlinkat(root, path, AT_REMOVEDIR), 0);
	}
	assert_int_equal(fake_sysfs_add_vfio_cdev(f->fs, "0000:00:02.0", 1, 511, 1), 0);
	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:00:02.0"), &cdev), 0);
	assert_int_equal(fake_sysfs_add_vfio_cdev(f->fs, "0000:00:02.0", 2, 511, 2), 0);
	assert_int_equal(sysfs_get_vfio_cdev(root, test_pci("0000:00:02.0"), &cdev), -EBADMSG);
}

/* /dev/iommu's number, where the kernel has the misc device. */
static void iommu_devnum_is_read(void **state) {
	Fixture *f = *state;
	int root = fake_sysfs_root_fd(f->fs);
	dev_t devnum = 0;

	assert_int_equal(sysfs_get_iommu_devnum(root, &devnum), -ENOENT);
	assert_int_equal(fake_sysfs_write_file(f->fs, "class/misc/iommu/dev", "10:257\n"), 0);
	assert_int_equal(sysfs_get_iommu_devnum(root, &devnum), 0);
	assert_int_equal(devnum, makedev(10, 257));
	assert_int_equal(fake_sysfs_write_file(f->fs, "class/misc/iommu/dev", "iommu\n"), 0);
	assert_int_equal(sysfs_get_iommu_devnum(root, &devnum), -EBADMSG);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(list_is_sorted_and_complete),
		T(viability_follows_group_drivers),
		cmocka_unit_test(driver_classes_decide_viability),
		T(vfio_drivers_recognised_by_the_kernels_signs),
		T(kernel_answer_preferred_when_available),
		T(group_members_listed),
		T(group_members_it_cannot_name_are_counted),
		T(bridges_by_header_type_not_class),
		T(unknown_addresses_fail),
		T(malformed_ids_fail),
		T(non_address_entries_ignored),
		T(empty_tree_lists_nothing),
		T(open_root_of_missing_path_fails),
		cmocka_unit_test(driver_changes_write_the_kernel_sequence),
		T(driver_change_of_unknown_address_writes_nothing),
		T(bind_with_failing_unbind_takes_back_override),
		T(bind_without_vfio_pci_or_group_writes_nothing),
		T(bind_to_a_variant_writes_its_name),
		T(bind_to_a_host_driver_writes_nothing),
		T(host_use_is_found),
		T(swap_is_host_use),
		T(vfio_cdev_is_read),
		T(missing_vfio_cdev_is_enoent),
		T(malformed_vfio_cdev_fails),
		T(iommu_devnum_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
