/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the rig's programs that act as a VMM share (tests/vm/vmm-test.c, bench/bench-rig.c):
 * checks that print the expression, the values and errno and exit 1, a KVM VM, and a
 * connection to the daemon. Programs only: every failure ends the process. */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libvfiod.h"

#define CHECK(expr)                                                                                         \
	do {                                                                                                \
		if (!(expr)) {                                                                              \
			fprintf(stderr, "%s: %s:%d: check failed: %s (errno %d: %s)\n",                     \
			        program_invocation_short_name, __FILE__, __LINE__, #expr, errno,            \
			        strerror(errno));                                                           \
			exit(1);                                                                            \
		}                                                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                                                      \
	do {                                                                                                \
		long long _a = (long long) (a), _b = (long long) (b);                                       \
		if (_a != _b) {                                                                             \
			fprintf(stderr, "%s: %s:%d: %s == %s failed: %lld != %lld (errno %d)\n",            \
			        program_invocation_short_name, __FILE__, __LINE__, #a, #b, _a, _b, errno);  \
			exit(1);                                                                            \
		}                                                                                           \
	} while (0)

/* A new KVM VM; the caller owns the fd. */
static inline int create_vm(void) {
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	CHECK(kvm >= 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK(vm >= 0);
	CHECK(close(kvm) == 0);
	return vm;
}

/* A connection to the daemon at $VFIOD_SOCKET (else the default path). */
static inline vfiod_client *connect_daemon(void) {
	vfiod_client *client = NULL;
	int r = vfiod_connect(NULL, &client);

	errno = -r;
	CHECK(r >= 0);
	return client;
}
