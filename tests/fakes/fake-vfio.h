/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A fake kernel behind the state model's seam (VfioOps, daemon/kernel/vfio.h), for unit
 * tests: every fd it hands out is a memfd (an iommufd is one named FAKE_VFIO_IOMMUFD, a cdev one
 * named FAKE_VFIO_CDEV, so that a test can count those open); every call is counted; the call
 * named fail_at fails with -fail_errno, naming the operation the real one names; not_viable
 * makes every group not viable; group_probe_viable answers as the kernel would for a group no
 * one holds, unless probe_errno (ENOENT after a reset: no group node) makes it fail as a group
 * open would; and with gate >= 0, group_open and device_cdev_open first read one byte from
 * gate, so a test holds a job in the "kernel" until it writes one. Worker threads call it: the
 * counters are atomic. fake_vfio_reset() before each case. */

#include <stdbool.h>

#include "vfio.h"

typedef enum FakeVfioCall {
	FAKE_CALL_GROUP_OPEN,
	FAKE_CALL_GET_VIABLE,
	FAKE_CALL_PROBE_VIABLE,
	FAKE_CALL_CONTAINER_OPEN,
	FAKE_CALL_SET_CONTAINER,
	FAKE_CALL_UNSET_CONTAINER,
	FAKE_CALL_SET_IOMMU,
	FAKE_CALL_GET_DEVICE_FD,
	FAKE_CALL_IOMMUFD_OPEN,
	FAKE_CALL_CDEV_OPEN,
	FAKE_N_CALLS,
	FAKE_CALL_NONE = FAKE_N_CALLS,
} FakeVfioCall;

typedef struct FakeVfio {
	unsigned calls[FAKE_N_CALLS];
	FakeVfioCall fail_at;
	int fail_errno;
	bool not_viable;
	int probe_errno;
	int gate;
	/* What the cdev mode's calls were last given. */
	dev_t iommu_devnum;
	SysfsVfioCdev cdev;
} FakeVfio;

#define FAKE_VFIO_IOMMUFD "fake-iommufd"
#define FAKE_VFIO_CDEV    "fake-cdev"

extern FakeVfio fake_vfio;
extern const VfioOps fake_vfio_ops;

/* No call counted, none failing, groups viable, no group node to probe, no gate. */
void fake_vfio_reset(void);

/* How many files the fake handed out under name (FAKE_VFIO_IOMMUFD, FAKE_VFIO_CDEV) this
 * process holds open now, in any fd: the daemon's copies and those a test received alike. */
int fake_vfio_count_open(const char *name);
