/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The test VMM of the real-kernel rig. It runs as an unprivileged user, creates KVM VMs and
 * attaches devices through libvfiod, and checks that the fds it gets are the real thing.
 * Each failed check prints the expression, the values and errno, and exits 1.
 *
 *   vmm-test unprivileged GROUP...        no root, no capabilities, no access to /dev/vfio/N
 *   vmm-test attach ADDRESS...            one VM, every device: config IDs, DMA map, reset,
 *                                         regions and IRQs, one container, one KVM VFIO device
 *   vmm-test hold [-e ERROR] ADDRESS...   attach to one VM, print "HELD <id>" for each,
 *                                         detach on SIGTERM; with -e, an admin took the
 *                                         attachments meanwhile and each Detach must fail
 *                                         with Varlink error ERROR
 *   vmm-test cycle N ADDRESS              attach and detach N times, a new VM each time
 *   vmm-test attach-only ADDRESS          Attach without the rest, print "ATTACHED <id>", then
 *                                         Detach on SIGTERM
 *   vmm-test expect ERROR ADDRESS [FD]    Attach fails with Varlink error ERROR; FD is the kind
 *                                         of fd passed as vmFd: vm (default), pipe, null,
 *                                         kvm-system; prints the error's parameters
 *   vmm-test expect-open ERROR ID         OpenDevice(ID) fails with ERROR
 *   vmm-test attach-abandon ADDRESS       send an Attach and exit without waiting for its
 *                                         reply: the daemon meets the VMM's end wherever it is
 *   vmm-test keep-device ADDRESS          attach, keep a copy of the device fd, detach (every
 *                                         other fd closed), print "KEPT", close it on SIGTERM
 *   vmm-test foreign-vm ADDRESS1 ADDRESS2 attach ADDRESS1 to a new VM, then fork: the child
 *                                         (another memory map) holds the VM fd, gets EIO for
 *                                         KVM_CREATE_DEVICE on it, and PermissionDenied for
 *                                         Attach(ADDRESS2) with it; prints "FOREIGN-VM ok"
 *
 * The cdev mode (AttachDevice: the device's vfio cdev and the VM's iommufd), with --cdev
 * after the command:
 *   vmm-test attach --cdev ADDRESS...     one VM, every device: mode "cdev", one iommufd, bound
 *                                         (a devid), config IDs, reset, regions and IRQs, one
 *                                         IOAS with every device attached, DMA map, one KVM
 *                                         VFIO device
 *   vmm-test hold --cdev [-e ERROR] ADDRESS...   as hold
 *   vmm-test cycle --cdev N ADDRESS       as cycle
 *   vmm-test expect --cdev ERROR ADDRESS [FD]    AttachDevice fails with Varlink error ERROR;
 *                                         FD is the kind of fd passed as iommuFd: none
 *                                         (default: no iommuFd), vm, pipe, null, kvm-system */

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libvfiod.h"
#include "protocol.h"
#include "rig.h"
#include "vfio-cdev.h"
#include "wire.h"

#define MAX_DEVICES 8

static unsigned read_sysfs_id(const char *address, const char *file) {
	char path[128], text[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", address, file);
	f = fopen(path, "re");
	CHECK(f);
	CHECK(fgets(text, sizeof(text), f));
	fclose(f);
	return (unsigned) strtoul(text, NULL, 16);
}

static void check_unprivileged(int argc, char *argv[]) {
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	CHECK(getuid() != 0 && geteuid() != 0);
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0) {
			CHECK(strtoull(line + 7, NULL, 16) == 0);
			found = 1;
		}
	fclose(f);
	CHECK(found);
	for (int i = 0; i < argc; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/vfio/%s", argv[i]);
		CHECK(open(path, O_RDWR | O_CLOEXEC) < 0 && errno == EACCES);
	}
}

/* The device fd (a group's device or a cdev) is the device: its config space holds the IDs
 * sysfs shows. */
