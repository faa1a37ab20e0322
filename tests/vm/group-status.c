/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* group-status GROUP: what the kernel says of an IOMMU group, for rig tests that hold vfiod's
 * listing against it. Opens /dev/vfio/GROUP (root, while no one else holds it: a group opens
 * once system-wide), asks VFIO_GROUP_GET_STATUS and prints "yes" when its flags have
 * VFIO_GROUP_FLAGS_VIABLE, "no" otherwise, as vfioctl devices prints its VIABLE column; the
 * flags go to stderr. A failed step prints the expression and errno and exits 1. */

#include <linux/vfio.h>

#include "rig.h"

int main(int argc, char *argv[]) {
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64], *end = NULL;
	long group;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "Usage: group-status GROUP\n");
		return 2;
	}
	errno = 0;
	group = strtol(argv[1], &end, 10);
	CHECK(errno == 0 && end != argv[1] && !*end && group >= 0 && group <= INT32_MAX);
	CHECK(snprintf(path, sizeof(path), "/dev/vfio/%ld", group) < (int) sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(ioctl(fd, VFIO_GROUP_GET_STATUS, &status) == 0);
	CHECK(close(fd) == 0);
	fprintf(stderr, "group-status: group %ld flags 0x%x\n", group, status.flags);
	puts(status.flags & VFIO_GROUP_FLAGS_VIABLE ? "yes" : "no");
	return 0;
}
