/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "idl.h"
#include "libvfiod.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"
#include "reply.h"
#include "vfio-cdev.h" /* the iommufd and cdev ioctls, KVM_DEV_VFIO_FILE*, that Linux 6.1 lacks */
#include "wire.h"

_Static_assert(VFIOD_MAX_FDS == PROTOCOL_MAX_FDS, "fd limits of library and protocol differ");

struct vfiod_client {
	int fd;
	WireReader reader;
	WireWriter writer;
	char *error_name;
	char error_text[512];
};

static void client_clear_error(vfiod_client *c) {
	free(c->error_name);
	c->error_name = NULL;
	c->error_text[0] = '\0';
}

/* Records a local failure for vfiod_error_text() and returns it. */
static int client_fail(vfiod_client *c, int error, const char *what) {
	(void) snprintf(c->error_text, sizeof(c->error_text), "%s: %s", what, strerror(-error));
	return error;
}

int vfiod_connect(const char *socket_path, vfiod_client **ret) {
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	vfiod_client *c;

	if (!socket_path)
		socket_path = secure_getenv("VFIOD_SOCKET");
	if (!socket_path)
		socket_path = VFIOD_SOCKET_PATH;
	if (strlen(socket_path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	strcpy(address.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
		return negative_errno();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	wire_reader_init(&c->reader, PROTOCOL_MAX_REPLY_BYTES);
	wire_writer_init(&c->writer);
	*ret = c;
	return 0;
}

void vfiod_disconnect(vfiod_client *c) {
	if (!c)
		return;
	wire_reader_done(&c->reader);
	wire_writer_done(&c->writer);
	safe_close(c->fd);
	free(c->error_name);
	free(c);
}

static int client_wait(vfiod_client *c, short events) {
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int r = poll(&p, 1, -1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return negative_errno();
	}
}

static int client_send(vfiod_client *c, json_object *message, const int *fds, size_t n_fds) {
	_cleanup_json_ json_object *owned = message;
	int copies[PROTOCOL_MAX_FDS];
	const char *text;
	size_t length;
	int r;

	if (!owned)
		return -ENOMEM;
	if (n_fds > PROTOCOL_MAX_FDS)
		return -EINVAL;
	text = message_to_string(owned, &length);
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < n_fds; i++) {
		copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (copies[i] < 0) {
			r = negative_errno();
			close_many(copies, i);
			return r;
		}
	}
	r = wire_writer_queue(&c->writer, text, length, copies, n_fds);
	while (r >= 0 && (r = wire_writer_flush(&c->writer, c->fd)) == 0)
		r = client_wait(c, POLLOUT);
	return r < 0 ? r : 0;
}

/* Sends a call. A daemon that closed the connection (EPIPE) may have said why before, as vfiod
 * does for a connection over one of its limits: that message is then read as the reply. */
static int client_send_call(vfiod_client *c, json_object *call, const int *fds, size_t n_fds) {
	int r = client_send(c, call, fds, n_fds);

	if (r == -EPIPE && wire_reader_fill(&c->reader, c->fd) > 0)
		return 0;
	return r < 0 ? client_fail(c, r, "sending the call") : 0;
}

/* Waits for the next complete message; returns it with its fds. */
static int client_receive(vfiod_client *c, char **ret_text, size_t *ret_length, int *ret_fds,
                          size_t *ret_n_fds) {
	for (;;) {
		int r = wire_reader_next(&c->reader, ret_text, ret_length, ret_fds, ret_n_fds);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wire_reader_fill(&c->reader, c->fd);
		if (r == 0)
			return -ECONNRESET;
		if (r == -EAGAIN)
			r = client_wait(c, POLLIN);
		if (r < 0)
			return r;
	}
}

/* Keeps the daemon's error for the caller to read, and returns -EREMOTEIO. */
static int client_take_remote_error(vfiod_client *c, VarlinkReply *reply) {
	size_t length = 0;
	const char *text = reply->parameters ? message_to_string(reply->parameters, &length) : "{}";

	c->error_name = TAKE_PTR(reply->error);
	(void) snprintf(c->error_text, sizeof(c->error_text), "%s %s", c->error_name, text ? text : "{}");
	return -EREMOTEIO;
}

int vfiod_call(vfiod_client *c, const char *method, json_object *parameters, const int *fds, size_t n_fds,
               json_object **ret_parameters, int *ret_fds, size_t *ret_n_fds) {
	_cleanup_(varlink_reply_done) VarlinkReply reply = {};
	_cleanup_free_ char *text = NULL;
	int received[PROTOCOL_MAX_FDS];
	size_t length, n_received = 0;
	int r;

	client_clear_error(c);
	r = client_send_call(c, message_new_call(method, parameters, false), fds, n_fds);
	if (r < 0)
		return r;
	r = client_receive(c, &text, &length, received, &n_received);
	if (r < 0)
		return client_fail(c, r, "receiving the reply");
	r = message_parse_reply(text, length, &reply);
	if (r < 0 || reply.error || !ret_fds) {
		close_many(received, n_received);
		n_received = 0;
	}
	if (r < 0)
		return client_fail(c, r, "parsing the reply");
	if (reply.error)
		return client_take_remote_error(c, &reply);
	if (ret_fds) {
		memcpy(ret_fds, received, n_received * sizeof(int));
		*ret_n_fds = n_received;
	}
	if (ret_parameters)
		*ret_parameters = TAKE_PTR(reply.parameters);
	return 0;
}

/* Receives one reply of a streaming call; its fds (none are sent on streams) are closed. */
static int client_receive_reply(vfiod_client *c, VarlinkReply *ret) {
	_cleanup_free_ char *text = NULL;
	int fds[PROTOCOL_MAX_FDS];
	size_t length, n_fds = 0;
	int r = client_receive(c, &text, &length, fds, &n_fds);

	if (r < 0)
		return client_fail(c, r, "receiving a reply");
	close_many(fds, n_fds);
	r = message_parse_reply(text, length, ret);
	return r < 0 ? client_fail(c, r, "parsing a reply") : 0;
}

int vfiod_monitor(vfiod_client *c, int (*callback)(json_object *event, void *userdata), void *userdata) {
	int r;

	if (!c || !callback)
		return -EINVAL;
	client_clear_error(c);
	r = client_send_call(c, message_new_call(VFIOD_METHOD_MONITOR, NULL, true), NULL, 0);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_(varlink_reply_done) VarlinkReply reply = {};
		json_object *event = NULL;

		r = client_receive_reply(c, &reply);
		if (r < 0)
			return r;
		if (reply.error)
			return client_take_remote_error(c, &reply);
		if (json_object_object_get_ex(reply.parameters, "event", &event)) {
			r = callback(event, userdata);
			if (r != 0)
				return r;
		}
		if (!reply.continues)
			return 0;
	}
}

const char *vfiod_error_name(const vfiod_client *c) {
	return c->error_name;
}

const char *vfiod_error_text(const vfiod_client *c) {
	return c->error_text[0] ? c->error_text : "no error";
}

/* ---- The attach sequence ---- */

/* ---- Replies, decoded as protocol/io.vfiod.varlink declares them (IDL_PARAMS, idl.h): the
 * names, types and optionality of their fields come from the file; each field has a line below
 * with the member it is decoded into and its bounds. ---- */

#define FD_INDEX .min = 0, .max = PROTOCOL_MAX_FDS - 1

typedef struct AttachReply {
	json_object *attachment;
	int64_t group_fd, container_fd;
} AttachReply;
#define ATTACH_attachment  AttachReply, attachment
#define ATTACH_groupFd     AttachReply, group_fd, FD_INDEX
#define ATTACH_containerFd AttachReply, container_fd, FD_INDEX
static const ParamSpec attach_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_Attach, ATTACH) };