static void check_device_fd(const char *address, int device_fd) {
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info config = { .argsz = sizeof(config), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t ids[2] = {};

	CHECK(ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) == 0);
	CHECK(info.flags & VFIO_DEVICE_FLAGS_PCI);
	CHECK(info.num_regions > VFIO_PCI_CONFIG_REGION_INDEX);
	CHECK(info.num_irqs > 0);
	CHECK(ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &config) == 0);
	CHECK(pread(device_fd, ids, sizeof(ids), (off_t) config.offset) == sizeof(ids));
	CHECK_EQ(ids[0], read_sysfs_id(address, "vendor"));
	CHECK_EQ(ids[1], read_sysfs_id(address, "device"));
	if (info.flags & VFIO_DEVICE_FLAGS_RESET)
		CHECK(ioctl(device_fd, VFIO_DEVICE_RESET) == 0);
	printf("%s: vendor %04x device %04x, %u regions, %u irqs, reset %s\n", address, ids[0], ids[1],
	       info.num_regions, info.num_irqs, info.flags & VFIO_DEVICE_FLAGS_RESET ? "ok" : "unsupported");
}

static void check_device(const vfiod_attachment *a) {
	check_device_fd(a->address, a->device_fd);
}

#define DMA_SIZE (1u << 20)
#define DMA_IOVA 0x100000u

/* 1 MiB to map for DMA; the caller unmaps it. */
static void *dma_buffer(void) {
	void *buffer = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buffer != MAP_FAILED);
	return buffer;
}

/* The container fd is the VM's IOMMU: 1 MiB maps and unmaps (pinned against our memlock). */
static void check_dma(const vfiod_attachment *a) {
	void *buffer = dma_buffer();
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t) buffer,
		.iova = DMA_IOVA,
		.size = DMA_SIZE,
	};
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap),
		                                    .iova = map.iova,
		                                    .size = DMA_SIZE };

	CHECK(ioctl(a->container_fd, VFIO_IOMMU_MAP_DMA, &map) == 0);
	CHECK(ioctl(a->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0);
	CHECK_EQ(unmap.size, DMA_SIZE);
	munmap(buffer, DMA_SIZE);
	printf("%s: DMA map and unmap of 1 MiB through the container ok\n", a->address);
}

/* The cdev mode's IOMMU is an IOAS on the VM's iommufd: 1 MiB maps and unmaps (pinned against
 * our memlock: the daemon set the iommufd's RLIMIT_MODE to per-process). */
static void check_dma_ioas(const vfiod_device_attachment *a, uint32_t ioas) {
	void *buffer = dma_buffer();
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t) buffer,
		.length = DMA_SIZE,
		.iova = DMA_IOVA,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = ioas, .iova = DMA_IOVA, .length = DMA_SIZE
	};

	CHECK(ioctl(a->iommufd, IOMMU_IOAS_MAP, &map) == 0);
	CHECK(ioctl(a->iommufd, IOMMU_IOAS_UNMAP, &unmap) == 0);
	CHECK_EQ(unmap.length, DMA_SIZE);
	munmap(buffer, DMA_SIZE);
	printf("%s: DMA map and unmap of 1 MiB through the IOAS ok\n", a->address);
}

/* Attaches the bound device to the VM's IOAS, allocated on the iommufd with the first device
 * (*ioas 0: iommufd object ids start at 1). */
static void attach_ioas(const vfiod_device_attachment *a, uint32_t *ioas) {
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };

	if (*ioas == 0) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		CHECK(ioctl(a->iommufd, IOMMU_IOAS_ALLOC, &alloc) == 0);
		CHECK(alloc.out_ioas_id != 0);
		*ioas = alloc.out_ioas_id;
	}
	attach.pt_id = *ioas;
	CHECK(ioctl(a->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0);
}

static int same_file(int fd1, int fd2) {
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, fd1, fd2) == 0;
}

static void attach_devices(int argc, char *argv[]) {
	vfiod_attachment a[MAX_DEVICES];
	struct kvm_create_device again = { .type = KVM_DEV_TYPE_VFIO };
	vfiod_client *client = connect_daemon();
	int vm = create_vm(), kvm_device = -1;

	CHECK(argc > 0 && argc <= MAX_DEVICES);
	for (int i = 0; i < argc; i++) {
		int r = vfiod_attach(client, argv[i], vm, &kvm_device, &a[i]);
		if (r < 0)
			fprintf(stderr, "vmm-test: attach %s: %s\n", argv[i], vfiod_error_text(client));
		CHECK(r >= 0);
		CHECK(kvm_device >= 0);
		check_device(&a[i]);
		check_dma(&a[i]);
		/* One container and one VM id for every device of the VM. */
		CHECK(same_file(a[i].container_fd, a[0].container_fd));
		CHECK_EQ(a[i].vm, a[0].vm);
	}
	/* One KVM VFIO device per VM: the kernel refuses a second. */
	CHECK(ioctl(vm, KVM_CREATE_DEVICE, &again) < 0 && errno == EBUSY);
	for (int i = argc - 1; i >= 0; i--) {
		/* The group leaves KVM only with its last device. */
		int last_of_group = 1;
		for (int j = 0; j < i; j++)
			if (a[j].group == a[i].group)
				last_of_group = 0;
		CHECK(vfiod_detach(client, &a[i], last_of_group ? kvm_device : -1) >= 0);
	}
	vfiod_disconnect(client);
	close(kvm_device);
	close(vm);
	printf("vmm-test: attached and checked %d device(s)\n", argc);
}

