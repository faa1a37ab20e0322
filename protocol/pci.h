/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A PCI function's address, "dddd:bb:dd.f", as a value: parsed once, where a call is decoded
 * or a sysfs directory read, and carried as this struct through sysfs, policy, state and the
 * kernel boundary, which format it back to text where a path or the kernel needs it. Pure. */

#include <stdbool.h>
#include <stdint.h>

/* "dddd:bb:dd.f" plus NUL. */
#define PCI_ADDRESS_MAX 13

typedef struct PciAddress {
	uint16_t domain;
	uint8_t bus;
	uint8_t device;   /* 5 bits */
	uint8_t function; /* 3 bits */
} PciAddress;

/* Parses the strict form only: 4 hex digits, ':', 2, ':', 2 (device <= 1f), '.', one digit
 * 0-7, lower-case hex, nothing before or after. Nothing else can name a sysfs path or a
 * device for the kernel. Returns 0, or -EINVAL (and *ret untouched). */
int pci_address_parse(const char *text, PciAddress *ret);

/* The strict form of a into buffer, which it returns. */
char *pci_address_format(PciAddress a, char buffer[static PCI_ADDRESS_MAX]);

/* The strict form of a, in a buffer that lives until the end of the enclosing block. */
#define PCI_ADDRESS_TEXT(a) pci_address_format((a), (char[PCI_ADDRESS_MAX]){})

bool pci_address_equal(PciAddress a, PciAddress b);

/* <0, 0, >0 in address order (domain, bus, device, function), as sysfs lists them. */
int pci_address_compare(PciAddress a, PciAddress b);