typedef struct OpenDeviceReply {
	int64_t device_fd;
} OpenDeviceReply;
#define OPEN_DEVICE_deviceFd OpenDeviceReply, device_fd, FD_INDEX
static const ParamSpec open_device_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_OpenDevice, OPEN_DEVICE) };

typedef struct AttachDeviceReply {
	json_object *attachment;
	int64_t device_fd, iommufd; /* iommufd optional: -1 when null */
} AttachDeviceReply;
#define ATTACH_DEVICE_attachment AttachDeviceReply, attachment
#define ATTACH_DEVICE_deviceFd   AttachDeviceReply, device_fd, FD_INDEX
#define ATTACH_DEVICE_iommuFd    AttachDeviceReply, iommufd, FD_INDEX
static const ParamSpec attach_device_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_AttachDevice, ATTACH_DEVICE) };

/* Takes the fd a reply names by index out of fds (so it is not closed with the rest). */
static int reply_take_fd(int64_t index, int *fds, size_t n_fds, int *ret) {
	if (index < 0 || (size_t) index >= n_fds || fds[index] < 0)
		return -EBADMSG;
	*ret = TAKE_FD(fds[index]);
	return 0;
}

_Static_assert(sizeof(((vfiod_attachment *) NULL)->address) ==
                       sizeof(((vfiod_device_attachment *) NULL)->address),
               "the attachment structs' addresses differ");