static void wait_for_sigterm(void) {
	sigset_t mask;
	int signal_number;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
	CHECK(sigwait(&mask, &signal_number) == 0);
}

/* Attaches every address to one VM, or dies. */
static void attach_all(vfiod_client *client, int vm, int *kvm_device, int argc, char *argv[],
                       vfiod_attachment *a) {
	CHECK(argc > 0 && argc <= MAX_DEVICES);
	for (int i = 0; i < argc; i++) {
		int r = vfiod_attach(client, argv[i], vm, kvm_device, &a[i]);
		if (r < 0)
			fprintf(stderr, "vmm-test: attach %s: %s\n", argv[i], vfiod_error_text(client));
		CHECK(r >= 0);
	}
}

/* Attaches every address to one VM in the cdev mode, each bound and attached to the VM's
 * IOAS, or dies. */
static void attach_all_cdev(vfiod_client *client, vfiod_vm *vm, uint32_t *ioas, int argc, char *argv[],
                            vfiod_device_attachment *a) {
	CHECK(argc > 0 && argc <= MAX_DEVICES);
	for (int i = 0; i < argc; i++) {
		int r = vfiod_attach_device(client, argv[i], vm, 0, &a[i]);
		if (r < 0)
			fprintf(stderr, "vmm-test: attach --cdev %s: %s\n", argv[i],
			        vfiod_error_text(client));
		CHECK(r >= 0);
		attach_ioas(&a[i], ioas);
	}
}

/* The devices one VM holds, in either mode. */
typedef struct Held {
	bool cdev;
	int n;
	int vm_fd;
	int kvm_device; /* the group mode's KVM VFIO device */
	vfiod_vm vm;    /* the cdev mode's KVM VFIO device and iommufd */
	uint32_t ioas;  /* the cdev mode's IOAS */
	vfiod_attachment group_mode[MAX_DEVICES];
	vfiod_device_attachment cdev_mode[MAX_DEVICES];
} Held;

/* Attaches every address to a new VM, or dies. */
static void held_attach(Held *h, bool cdev, vfiod_client *client, int argc, char *argv[]) {
	*h = (Held){ .cdev = cdev, .n = argc, .vm_fd = create_vm(), .kvm_device = -1 };
	h->vm = (vfiod_vm) VFIOD_VM_INIT(h->vm_fd);
	if (cdev)
		attach_all_cdev(client, &h->vm, &h->ioas, argc, argv, h->cdev_mode);
	else
		attach_all(client, h->vm_fd, &h->kvm_device, argc, argv, h->group_mode);
}

static long long held_id(const Held *h, int i) {
	return h->cdev ? h->cdev_mode[i].id : h->group_mode[i].id;
}

/* Checks each device and its DMA again, through the fds held. */
static void held_check(const Held *h) {
	for (int i = 0; i < h->n; i++) {
		if (h->cdev) {
			check_device_fd(h->cdev_mode[i].address, h->cdev_mode[i].device_fd);
			check_dma_ioas(&h->cdev_mode[i], h->ioas);
		} else {
			check_device(&h->group_mode[i]);
			check_dma(&h->group_mode[i]);
		}
	}
}

/* Detaches device i; detach them the last first (the group mode takes the group out of KVM
 * with device 0). */
static int held_detach(Held *h, vfiod_client *client, int i) {
	if (h->cdev)
		return vfiod_detach_device(client, &h->cdev_mode[i], &h->vm);
	return vfiod_detach(client, &h->group_mode[i], i == 0 ? h->kvm_device : -1);
}

/* Closes the VM, its KVM VFIO device and iommufd, once the devices are detached. */
static void held_close(Held *h) {
	vfiod_vm_close(&h->vm);
	if (h->kvm_device >= 0)
		CHECK(close(h->kvm_device) == 0);
	CHECK(close(h->vm_fd) == 0);
}

