/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure half of `vfioctl exec`: the devices its command line names, and the VMM's arguments
 * with their placeholders replaced by the numbers of the fds the VMM inherits. No I/O, so that
 * tests/unit/test-launch.c runs it as is. */

#include <stddef.h>

#include "pci.h"

/* At most this many --device options. */
#define LAUNCH_MAX_DEVICES 32

/* The placeholder of the VM's iommufd; a device's is its address in braces. */
#define LAUNCH_PLACEHOLDER_IOMMUFD "iommufd"

typedef struct LaunchDevice {
	PciAddress address;
	int fd; /* its cdev's fd number once attached; -1 before */
} LaunchDevice;

/* The devices in command-line order (the order they are attached in), and the fds they got. */
typedef struct Launch {
	LaunchDevice devices[LAUNCH_MAX_DEVICES];
	size_t n_devices;
	int iommufd; /* the VM's iommufd once attached; -1 before */
} Launch;

#define LAUNCH_INIT                                                                                         \
	{ .iommufd = -1 }

/* Parses a PCI address as a user may type it: the strict form "0000:01:00.0", lspci's short
 * form "01:00.0" (domain 0000), hex digits in either case. Returns 0, or -EINVAL. */
int launch_parse_address(const char *text, PciAddress *ret);

/* Adds the device whose address is text. Returns 0; -EINVAL when text is no address, -EEXIST
 * when the device is named already, -E2BIG when LAUNCH_MAX_DEVICES are. */
int launch_add_device(Launch *l, const char *text);

/* argument with each placeholder replaced by a number: {iommufd} by l->iommufd, {ADDRESS} by
 * the fd of the device at ADDRESS (any spelling launch_parse_address() takes, so also the one
 * given on the command line); {{ and }} stand for a brace. Returns 0 and a new string in *ret,
 * -EINVAL for a brace that starts no placeholder of l (unknown, unterminated, a lone '}') with
 * *ret_bad pointing at it in argument, or -ENOMEM. */
int launch_expand(const Launch *l, const char *argument, char **ret, const char **ret_bad);

/* Every one of the n arguments expanded, as launch_expand(): a new NULL-terminated array in
 * *ret (launch_free_arguments() releases it), or -EINVAL with the index of the bad argument in
 * *ret_bad_index and the bad brace in *ret_bad, or -ENOMEM. */
int launch_expand_all(const Launch *l, char *const *arguments, size_t n, char ***ret, size_t *ret_bad_index,
                      const char **ret_bad);

/* Frees an array launch_expand_all() made; accepts NULL. */
void launch_free_arguments(char **arguments);
