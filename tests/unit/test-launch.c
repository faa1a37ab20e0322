/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfioctl exec's pure half (client/launch.c): the addresses --device takes, and the VMM's
 * arguments with {iommufd} and {ADDRESS} replaced by fd numbers. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launch.h"
#include "macro.h"

/* Two devices attached: the iommufd is 3, their cdevs 4 and 5. */
static Launch two_devices(void) {
	Launch l = LAUNCH_INIT;

	assert_int_equal(launch_add_device(&l, "0000:01:00.0"), 0);
	assert_int_equal(launch_add_device(&l, "02:1f.7"), 0);
	l.iommufd = 3;
	l.devices[0].fd = 4;
	l.devices[1].fd = 5;
	return l;
}

static void addresses_parse_in_strict_and_short_form_either_case(void **state) {
	(void) state;
	static const struct {
		const char *text, *strict;
	} good[] = {
		{ "0000:01:00.0", "0000:01:00.0" },
		{ "01:00.0", "0000:01:00.0" },
		{ "ABCD:EF:1E.6", "abcd:ef:1e.6" },
		{ "0a:1F.7", "0000:0a:1f.7" },
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		PciAddress a;
		assert_int_equal(launch_parse_address(good[i].text, &a), 0);
		assert_string_equal(PCI_ADDRESS_TEXT(a), good[i].strict);
	}
}

static void invalid_addresses_fail(void **state) {
	(void) state;
	static const char *const bad[] = { "",          "1:00.0",         "0:01:00.0",     "01:00.0 ",
		                           "01:20.0",   "01:00.8",        "00000:01:00.0", "0000:01:00.0\n",
		                           "01-00.0",   "0000:01:00:0",   "x0000:01:00.0", "iommufd",
		                           "0001:00.0", "0000:01:00.0.0", "0000:01:00.0x" };
	PciAddress a;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(launch_parse_address(bad[i], &a), -EINVAL);
}

static void device_named_twice_fails(void **state) {
	(void) state;
	Launch l = LAUNCH_INIT;

	assert_int_equal(launch_add_device(&l, "0000:01:00.0"), 0);
	assert_int_equal(launch_add_device(&l, "01:00.0"), -EEXIST);
	assert_int_equal(launch_add_device(&l, "01:00.1"), 0);
	assert_int_equal(launch_add_device(&l, "not-an-address"), -EINVAL);
	assert_int_equal(l.n_devices, 2);
	assert_int_equal(l.devices[0].fd, -1);
}

static void too_many_devices_fail(void **state) {
	(void) state;
	Launch l = LAUNCH_INIT;
	char text[PCI_ADDRESS_MAX];

	for (int i = 0; i < LAUNCH_MAX_DEVICES; i++) {
		(void) snprintf(text, sizeof(text), "0000:%02x:00.0", i);
		assert_int_equal(launch_add_device(&l, text), 0);
	}
	assert_int_equal(launch_add_device(&l, "0000:ff:00.0"), -E2BIG);
	assert_int_equal(l.n_devices, LAUNCH_MAX_DEVICES);
}

static void placeholders_expand_to_fd_numbers(void **state) {
	(void) state;
	static const struct {
		const char *argument, *expanded;
	} cases[] = {
		{ "", "" },
		{ "-m", "-m" },
		{ "{iommufd}", "3" },
		{ "iommufd,id=iommufd0,fd={iommufd}", "iommufd,id=iommufd0,fd=3" },
		{ "vfio-pci,iommufd=iommufd0,fd={0000:01:00.0}", "vfio-pci,iommufd=iommufd0,fd=4" },
		/* Any spelling of a --device's address, whichever was given. */
		{ "fd={01:00.0}", "fd=4" },
		{ "fd={02:1f.7}", "fd=5" },
		{ "fd={0000:02:1F.7}", "fd=5" },
		{ "{iommufd}{0000:01:00.0}{02:1f.7}", "345" },
		/* Escaped braces, for JSON arguments. */
		{ "{{}}", "{}" },
		{ "{{\"driver\":\"vfio-pci\",\"fd\":{01:00.0}}}", "{\"driver\":\"vfio-pci\",\"fd\":4}" },
		{ "{{iommufd}}", "{iommufd}" },
	};
	Launch l = two_devices();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *expanded = NULL;
		const char *bad = NULL;
		assert_int_equal(launch_expand(&l, cases[i].argument, &expanded, &bad), 0);
		assert_string_equal(expanded, cases[i].expanded);
		assert_null(bad);
	}
}