/* Decodes a reply's Attachment; its address fits either attachment struct's. */
static int attachment_decode(json_object *attachment, ReplyAttachment *ret) {
	int r = reply_decode_attachment(attachment, ret, NULL);

	if (r < 0)
		return r;
	return strlen(ret->address) < sizeof(((vfiod_attachment *) NULL)->address) ? 0 : -EBADMSG;
}

static int attachment_from_reply(json_object *attachment, vfiod_attachment *a) {
	ReplyAttachment reply = {};
	int r = attachment_decode(attachment, &reply);

	if (r < 0)
		return r;
	a->id = reply.id;
	a->group = (int) reply.group;
	a->vm = reply.vm;
	strcpy(a->address, reply.address);
	return 0;
}

static void attachment_close(vfiod_attachment *a) {
	a->group_fd = safe_close(a->group_fd);
	a->container_fd = safe_close(a->container_fd);
	a->device_fd = safe_close(a->device_fd);
}

/* Step one: Attach; fills id, group, vm, address, group_fd and container_fd. */
static int client_attach_call(vfiod_client *c, const char *address, int vm_fd, vfiod_attachment *a) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *parameters = json_object_new_object();
	AttachReply decoded = {};
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds = 0;
	int r;

	if (!parameters ||
	    json_object_object_add(parameters, "address", json_object_new_string(address)) < 0 ||
	    json_object_object_add(parameters, "vmFd", json_object_new_int(0)) < 0) {
		json_object_put(parameters);
		return client_fail(c, -ENOMEM, "building the call");
	}
	r = vfiod_call(c, VFIOD_METHOD_ATTACH, parameters, &vm_fd, 1, &reply, fds, &n_fds);
	if (r < 0)
		return r;
	r = reply_decode(reply, attach_reply, ELEMENTSOF(attach_reply), &decoded, NULL);
	if (r >= 0)
		r = attachment_from_reply(decoded.attachment, a);
	if (r >= 0)
		r = reply_take_fd(decoded.group_fd, fds, n_fds, &a->group_fd);
	if (r >= 0)
		r = reply_take_fd(decoded.container_fd, fds, n_fds, &a->container_fd);
	close_many(fds, n_fds);
	if (r < 0) {
		attachment_close(a);
		return client_fail(c, r, "reading the Attach reply");
	}
	return 0;
}

/* The KVM step, in this process: the VM's KVM VFIO device (created when *kvm_device_fd is
 * negative), and fd, a group (legacy) or a device cdev (cdev mode), added to it. */
static int client_kvm_add_file(vfiod_client *c, int vm_fd, int *kvm_device_fd, int fd) {
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uint64_t) (uintptr_t) &fd,
	};

	if (*kvm_device_fd < 0) {
		struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };
		if (ioctl(vm_fd, KVM_CREATE_DEVICE, &create) < 0)
			return client_fail(c, negative_errno(), "KVM_CREATE_DEVICE (KVM_DEV_TYPE_VFIO)");
		*kvm_device_fd = (int) create.fd;
	}
	/* EEXIST: the group is in the KVM VFIO device already (another device of it). */
	if (ioctl(*kvm_device_fd, KVM_SET_DEVICE_ATTR, &attr) < 0 && errno != EEXIST)
		return client_fail(c, negative_errno(), "KVM_SET_DEVICE_ATTR KVM_DEV_VFIO_FILE_ADD");
	return 0;
}

/* Takes fd, a group or a device cdev, out of the VM's KVM VFIO device. */
static int client_kvm_del_file(vfiod_client *c, int kvm_device_fd, int fd) {
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_DEL,
		.addr = (uint64_t) (uintptr_t) &fd,
	};

	if (ioctl(kvm_device_fd, KVM_SET_DEVICE_ATTR, &attr) < 0)
		return client_fail(c, negative_errno(), "KVM_SET_DEVICE_ATTR KVM_DEV_VFIO_FILE_DEL");
	return 0;
}

static json_object *id_parameters(long long id) {
	json_object *p = json_object_new_object();

	if (p && json_object_object_add(p, "id", json_object_new_int64(id)) < 0) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* Step three: OpenDevice. */
static int client_open_device(vfiod_client *c, vfiod_attachment *a) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *parameters = id_parameters(a->id);
	OpenDeviceReply decoded = {};
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds = 0;
	int r;

	if (!parameters)
		return client_fail(c, -ENOMEM, "building the call");
	r = vfiod_call(c, VFIOD_METHOD_OPEN_DEVICE, parameters, NULL, 0, &reply, fds, &n_fds);
	if (r < 0)
		return r;
	r = reply_decode(reply, open_device_reply, ELEMENTSOF(open_device_reply), &decoded, NULL);
	if (r >= 0)
		r = reply_take_fd(decoded.device_fd, fds, n_fds, &a->device_fd);
	close_many(fds, n_fds);
	return r < 0 ? client_fail(c, r, "reading the OpenDevice reply") : 0;
}

