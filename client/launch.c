/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"
#include "macro.h"

/* lspci's short form "bb:dd.f" is this long; the strict form has "dddd:" before it. */
#define SHORT_ADDRESS_LENGTH 7

int launch_parse_address(const char *text, PciAddress *ret) {
	char strict[PCI_ADDRESS_MAX] = "0000:";
	size_t length = strlen(text);
	char *p = strict;

	if (length == SHORT_ADDRESS_LENGTH)
		p += strlen("0000:");
	else if (length != PCI_ADDRESS_MAX - 1)
		return -EINVAL;
	for (size_t i = 0; i < length; i++)
		p[i] = (char) tolower((unsigned char) text[i]);
	p[length] = '\0';
	return pci_address_parse(strict, ret);
}

int launch_add_device(Launch *l, const char *text) {
	PciAddress address;

	if (launch_parse_address(text, &address) < 0)
		return -EINVAL;
	for (size_t i = 0; i < l->n_devices; i++)
		if (pci_address_equal(l->devices[i].address, address))
			return -EEXIST;
	if (l->n_devices >= LAUNCH_MAX_DEVICES)
		return -E2BIG;
	l->devices[l->n_devices++] = (LaunchDevice){ .address = address, .fd = -1 };
	return 0;
}

/* The fd the placeholder name (length bytes, no braces) stands for, or -EINVAL. */
static int launch_lookup(const Launch *l, const char *name, size_t length, int *ret_fd) {
	char text[PCI_ADDRESS_MAX];
	PciAddress address;

	if (length == strlen(LAUNCH_PLACEHOLDER_IOMMUFD) &&
	    memcmp(name, LAUNCH_PLACEHOLDER_IOMMUFD, length) == 0) {
		*ret_fd = l->iommufd;
		return 0;
	}
	if (length >= sizeof(text))
		return -EINVAL;
	memcpy(text, name, length);
	text[length] = '\0';
	if (launch_parse_address(text, &address) < 0)
		return -EINVAL;
	for (size_t i = 0; i < l->n_devices; i++)
		if (pci_address_equal(l->devices[i].address, address)) {
			*ret_fd = l->devices[i].fd;
			return 0;
		}
	return -EINVAL;
}

/* Writes what starts at p to f (a character, an escaped brace, or a placeholder's number) and
 * sets *ret_next after it. Write errors show in ferror(f). */
static int launch_expand_step(const Launch *l, const char *p, FILE *f, const char **ret_next) {
	const char *end;
	int fd, r;

	if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
		fputc(p[0], f);
		*ret_next = p + 2;
		return 0;
	}
	if (p[0] == '}')
		return -EINVAL;
	if (p[0] != '{') {
		fputc(p[0], f);
		*ret_next = p + 1;
		return 0;
	}
	end = strchr(p + 1, '}');
	if (!end)
		return -EINVAL;
	r = launch_lookup(l, p + 1, (size_t) (end - p - 1), &fd);
	if (r < 0)
		return r;
	fprintf(f, "%d", fd);
	*ret_next = end + 1;
	return 0;
}

int launch_expand(const Launch *l, const char *argument, char **ret, const char **ret_bad) {
	_cleanup_free_ char *buffer = NULL;
	size_t size = 0;
	_cleanup_(fclosep) FILE *f = open_memstream(&buffer, &size);
	int r;

	if (!f)
		return -ENOMEM;
	for (const char *p = argument; *p;) {
		r = launch_expand_step(l, p, f, &p);
		if (r < 0) {
			*ret_bad = p;
			return r;
		}
	}
	/* A memory stream fails to write only for want of memory. */
	if (ferror(f) || fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buffer);
	return 0;
}

int launch_expand_all(const Launch *l, char *const *arguments, size_t n, char ***ret, size_t *ret_bad_index,
                      const char **ret_bad) {
	char **expanded = calloc(n + 1, sizeof(char *));

	if (!expanded)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = launch_expand(l, arguments[i], &expanded[i], ret_bad);
		if (r < 0) {
			*ret_bad_index = i;
			launch_free_arguments(expanded);
			return r;
		}
	}
	*ret = expanded;
	return 0;
}

void launch_free_arguments(char **arguments) {
	if (!arguments)
		return;
	for (char **a = arguments; *a; a++)
		free(*a);
	free(arguments);
}
