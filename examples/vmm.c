/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A minimal VMM's use of libvfiod: create a KVM VM, attach a PCI device through vfiod, use
 * the fds, detach. Runs unprivileged: it needs /dev/kvm, never /dev/vfio.
 *
 *   vfiod-example-vmm ADDRESS          attach, report, wait for SIGINT/SIGTERM, detach
 *   vfiod-example-vmm --once ADDRESS   attach, report, detach */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libvfiod.h>

static int create_vm(void) {
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0)
		return -errno;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	return vm < 0 ? -errno : vm;
}

/* What the device fd shows: its regions and IRQs, and the IDs in its config space. */
static int report_device(int device_fd) {
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info config = { .argsz = sizeof(config), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t ids[2];

	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0 ||
	    ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &config) < 0 ||
	    pread(device_fd, ids, sizeof(ids), (off_t) config.offset) != sizeof(ids))
		return -errno;
	printf("device: vendor %04x device %04x, %u regions, %u irqs%s\n", ids[0], ids[1], info.num_regions,
	       info.num_irqs, info.flags & VFIO_DEVICE_FLAGS_RESET ? ", resettable" : "");
	return 0;
}

int main(int argc, char *argv[]) {
	bool once = argc == 3 && strcmp(argv[1], "--once") == 0;
	const char *address = argv[argc - 1];
	vfiod_attachment attachment;
	vfiod_client *client = NULL;
	int vm_fd, kvm_device_fd = -1, r, signal_number;
	sigset_t mask;

	if (argc != 2 && !once) {
		fprintf(stderr, "Usage: %s [--once] ADDRESS\n", argv[0]);
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
		return 1;
	}
	r = vfiod_attach(client, address, vm_fd, &kvm_device_fd, &attachment);
	if (r < 0) {
		fprintf(stderr, "attaching %s: %s\n", address, vfiod_error_text(client));
		return 1;
	}
	printf("attached %s: attachment %lld, IOMMU group %d, VM %lld\n", attachment.address, attachment.id,
	       attachment.group, attachment.vm);
	if (report_device(attachment.device_fd) < 0)
		perror("reading the device");
	fflush(stdout);
	if (!once) {
		sigemptyset(&mask);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		sigwait(&mask, &signal_number);
	}
	r = vfiod_detach(client, &attachment, kvm_device_fd);
	if (r < 0)
		fprintf(stderr, "detaching: %s\n", vfiod_error_text(client));
	else
		printf("detached %s\n", address);
	vfiod_disconnect(client);
	close(kvm_device_fd);
	close(vm_fd);
	return r < 0;
}