static int client_detach_call(vfiod_client *c, long long id) {
	json_object *parameters = id_parameters(id);

	if (!parameters)
		return client_fail(c, -ENOMEM, "building the call");
	return vfiod_call(c, VFIOD_METHOD_DETACH, parameters, NULL, 0, NULL, NULL, NULL);
}

/* Undoes the daemon's half of a failed attach sequence, keeping the first error for the caller. */
static void client_undo_attach(vfiod_client *c, long long id) {
	char saved[sizeof(c->error_text)];
	char *saved_name = TAKE_PTR(c->error_name);

	memcpy(saved, c->error_text, sizeof(saved));
	(void) client_detach_call(c, id);
	free(c->error_name);
	c->error_name = saved_name;
	memcpy(c->error_text, saved, sizeof(saved));
}

int vfiod_attach(vfiod_client *c, const char *address, int vm_fd, int *kvm_device_fd,
                 vfiod_attachment *ret) {
	vfiod_attachment a = { .group_fd = -EBADF, .container_fd = -EBADF, .device_fd = -EBADF };
	int r;

	if (!c || !address || vm_fd < 0 || !kvm_device_fd || !ret)
		return -EINVAL;
	r = client_attach_call(c, address, vm_fd, &a);
	if (r < 0)
		return r;
	r = client_kvm_add_file(c, vm_fd, kvm_device_fd, a.group_fd);
	if (r >= 0)
		r = client_open_device(c, &a);
	if (r < 0) {
		client_undo_attach(c, a.id);
		attachment_close(&a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Detach for an attachment whose fds are closed or about to be: the call's result, or the
 * earlier failure r (the call made all the same). */
static int client_detach_after(vfiod_client *c, long long id, int r) {
	if (r >= 0)
		return client_detach_call(c, id);
	(void) client_detach_call(c, id);
	return r;
}

int vfiod_detach(vfiod_client *c, vfiod_attachment *a, int kvm_device_fd) {
	int r = 0;

	if (!c || !a)
		return -EINVAL;
	if (kvm_device_fd >= 0 && a->group_fd >= 0)
		r = client_kvm_del_file(c, kvm_device_fd, a->group_fd);
	/* The device fd goes first: it holds the group, which the daemon then releases. */
	a->device_fd = safe_close(a->device_fd);
	r = client_detach_after(c, a->id, r);
	attachment_close(a);
	return r;
}

/* ---- The cdev mode ---- */

void vfiod_vm_close(vfiod_vm *vm) {
	if (!vm)
		return;
	vm->kvm_device_fd = safe_close(vm->kvm_device_fd);
	vm->iommufd = safe_close(vm->iommufd);
}

/* {"address": address}, with "iommuFd": 0 when an iommufd travels with the call. */
static json_object *attach_device_parameters(const char *address, bool with_iommufd) {
	json_object *p = json_object_new_object();

	if (!p || json_object_object_add(p, "address", json_object_new_string(address)) < 0 ||
	    (with_iommufd && json_object_object_add(p, "iommuFd", json_object_new_int(0)) < 0)) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* Fills a's identity and mode from the reply's Attachment. */
static int device_attachment_from_reply(json_object *attachment, vfiod_device_attachment *a) {
	ReplyAttachment reply = { .mode = "group" };
	int r = attachment_decode(attachment, &reply);

	if (r < 0)
		return r;
	if (strlen(reply.mode) >= sizeof(a->mode))
		return -EBADMSG;
	a->id = reply.id;
	a->group = (int) reply.group;
	a->vm = reply.vm;
	strcpy(a->address, reply.address);
	strcpy(a->mode, reply.mode);
	return 0;
}

/* Takes the reply's fds: the device's, and a new iommufd exactly when none was passed. */
static int attach_device_take_fds(const AttachDeviceReply *decoded, int *fds, size_t n_fds, bool passed,
                                  vfiod_device_attachment *a, int *ret_new_iommufd) {
	int r = reply_take_fd(decoded->device_fd, fds, n_fds, &a->device_fd);

	if (r < 0)
		return r;
	if (passed)
		return decoded->iommufd < 0 ? 0 : -EBADMSG;
	return reply_take_fd(decoded->iommufd, fds, n_fds, ret_new_iommufd);
}

/* Step one: AttachDevice, passing vm's iommufd when it has one; fills a (identity, mode and
 * device fd) and, for the VM's first device, *ret_new_iommufd. */
static int client_attach_device_call(vfiod_client *c, const char *address, const vfiod_vm *vm,
                                     vfiod_device_attachment *a, int *ret_new_iommufd) {
	_cleanup_json_ json_object *reply = NULL;
	bool passed = vm->iommufd >= 0;
	json_object *parameters = attach_device_parameters(address, passed);
	AttachDeviceReply decoded = { .iommufd = -1 };
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds = 0;
	int r;

	if (!parameters)
		return client_fail(c, -ENOMEM, "building the call");
	r = vfiod_call(c, VFIOD_METHOD_ATTACH_DEVICE, parameters, &vm->iommufd, passed ? 1 : 0, &reply, fds,
	               &n_fds);
	if (r < 0)
		return r;
	r = reply_decode(reply, attach_device_reply, ELEMENTSOF(attach_device_reply), &decoded, NULL);
	if (r >= 0)
		r = device_attachment_from_reply(decoded.attachment, a);
	if (r >= 0)
		r = attach_device_take_fds(&decoded, fds, n_fds, passed, a, ret_new_iommufd);
	close_many(fds, n_fds);
	if (r < 0) {
		a->device_fd = safe_close(a->device_fd);
		*ret_new_iommufd = safe_close(*ret_new_iommufd);
		/* The daemon made an attachment whose reply is unusable: end it. */
		if (a->id >= 0)
			client_undo_attach(c, a->id);
		return client_fail(c, r, "reading the AttachDevice reply");
	}
	return 0;
}

/* Step three: the device bound to the VM's iommufd; its devid into a. */
static int client_bind_iommufd(vfiod_client *c, vfiod_device_attachment *a) {
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = a->iommufd };

	if (ioctl(a->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return client_fail(c, negative_errno(), "VFIO_DEVICE_BIND_IOMMUFD");
	a->devid = bind.out_devid;
	return 0;
}

/* Steps two and three; on failure the device is out of the KVM VFIO device again. */
static int client_attach_device_local(vfiod_client *c, vfiod_vm *vm, unsigned flags,
                                      vfiod_device_attachment *a) {
	int r;

	if (vm->vm_fd >= 0) {
		r = client_kvm_add_file(c, vm->vm_fd, &vm->kvm_device_fd, a->device_fd);
		if (r < 0)
			return r;
	}
	if (flags & VFIOD_ATTACH_DEVICE_NO_BIND)
		return 0;
	r = client_bind_iommufd(c, a);
	if (r < 0 && vm->vm_fd >= 0)
		(void) client_kvm_del_file(c, vm->kvm_device_fd, a->device_fd);
	return r;
}

int vfiod_attach_device(vfiod_client *c, const char *address, vfiod_vm *vm, unsigned flags,
                        vfiod_device_attachment *ret) {
	vfiod_device_attachment a = { .id = -1, .device_fd = -EBADF, .iommufd = -EBADF, .devid = -1 };
	_cleanup_close_ int new_iommufd = -EBADF;
	int r;

	if (!c || !address || !vm || (flags & ~VFIOD_ATTACH_DEVICE_NO_BIND) || !ret)
		return -EINVAL;
	r = client_attach_device_call(c, address, vm, &a, &new_iommufd);
	if (r < 0)
		return r;
	a.iommufd = new_iommufd >= 0 ? new_iommufd : vm->iommufd;
	r = client_attach_device_local(c, vm, flags, &a);
	if (r < 0) {
		/* The device fd first: the daemon's VM, and so a new iommufd, ends with the detach. */
		a.device_fd = safe_close(a.device_fd);
		client_undo_attach(c, a.id);
		return r;
	}
	if (new_iommufd >= 0)
		vm->iommufd = TAKE_FD(new_iommufd);
	*ret = a;
	return 0;
}

int vfiod_detach_device(vfiod_client *c, vfiod_device_attachment *a, vfiod_vm *vm) {
	int r = 0;

	if (!c || !a || !vm)
		return -EINVAL;
	if (vm->kvm_device_fd >= 0 && a->device_fd >= 0)
		r = client_kvm_del_file(c, vm->kvm_device_fd, a->device_fd);
	a->device_fd = safe_close(a->device_fd);
	a->iommufd = -EBADF;
	return client_detach_after(c, a->id, r);
}
