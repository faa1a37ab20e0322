/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The PCI address type: only the strict form parses, and it formats back to itself. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "pci.h"

static void strict_addresses_parse_and_format_back(void **state) {
	(void) state;
	static const char *const good[] = { "0000:00:02.0", "0000:01:00.0", "ffff:ff:1f.7", "0001:a0:10.3" };

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		PciAddress a;
		assert_int_equal(pci_address_parse(good[i], &a), 0);
		assert_string_equal(PCI_ADDRESS_TEXT(a), good[i]);
	}
}

static void fields_parse_to_their_values(void **state) {
	(void) state;
	PciAddress a;

	assert_int_equal(pci_address_parse("abcd:ef:1e.6", &a), 0);
	assert_int_equal(a.domain, 0xabcd);
	assert_int_equal(a.bus, 0xef);
	assert_int_equal(a.device, 0x1e);
	assert_int_equal(a.function, 6);
}

static void invalid_addresses_fail_and_leave_the_value(void **state) {
	(void) state;
	char long_one[4097];
	static const char *const bad[] = {
		"",
		"../..",
		"0000:00:02.0/../../x",
		"%s",
		"0000:00:02.0\n",
		" 0000:00:02.0",
		"0000:00:02.0 ",
		"0000:00:02",
		"0000:00:02.",
		"000:00:02.0",
		"00000:00:02.0",
		"10000:00:00.0", /* a VMD domain: not a name the daemon accepts */
		"0000:00:20.0",  /* device > 0x1f */
		"0000:00:02.8",  /* function > 7 */
		"0000:00:0G.0",
		"0000:0A:02.0", /* upper case */
		"0000-00-02.0",
		"0000:00:02:0",
		"0000:00:02.0x",
		"+000:00:02.0",
		"0x00:00:02.0",
	};
	PciAddress a = { .domain = 7 };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(pci_address_parse(bad[i], &a), -EINVAL);
	memset(long_one, 'a', sizeof(long_one) - 1);
	long_one[sizeof(long_one) - 1] = '\0';
	assert_int_equal(pci_address_parse(long_one, &a), -EINVAL);
	assert_int_equal(pci_address_parse(NULL, &a), -EINVAL);
	assert_int_equal(a.domain, 7);
}

static void addresses_compare_in_sysfs_order(void **state) {
	(void) state;
	static const char *const sorted[] = { "0000:00:02.0", "0000:00:02.1", "0000:00:1f.0", "0000:01:00.0",
		                              "0001:00:00.0" };

	for (size_t i = 0; i + 1 < ELEMENTSOF(sorted); i++) {
		PciAddress a, b;
		assert_int_equal(pci_address_parse(sorted[i], &a), 0);
		assert_int_equal(pci_address_parse(sorted[i + 1], &b), 0);
		assert_true(pci_address_compare(a, b) < 0);
		assert_true(pci_address_compare(b, a) > 0);
		assert_false(pci_address_equal(a, b));
		assert_true(pci_address_equal(a, a));
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strict_addresses_parse_and_format_back),
		cmocka_unit_test(fields_parse_to_their_values),
		cmocka_unit_test(invalid_addresses_fail_and_leave_the_value),
		cmocka_unit_test(addresses_compare_in_sysfs_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
