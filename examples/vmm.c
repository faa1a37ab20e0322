/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A minimal VMM's use of libvfiod: create a KVM VM, attach a PCI device through vfiod, use
 * the fds, detach. Runs unprivileged: it needs /dev/kvm, never /dev/vfio or /dev/iommu.
 *
 *   vfiod-example-vmm [--once] [--cdev] [--map=SIZE] ADDRESS
 *
 * attaches, reports, waits for SIGINT/SIGTERM (not with --once), detaches. The legacy group
 * mode (default) gets group, container and device fds; --cdev the device's vfio cdev and an
 * iommufd (kernels with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV), and then allocates an
 * IOAS, attaches the device to it, maps memory and resets the device, as QEMU's iommufd
 * backend does. --map=SIZE (bytes, or with K, M or G) maps that much anonymous memory for DMA
 * at IOVA 1 MiB, pinned against the process's RLIMIT_MEMLOCK: through the container in the
 * group mode (default: nothing), through the IOAS in the cdev mode (default 1M; 0: nothing).
 * A failed map is reported with the kernel's error and ends the VMM with status 1. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libvfiod.h>
/* The iommufd and cdev ioctls where the system's kernel headers (Linux < 6.6) lack them;
 * installed with libvfiod. It includes linux/vfio.h. */
#include "vfio-cdev.h"

#define DMA_IOVA 0x100000ull

typedef struct Options {
	bool once, cdev;
	unsigned long long map_size;
	const char *address;
} Options;

static int create_vm(void) {
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0)
		return -errno;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	return vm < 0 ? -errno : vm;
}

/* What the device fd shows: its regions and IRQs, and the IDs in its config space. Sets
 * *ret_resettable. */
static int report_device(int device_fd, bool *ret_resettable) {
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info config = { .argsz = sizeof(config), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t ids[2];

	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0 ||
	    ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &config) < 0 ||
	    pread(device_fd, ids, sizeof(ids), (off_t) config.offset) != sizeof(ids))
		return -errno;
	printf("device: vendor %04x device %04x, %u regions, %u irqs%s\n", ids[0], ids[1], info.num_regions,
	       info.num_irqs, info.flags & VFIO_DEVICE_FLAGS_RESET ? ", resettable" : "");
	*ret_resettable = info.flags & VFIO_DEVICE_FLAGS_RESET;
	return 0;
}

/* Guest memory stand-in: size bytes of anonymous memory, kept for the life of the process as
 * guest memory is; NULL after saying why not. */
static void *dma_buffer(unsigned long long size) {
	void *buffer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buffer != MAP_FAILED)
		return buffer;
	printf("dma: allocating %llu bytes failed: %s\n", size, strerror(errno));
	return NULL;
}

/* The group mode's DMA: VFIO_IOMMU_MAP_DMA on the container. 0 or -errno. */
static int map_container(int container_fd, void *buffer, unsigned long long size) {
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t) buffer,
		.iova = DMA_IOVA,
		.size = size,
	};

	return ioctl(container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
}

/* The cdev mode's DMA: IOMMU_IOAS_MAP into the IOAS on the iommufd. 0 or -errno. */
static int map_ioas(int iommufd, uint32_t ioas, void *buffer, unsigned long long size) {
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t) buffer,
		.length = size,
		.iova = DMA_IOVA,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &map) < 0 ? -errno : 0;
}

/* Maps o->map_size bytes (none when 0) for DMA: through the container fd in the group mode,
 * through the IOAS ioas on the iommufd fd in the cdev mode. Prints the outcome. */
static int map_dma(const Options *o, int fd, uint32_t ioas) {
	const char *through = o->cdev ? "the IOAS" : "the container";
	void *buffer;
	int r;

	if (o->map_size == 0)
		return 0;
	buffer = dma_buffer(o->map_size);
	if (!buffer)
		return -ENOMEM;
	r = o->cdev ? map_ioas(fd, ioas, buffer, o->map_size) : map_container(fd, buffer, o->map_size);
	if (r < 0)
		printf("dma: mapping %llu bytes through %s failed: %s (errno %d)\n", o->map_size, through,
		       strerror(-r), -r);
	else
		printf("dma: mapped %llu bytes at IOVA 0x%llx through %s\n", o->map_size, DMA_IOVA, through);
	return r;
}