static void bad_placeholders_fail_and_point_at_the_brace(void **state) {
	(void) state;
	static const struct {
		const char *argument;
		size_t bad_offset;
	} cases[] = {
		{ "{}", 0 },
		{ "fd={foo}", 3 },
		{ "{IOMMUFD}", 0 },
		{ "{ iommufd}", 0 },
		{ "fd={0000:03:00.0}", 3 }, /* an address, but of no --device */
		{ "{iommufd", 0 },
		{ "{iommufd}{", 9 },
		{ "a}", 1 },
		{ "{iommufd}}", 9 },
		{ "{0000:01:00.0{iommufd}}", 0 },
	};
	Launch l = two_devices();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *expanded = NULL;
		const char *bad = NULL;
		assert_int_equal(launch_expand(&l, cases[i].argument, &expanded, &bad), -EINVAL);
		assert_null(expanded);
		assert_ptr_equal(bad, cases[i].argument + cases[i].bad_offset);
	}
}

static void every_argument_expands(void **state) {
	(void) state;
	char *arguments[] = { (char *) "qemu-system-x86_64", (char *) "-object",
		              (char *) "iommufd,id=i0,fd={iommufd}", (char *) "-device",
		              (char *) "vfio-pci,iommufd=i0,fd={01:00.0}" };
	Launch l = two_devices();
	char **expanded = NULL;
	const char *bad = NULL;
	size_t index = 99;

	assert_int_equal(launch_expand_all(&l, arguments, ELEMENTSOF(arguments), &expanded, &index, &bad),
	                 0);
	assert_string_equal(expanded[0], "qemu-system-x86_64");
	assert_string_equal(expanded[2], "iommufd,id=i0,fd=3");
	assert_string_equal(expanded[4], "vfio-pci,iommufd=i0,fd=4");
	assert_null(expanded[ELEMENTSOF(arguments)]);
	assert_int_equal(index, 99);
	launch_free_arguments(expanded);
}

static void bad_argument_fails_with_its_index(void **state) {
	(void) state;
	char *arguments[] = { (char *) "vmm", (char *) "{iommufd}", (char *) "fd={01:00.1}" };
	Launch l = two_devices();
	char **expanded = NULL;
	const char *bad = NULL;
	size_t index = 99;

	assert_int_equal(launch_expand_all(&l, arguments, ELEMENTSOF(arguments), &expanded, &index, &bad),
	                 -EINVAL);
	assert_null(expanded);
	assert_int_equal(index, 2);
	assert_ptr_equal(bad, arguments[2] + 3);
	launch_free_arguments(NULL);
}

/* Before anything is attached the fds are -1: the same expansion checks the placeholders. */
static void placeholders_check_before_attaching(void **state) {
	(void) state;
	Launch l = LAUNCH_INIT;
	_cleanup_free_ char *expanded = NULL;
	const char *bad = NULL;

	assert_int_equal(launch_add_device(&l, "01:00.0"), 0);
	assert_int_equal(launch_expand(&l, "{iommufd},{0000:01:00.0}", &expanded, &bad), 0);
	assert_string_equal(expanded, "-1,-1");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_parse_in_strict_and_short_form_either_case),
		cmocka_unit_test(invalid_addresses_fail),
		cmocka_unit_test(device_named_twice_fails),
		cmocka_unit_test(too_many_devices_fail),
		cmocka_unit_test(placeholders_expand_to_fd_numbers),
		cmocka_unit_test(bad_placeholders_fail_and_point_at_the_brace),
		cmocka_unit_test(every_argument_expands),
		cmocka_unit_test(bad_argument_fails_with_its_index),
		cmocka_unit_test(placeholders_check_before_attaching),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