/* The cdev mode: every device of one VM shares its iommufd and IOAS, is bound, and works. */
static void attach_devices_cdev(int argc, char *argv[]) {
	struct kvm_create_device again = { .type = KVM_DEV_TYPE_VFIO };
	vfiod_client *client = connect_daemon();
	Held h;

	held_attach(&h, true, client, argc, argv);
	for (int i = 0; i < argc; i++) {
		const vfiod_device_attachment *a = &h.cdev_mode[i];
		CHECK(strcmp(a->mode, "cdev") == 0);
		CHECK(a->devid >= 0);
		CHECK(same_file(a->iommufd, h.vm.iommufd));
		CHECK_EQ(a->vm, h.cdev_mode[0].vm);
		check_device_fd(a->address, a->device_fd);
		check_dma_ioas(a, h.ioas);
	}
	/* One KVM VFIO device per VM, made by the library for the first device. */
	CHECK(h.vm.kvm_device_fd >= 0);
	CHECK(ioctl(h.vm_fd, KVM_CREATE_DEVICE, &again) < 0 && errno == EBUSY);
	for (int i = argc - 1; i >= 0; i--)
		CHECK(held_detach(&h, client, i) >= 0);
	held_close(&h);
	vfiod_disconnect(client);
	printf("vmm-test: attached and checked %d device(s) in the cdev mode\n", argc);
}

static void check_error(vfiod_client *client, int r, const char *error);

/* Attaches, prints "HELD <id>" per device; on SIGUSR1 checks the devices again through the
 * fds it holds and prints "RECHECKED"; detaches on SIGTERM, each Detach answered as
 * detach_error says (NULL: success). */
static void hold(const char *detach_error, bool cdev, int argc, char *argv[]) {
	vfiod_client *client = connect_daemon();
	int signal_number = 0;
	sigset_t mask;
	Held h;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
	held_attach(&h, cdev, client, argc, argv);
	for (int i = 0; i < argc; i++)
		printf("HELD %lld\n", held_id(&h, i));
	while (sigwait(&mask, &signal_number) == 0 && signal_number == SIGUSR1) {
		held_check(&h);
		printf("RECHECKED\n");
	}
	/* The daemon may have restarted meanwhile: a new connection. */
	vfiod_disconnect(client);
	client = connect_daemon();
	for (int i = argc - 1; i >= 0; i--) {
		int r = held_detach(&h, client, i);
		if (detach_error)
			check_error(client, r, detach_error);
		else
			CHECK(r >= 0);
	}
	vfiod_disconnect(client);
}

/* A VMM that detached but kept its device fd: the device stays open in the kernel with no
 * attachment and no group fd anywhere. */
static void keep_device(const char *address) {
	vfiod_client *client = connect_daemon();
	int vm = create_vm(), kvm_device = -1, device;
	vfiod_attachment a;
	char *argv[] = { (char *) address };

	attach_all(client, vm, &kvm_device, 1, argv, &a);
	device = fcntl(a.device_fd, F_DUPFD_CLOEXEC, 3);
	CHECK(device >= 0);
	CHECK(vfiod_detach(client, &a, kvm_device) >= 0);
	vfiod_disconnect(client);
	close(kvm_device);
	close(vm);
	printf("KEPT\n");
	wait_for_sigterm();
	close(device);
}

/* attach -> detach, n times, each time with a new VM. */
static void cycle(int n, bool cdev, const char *address) {
	vfiod_client *client = connect_daemon();

	for (int i = 0; i < n; i++) {
		char *argv[] = { (char *) address };
		Held h;
		held_attach(&h, cdev, client, 1, argv);
		CHECK(held_detach(&h, client, 0) >= 0);
		held_close(&h);
	}
	vfiod_disconnect(client);
	printf("vmm-test: %d attach/detach cycles of %s%s\n", n, address, cdev ? " in the cdev mode" : "");
}

static json_object *attach_parameters(const char *address) {
	json_object *p = json_object_new_object();

	CHECK(p);
	json_object_object_add(p, "address", json_object_new_string(address));
	json_object_object_add(p, "vmFd", json_object_new_int(0));
	return p;
}

