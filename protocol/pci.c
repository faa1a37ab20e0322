/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci.h"

static int hex_digit(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value of the n lower-case hex digits at text, or -1. */
static long hex_field(const char *text, size_t n) {
	long value = 0;

	for (size_t i = 0; i < n; i++) {
		int digit = hex_digit(text[i]);
		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	return value;
}

int pci_address_parse(const char *text, PciAddress *ret) {
	long domain, bus, device, function;

	/* strnlen first: text may be any client string, read no further than needed. */
	if (!text || strnlen(text, PCI_ADDRESS_MAX) != PCI_ADDRESS_MAX - 1)
		return -EINVAL;
	if (text[4] != ':' || text[7] != ':' || text[10] != '.')
		return -EINVAL;
	domain = hex_field(text, 4);
	bus = hex_field(text + 5, 2);
	device = hex_field(text + 8, 2);
	function = hex_field(text + 11, 1);
	if (domain < 0 || bus < 0 || device < 0 || device > 0x1f || function < 0 || function > 7)
		return -EINVAL;
	*ret = (PciAddress){ .domain = (uint16_t) domain,
		             .bus = (uint8_t) bus,
		             .device = (uint8_t) device,
		             .function = (uint8_t) function };
	return 0;
}

char *pci_address_format(PciAddress a, char buffer[static PCI_ADDRESS_MAX]) {
	(void) snprintf(buffer, PCI_ADDRESS_MAX, "%04x:%02x:%02x.%x", (unsigned) a.domain, (unsigned) a.bus,
	                (unsigned) (a.device & 0x1f), (unsigned) (a.function & 7));
	return buffer;
}

bool pci_address_equal(PciAddress a, PciAddress b) {
	return pci_address_compare(a, b) == 0;
}

int pci_address_compare(PciAddress a, PciAddress b) {
	if (a.domain != b.domain)
		return a.domain < b.domain ? -1 : 1;
	if (a.bus != b.bus)
		return a.bus < b.bus ? -1 : 1;
	if (a.device != b.device)
		return a.device < b.device ? -1 : 1;
	if (a.function != b.function)
		return a.function < b.function ? -1 : 1;
	return 0;
}
