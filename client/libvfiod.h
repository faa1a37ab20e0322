/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvfiod: the VMM's side of vfiod. A blocking client for the io.vfiod Varlink interface.
 * Every function returns 0 (or a count) on success and -errno on failure; -EREMOTEIO means
 * the daemon answered a Varlink error, which vfiod_error_name() and vfiod_error_text()
 * describe until the next call. */

#include <json-c/json.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfiod_client vfiod_client;

/* At most this many fds travel with one message. */
#define VFIOD_MAX_FDS 16

/* Connects to the daemon at socket_path; NULL means $VFIOD_SOCKET, else /run/vfiod/io.vfiod. */
int vfiod_connect(const char *socket_path, vfiod_client **ret);

/* Closes the connection and frees the client; accepts NULL. */
void vfiod_disconnect(vfiod_client *client);

/* Calls method with parameters (ownership taken; NULL for none) and n_fds fds (duplicated:
 * the caller keeps its own), and waits for the reply. On success *ret_parameters is the
 * reply's parameters (caller releases with json_object_put; may be NULL to discard), and the
 * fds that came with it are stored in ret_fds (room for VFIOD_MAX_FDS; caller owns them) and
 * counted in *ret_n_fds; when ret_fds is NULL any fds received are closed. */
int vfiod_call(vfiod_client *client, const char *method, json_object *parameters, const int *fds,
               size_t n_fds, json_object **ret_parameters, int *ret_fds, size_t *ret_n_fds);

/* Calls io.vfiod.Monitor with "more": true and hands each event (the Event object, borrowed
 * for the call) to callback, until callback returns non-zero (returned as is), the daemon
 * ends the stream (0), or the connection fails (-errno). The connection carries only events
 * from then on. */
int vfiod_monitor(vfiod_client *client, int (*callback)(json_object *event, void *userdata), void *userdata);

/* The Varlink error name of the last failed call ("io.vfiod.NoSuchDevice"), or NULL. */
const char *vfiod_error_name(const vfiod_client *client);

/* One line for humans describing the last failure: the Varlink error and its parameters,
 * or the local error. Never NULL. */
const char *vfiod_error_text(const vfiod_client *client);

/* One device given to this VMM's VM, with the fds this process holds for it. */
typedef struct vfiod_attachment {
	long long id;     /* the daemon's attachment id */
	int group;        /* IOMMU group number */
	long long vm;     /* the daemon's id for the VM */
	char address[16]; /* PCI address, "0000:01:00.0" */
	int group_fd;     /* /dev/vfio/N, opened by the daemon */
	int container_fd; /* the VM's container: VFIO_IOMMU_MAP_DMA goes here */
	int device_fd;    /* the device: regions, IRQs, reset */
} vfiod_attachment;

/* Attaches the PCI device at address to the KVM VM vm_fd (borrowed), in QEMU's order:
 *   1. io.vfiod.Attach: the daemon opens the group and puts it in the VM's container;
 *   2. here, in the VMM's own process (KVM answers EIO to any other process): the VM's KVM
 *      VFIO device is created with KVM_CREATE_DEVICE when *kvm_device_fd is negative (the new
 *      fd is stored there; pass the same variable for every attachment of the VM), and the
 *      group is added to it with KVM_SET_DEVICE_ATTR KVM_DEV_VFIO_FILE_ADD (EEXIST, a group
 *      added already, is fine);
 *   3. io.vfiod.OpenDevice: the daemon opens the device.
 * On success fills *ret; the caller owns its three fds (vfiod_detach closes them). On failure
 * after step 1 the attachment is detached again and nothing is left open but a KVM VFIO
 * device created here (a VM keeps it for life, so it stays in *kvm_device_fd). */
int vfiod_attach(vfiod_client *client, const char *address, int vm_fd, int *kvm_device_fd,
                 vfiod_attachment *ret);

/* Ends an attachment: removes the group from the VM's KVM VFIO device when kvm_device_fd is
 * not negative (KVM_DEV_VFIO_FILE_DEL; pass -1 while another attachment of the same group
 * stays), calls io.vfiod.Detach and closes the attachment's fds. */
int vfiod_detach(vfiod_client *client, vfiod_attachment *attachment, int kvm_device_fd);