static void attach_only(const char *address) {
	vfiod_client *client = connect_daemon();
	json_object *reply = NULL, *attachment = NULL, *id = NULL;
	int vm = create_vm(), fds[VFIOD_MAX_FDS];
	size_t n_fds = 0;
	int r = vfiod_call(client, VFIOD_METHOD_ATTACH, attach_parameters(address), &vm, 1, &reply, fds,
	                   &n_fds);

	if (r < 0)
		fprintf(stderr, "vmm-test: Attach %s: %s\n", address, vfiod_error_text(client));
	CHECK(r >= 0);
	CHECK_EQ(n_fds, 2);
	CHECK(json_object_object_get_ex(reply, "attachment", &attachment));
	CHECK(json_object_object_get_ex(attachment, "id", &id));
	printf("ATTACHED %lld\n", (long long) json_object_get_int64(id));
	fflush(stdout);
	wait_for_sigterm();
	json_object *p = json_object_new_object();
	json_object_object_add(p, "id", json_object_get(id));
	CHECK(vfiod_call(client, VFIOD_METHOD_DETACH, p, NULL, 0, NULL, NULL, NULL) >= 0);
	json_object_put(reply);
	vfiod_disconnect(client);
}

/* Sends an Attach of address for a new VM and exits at once: whether the daemon has read the
 * call, runs its kernel work or has answered by then, it must leave nothing behind. */
