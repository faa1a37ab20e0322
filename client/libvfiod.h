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

#ifdef __cplusplus
}
#endif