/* The cdev mode's IOMMU: an IOAS on the VM's iommufd, with the device attached to it. */
static int attach_ioas(const vfiod_device_attachment *a, uint32_t *ret_ioas) {
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };

	if (ioctl(a->iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return -errno;
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(a->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return -errno;
	printf("iommufd: IOAS %u, device attached to it\n", alloc.out_ioas_id);
	*ret_ioas = alloc.out_ioas_id;
	return 0;
}

static void wait_for_signal(void) {
	int signal_number;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigwait(&mask, &signal_number);
}

/* The legacy group mode: group, container and device fds. Returns the exit status. */
static int run_group_mode(vfiod_client *client, int vm_fd, const Options *o) {
	vfiod_attachment attachment;
	int kvm_device_fd = -1, r;
	bool resettable;

	r = vfiod_attach(client, o->address, vm_fd, &kvm_device_fd, &attachment);
	if (r < 0) {
		fprintf(stderr, "attaching %s: %s\n", o->address, vfiod_error_text(client));
		if (kvm_device_fd >= 0)
			close(kvm_device_fd);
		return 1;
	}
	printf("attached %s: attachment %lld, IOMMU group %d, VM %lld\n", attachment.address, attachment.id,
	       attachment.group, attachment.vm);
	if (report_device(attachment.device_fd, &resettable) < 0)
		perror("reading the device");
	r = map_dma(o, attachment.container_fd, 0);
	fflush(stdout);
	if (!o->once && r >= 0)
		wait_for_signal();
	if (vfiod_detach(client, &attachment, kvm_device_fd) < 0) {
		fprintf(stderr, "detaching: %s\n", vfiod_error_text(client));
		r = -1;
	} else
		printf("detached %s\n", o->address);
	if (kvm_device_fd >= 0)
		close(kvm_device_fd);
	return r < 0;
}

/* What the cdev mode does with an attached device: IOAS, DMA, config space, reset. */
static int use_cdev(const vfiod_device_attachment *a, const Options *o) {
	bool resettable = false;
	uint32_t ioas = 0;
	int r = attach_ioas(a, &ioas);

	if (r < 0) {
		fprintf(stderr, "attaching the device to an IOAS: %s\n", strerror(-r));
		return r;
	}
	r = map_dma(o, a->iommufd, ioas);
	if (r < 0)
		return r;
	if (report_device(a->device_fd, &resettable) < 0)
		perror("reading the device");
	if (resettable) {
		r = ioctl(a->device_fd, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
		printf("reset: %s\n", r < 0 ? strerror(-r) : "ok");
	}
	return r;
}

/* The cdev mode: the device's cdev and an iommufd. Returns the exit status. */
static int run_cdev_mode(vfiod_client *client, int vm_fd, const Options *o) {
	vfiod_vm vm = VFIOD_VM_INIT(vm_fd);
	vfiod_device_attachment attachment;
	int r;

	r = vfiod_attach_device(client, o->address, &vm, 0, &attachment);
	if (r < 0) {
		fprintf(stderr, "attaching %s: %s\n", o->address, vfiod_error_text(client));
		vfiod_vm_close(&vm);
		return 1;
	}
	printf("attached %s: attachment %lld, IOMMU group %d, VM %lld, mode %s, devid %lld\n",
	       attachment.address, attachment.id, attachment.group, attachment.vm, attachment.mode,
	       attachment.devid);
	r = use_cdev(&attachment, o);
	fflush(stdout);
	if (!o->once && r >= 0)
		wait_for_signal();
	if (vfiod_detach_device(client, &attachment, &vm) < 0) {
		fprintf(stderr, "detaching: %s\n", vfiod_error_text(client));
		r = -1;
	} else
		printf("detached %s\n", o->address);
	/* The IOAS and its mappings go with the iommufd. */
	vfiod_vm_close(&vm);
	return r < 0;
}

/* "4096", "64K", "256M", "1G" (binary multiples). */
static int parse_size(const char *text, unsigned long long *ret) {
	unsigned long long value, shift = 0;
	char *end = NULL;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || text[0] == '-')
		return -EINVAL;
	if (*end)
		shift = end[0] == 'K' ? 10 : end[0] == 'M' ? 20 : end[0] == 'G' ? 30 : 64;
	if (shift == 64 || (*end && end[1]) || value > (~0ull >> shift))
		return -EINVAL;
	*ret = value << shift;
	return 0;
}

static int parse_options(int argc, char *argv[], Options *o) {
	static const struct option options[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "cdev", no_argument, NULL, 'c' },
		{ "map", required_argument, NULL, 'm' },
		{},
	};
	bool map_given = false;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		if (c == 'o')
			o->once = true;
		else if (c == 'c')
			o->cdev = true;
		else if (c == 'm' && parse_size(optarg, &o->map_size) == 0)
			map_given = true;
		else
			return -EINVAL;
	}
	if (optind != argc - 1)
		return -EINVAL;
	if (o->cdev && !map_given)
		o->map_size = 1 << 20;
	o->address = argv[optind];
	return 0;
}

int main(int argc, char *argv[]) {
	vfiod_client *client = NULL;
	Options o = {};
	int vm_fd, r;

	if (parse_options(argc, argv, &o) < 0) {
		fprintf(stderr, "Usage: %s [--once] [--cdev] [--map=SIZE] ADDRESS\n", argv[0]);
		return 2;
	}
	vm_fd = create_vm();
	if (vm_fd < 0) {
		fprintf(stderr, "creating a KVM VM: %s\n", strerror(-vm_fd));
		return 1;
	}
	r = vfiod_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "connecting to vfiod: %s\n", strerror(-r));
		close(vm_fd);
		return 1;
	}
	r = o.cdev ? run_cdev_mode(client, vm_fd, &o) : run_group_mode(client, vm_fd, &o);
	vfiod_disconnect(client);
	close(vm_fd);
	return r;
}