static void attach_abandon(const char *address) {
	const char *path = getenv("VFIOD_SOCKET") ?: VFIOD_SOCKET_PATH;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), vm = create_vm();
	char call[256];
	WireWriter writer;

	CHECK(sock >= 0 && strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	CHECK(connect(sock, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	snprintf(call, sizeof(call), "{\"method\":\"%s\",\"parameters\":{\"address\":\"%s\",\"vmFd\":0}}",
	         VFIOD_METHOD_ATTACH, address);
	wire_writer_init(&writer);
	CHECK(wire_writer_queue(&writer, call, strlen(call), &vm, 1) == 0);
	CHECK(wire_writer_flush(&writer, sock) == 1);
	printf("SENT\n");
	_exit(0);
}

/* An fd of the named kind, to pass where a VM fd belongs. */
static int make_fd(const char *kind) {
	int pipe_fds[2];

	if (strcmp(kind, "vm") == 0)
		return create_vm();
	if (strcmp(kind, "null") == 0)
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	if (strcmp(kind, "kvm-system") == 0)
		return open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (strcmp(kind, "pipe") == 0) {
		CHECK(pipe2(pipe_fds, O_CLOEXEC) == 0);
		close(pipe_fds[1]);
		return pipe_fds[0];
	}
	fprintf(stderr, "vmm-test: unknown fd kind %s\n", kind);
	exit(2);
}

/* The call failed with the daemon's Varlink error `error`; prints its parameters. */
static void check_error(vfiod_client *client, int r, const char *error) {
	CHECK_EQ(r, -EREMOTEIO);
	printf("%s\n", vfiod_error_text(client));
	if (strcmp(vfiod_error_name(client), error) != 0) {
		fprintf(stderr, "vmm-test: expected %s, got %s\n", error, vfiod_error_text(client));
		exit(1);
	}
}

static void expect_attach_error(const char *error, const char *address, const char *kind) {
	vfiod_client *client = connect_daemon();
	int fd = make_fd(kind);
	int r;

	CHECK(fd >= 0);
	r = vfiod_call(client, VFIOD_METHOD_ATTACH, attach_parameters(address), &fd, 1, NULL, NULL, NULL);
	check_error(client, r, error);
	vfiod_disconnect(client);
	close(fd);
}

/* AttachDevice of address, passing an fd of the named kind as iommuFd ("none": no iommuFd),
 * fails with the daemon's Varlink error `error`. */
static void expect_attach_device_error(const char *error, const char *address, const char *kind) {
	vfiod_client *client = connect_daemon();
	int fd = strcmp(kind, "none") == 0 ? -1 : make_fd(kind);
	json_object *p = json_object_new_object();
	int r;

	CHECK(p);
	json_object_object_add(p, "address", json_object_new_string(address));
	if (fd >= 0)
		json_object_object_add(p, "iommuFd", json_object_new_int(0));
	r = vfiod_call(client, VFIOD_METHOD_ATTACH_DEVICE, p, &fd, fd >= 0 ? 1 : 0, NULL, NULL, NULL);
	check_error(client, r, error);
	vfiod_disconnect(client);
	if (fd >= 0)
		close(fd);
}

static void expect_open_error(const char *error, const char *id) {
	vfiod_client *client = connect_daemon();
	json_object *p = json_object_new_object();
	int r;

	json_object_object_add(p, "id", json_object_new_int64(strtoll(id, NULL, 10)));
	r = vfiod_call(client, VFIOD_METHOD_OPEN_DEVICE, p, NULL, 0, NULL, NULL, NULL);
	check_error(client, r, error);
	vfiod_disconnect(client);
}

/* The child of foreign_vm(): a process that holds a VM fd it did not create. */
static void foreign_vm_child(int vm, const char *address) {
	struct kvm_create_device device = { .type = KVM_DEV_TYPE_VFIO };
	vfiod_client *client;
	int r;

	/* KVM: every VM ioctl from a memory map not the creator's (kvm->mm) answers EIO. */
	CHECK(ioctl(vm, KVM_CREATE_DEVICE, &device) < 0 && errno == EIO);
	printf("EIO\n");
	client = connect_daemon();
	r = vfiod_call(client, VFIOD_METHOD_ATTACH, attach_parameters(address), &vm, 1, NULL, NULL, NULL);
	check_error(client, r, "io.vfiod.PermissionDenied");
	vfiod_disconnect(client);
	_exit(0);
}

static void foreign_vm(const char *own, const char *other) {
	vfiod_attachment a;
	vfiod_client *client = connect_daemon();
	int vm = create_vm(), kvm_device = -1, status = 0;
	char *argv[] = { (char *) own };
	pid_t child;

	attach_all(client, vm, &kvm_device, 1, argv, &a);
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		foreign_vm_child(vm, other);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(vfiod_detach(client, &a, kvm_device) >= 0);
	vfiod_disconnect(client);
	close(kvm_device);
	close(vm);
	printf("FOREIGN-VM ok\n");
}

/* The cdev mode's commands: argv after "--cdev". Returns 0, or 2 for bad usage. */
static int main_cdev(const char *command, int argc, char *argv[]) {
	if (strcmp(command, "attach") == 0 && argc >= 1)
		attach_devices_cdev(argc, argv);
	else if (strcmp(command, "hold") == 0 && argc >= 3 && strcmp(argv[0], "-e") == 0)
		hold(argv[1], true, argc - 2, argv + 2);
	else if (strcmp(command, "hold") == 0 && argc >= 1)
		hold(NULL, true, argc, argv);
	else if (strcmp(command, "cycle") == 0 && argc == 2)
		cycle(atoi(argv[0]), true, argv[1]);
	else if (strcmp(command, "expect") == 0 && (argc == 2 || argc == 3))
		expect_attach_device_error(argv[0], argv[1], argc == 3 ? argv[2] : "none");
	else {
		fprintf(stderr, "vmm-test: bad usage (see the comment at the top of vmm-test.c)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char *argv[]) {
	const char *command = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && strcmp(argv[2], "--cdev") == 0)
		return main_cdev(command, argc - 3, argv + 3);
	if (strcmp(command, "unprivileged") == 0)
		check_unprivileged(argc - 2, argv + 2);
	else if (strcmp(command, "attach") == 0)
		attach_devices(argc - 2, argv + 2);
	else if (strcmp(command, "hold") == 0 && argc >= 5 && strcmp(argv[2], "-e") == 0)
		hold(argv[3], false, argc - 4, argv + 4);
	else if (strcmp(command, "hold") == 0 && argc >= 3)
		hold(NULL, false, argc - 2, argv + 2);
	else if (strcmp(command, "cycle") == 0 && argc == 4)
		cycle(atoi(argv[2]), false, argv[3]);
	else if (strcmp(command, "attach-only") == 0 && argc == 3)
		attach_only(argv[2]);
	else if (strcmp(command, "expect") == 0 && (argc == 4 || argc == 5))
		expect_attach_error(argv[2], argv[3], argc == 5 ? argv[4] : "vm");
	else if (strcmp(command, "expect-open") == 0 && argc == 4)
		expect_open_error(argv[2], argv[3]);
	else if (strcmp(command, "attach-abandon") == 0 && argc == 3)
		attach_abandon(argv[2]);
	else if (strcmp(command, "keep-device") == 0 && argc == 3)
		keep_device(argv[2]);
	else if (strcmp(command, "foreign-vm") == 0 && argc == 4)
		foreign_vm(argv[2], argv[3]);
	else {
		fprintf(stderr, "vmm-test: bad usage (see the comment at the top of vmm-test.c)\n");
		return 2;
	}
	return 0;
}