/* ---- The cdev mode (kernels with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV): the device's
 * vfio cdev (/dev/vfio/devices/vfioN) and an iommufd (/dev/iommu) instead of group and
 * container, the only pre-opened fds QEMU (-object iommufd,fd= -device vfio-pci,fd=),
 * cloud-hypervisor and Kata take. The iommufd and cdev ioctls are declared in <vfio-cdev.h>,
 * installed with this header, where the system's kernel headers lack them. ---- */

/* What the cdev mode keeps for one VM. Start from VFIOD_VM_INIT(vm_fd), pass the same struct to
 * every vfiod_attach_device() and vfiod_detach_device() of the VM, and release it with
 * vfiod_vm_close() once its devices are detached. */
typedef struct vfiod_vm {
	int vm_fd;         /* the KVM VM (borrowed); -1 for none: no KVM step (a launcher) */
	int kvm_device_fd; /* its KVM VFIO device (owned), made by the first attachment; -1 before */
	int iommufd;       /* its iommufd (owned): the first AttachDevice's, or one the daemon handed
	                    * this process earlier and the caller set here; -1 before */
} vfiod_vm;

#define VFIOD_VM_INIT(fd)                                                                                   \
	{ .vm_fd = (fd), .kvm_device_fd = -1, .iommufd = -1 }

/* Closes the VM's KVM VFIO device and iommufd (not vm_fd) and marks them -1; accepts NULL. */
void vfiod_vm_close(vfiod_vm *vm);

/* One device given to a VM in the cdev mode, with the fd this process holds for it. */
typedef struct vfiod_device_attachment {
	long long id;     /* the daemon's attachment id */
	int group;        /* IOMMU group number */
	long long vm;     /* the daemon's id for the VM */
	char address[16]; /* PCI address, "0000:01:00.0" */
	char mode[8];     /* the attachment's mode as the daemon reports it: "cdev" */
	int device_fd;    /* the device's cdev (owned): regions, IRQs, reset, IOAS attach */
	int iommufd;      /* the VM's iommufd, borrowed from the vfiod_vm */
	long long devid;  /* VFIO_DEVICE_BIND_IOMMUFD's device id; -1 when not bound */
} vfiod_device_attachment;

/* vfiod_attach_device() flags: leave VFIO_DEVICE_BIND_IOMMUFD to the process the fds are for
 * (a launcher's VMM, which binds the device itself: the kernel binds a device fd once). */
#define VFIOD_ATTACH_DEVICE_NO_BIND (1u << 0)

/* Attaches the PCI device at address to vm in the cdev mode, in QEMU's order:
 *   1. io.vfiod.AttachDevice: the daemon opens the device's cdev and, for the VM's first
 *      device (vm->iommufd negative), a new iommufd with pinned memory charged to this
 *      process; a later device passes vm->iommufd, so all devices of the VM share it;
 *   2. here, when vm->vm_fd is not negative (KVM answers EIO to any other process): the VM's
 *      KVM VFIO device is created with KVM_CREATE_DEVICE when vm->kvm_device_fd is negative,
 *      and the device fd is added to it with KVM_SET_DEVICE_ATTR KVM_DEV_VFIO_FILE_ADD;
 *   3. unless flags has VFIOD_ATTACH_DEVICE_NO_BIND: VFIO_DEVICE_BIND_IOMMUFD of the device to
 *      the iommufd, whose devid is stored in ret->devid.
 * The caller then allocates an IOAS (IOMMU_IOAS_ALLOC), attaches the device to it
 * (VFIO_DEVICE_ATTACH_IOMMUFD_PT) and maps guest memory (IOMMU_IOAS_MAP). On success fills
 * *ret, whose device fd the caller owns (vfiod_detach_device closes it), and a new iommufd is
 * kept in vm->iommufd. On failure after step 1 the attachment is detached again and nothing is
 * left open but a KVM VFIO device created here (a VM keeps it for life, so it stays in vm). */
int vfiod_attach_device(vfiod_client *client, const char *address, vfiod_vm *vm, unsigned flags,
                        vfiod_device_attachment *ret);

/* Ends a cdev-mode attachment: removes the device from the VM's KVM VFIO device when
 * vm->kvm_device_fd is not negative (KVM_DEV_VFIO_FILE_DEL), closes the device fd (the kernel
 * unbinds it from the iommufd), and calls io.vfiod.Detach. The VM's iommufd stays in vm. */
int vfiod_detach_device(vfiod_client *client, vfiod_device_attachment *attachment, vfiod_vm *vm);

#ifdef __cplusplus
}
#endif
