/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Introspection and listings: GetInfo, GetInterfaceDescription, ListDevices, ListAttachments,
 * and Monitor. None of them changes anything; what a caller is shown is the policy's call. */

#include <errno.h>
#include <string.h>

#include "connection.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "methods.h"

static json_object *string_array(const char *const *strings, size_t n) {
	_cleanup_json_ json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_append(a, json_object_new_string(strings[i])) < 0)
			return NULL;
	return TAKE_PTR(a);
}

int method_get_info(MethodCall *call, const void *params _unused_) {
	static const char *const interfaces[] = { VARLINK_SERVICE_INTERFACE, VFIOD_INTERFACE };
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "vendor", json_object_new_string(VFIOD_VENDOR));
	r |= json_add(p, "product", json_object_new_string(VFIOD_PRODUCT));
	r |= json_add(p, "version", json_object_new_string(VFIOD_VERSION));
	r |= json_add(p, "url", json_object_new_string(VFIOD_URL));
	r |= json_add(p, "interfaces", string_array(interfaces, ELEMENTSOF(interfaces)));
	if (r < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

int method_get_interface_description(MethodCall *call, const void *params) {
	const InterfaceParams *in = params;
	const char *description = NULL;
	_cleanup_json_ json_object *p = NULL;

	if (strcmp(in->interface, VFIOD_INTERFACE) == 0)
		description = protocol_interface_description;
	else if (strcmp(in->interface, VARLINK_SERVICE_INTERFACE) == 0)
		description = protocol_service_description;
	if (!description)
		return method_send(call, message_new_interface_not_found(in->interface));
	p = json_object_new_object();
	if (!p || json_add(p, "description", json_object_new_string(description)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

/* ListDevices reads every device and group from sysfs, which takes a while on a host with
 * many functions, and asks the kernel about the groups sysfs finds not viable: on a worker,
 * so that the loop goes on answering meanwhile. What the caller may see is decided when the
 * listing is back, on the loop. */
typedef struct ListWork {
	CallWork call;       /* first */
	int root_fd;         /* the manager's sysfs root, open as long as the daemon runs */
	const VfioOps *vfio; /* the state's kernel */
	SysfsDevice *devices;
	size_t n;
	int result;
} ListWork;

static void list_work_run(WorkerJob *job) {
	ListWork *w = (ListWork *) job;

	w->result = sysfs_list_devices(w->root_fd, &w->devices, &w->n);
	if (w->result >= 0)
		vfio_judge_viability(w->vfio, w->devices, w->n);
}

static int list_devices_reply(MethodCall *call, const SysfsDevice *devices, size_t n) {
	_cleanup_free_ bool *allowed = n > 0 ? calloc(n, sizeof(*allowed)) : NULL;
	_cleanup_json_ json_object *array = json_object_new_array_ext((int) n),
	                           *p = json_object_new_object();

	if (!array || !p || (n > 0 && !allowed))
		return -ENOMEM;
	policy_filter_devices(&call->manager->policy, call->caller, devices, n, allowed);
	for (size_t i = 0; i < n; i++)
		if (allowed[i] && json_append(array, device_to_json(&devices[i], &call->manager->state)) < 0)
			return -ENOMEM;
	if (json_add(p, "devices", TAKE_PTR(array)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

static void list_work_done(WorkerJob *job) {
	ListWork *w = (ListWork *) job;
	MethodCall call;

	if (w->result < 0)
		log_warning_errno(w->result, "Failed to list PCI devices: %m");
	if (method_resume(&w->call, &call))
		method_finish(&call, w->result < 0
		                             ? method_send(&call, message_new_kernel_error(
		                                                          "sysfs_list_devices", w->result))
		                             : list_devices_reply(&call, w->devices, w->n));
	free(w->devices);
	free(w);
}

int method_list_devices(MethodCall *call, const void *params _unused_) {
	ListWork *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->root_fd = call->manager->sysfs_fd;
	w->vfio = call->manager->state.vfio;
	method_submit(call, &w->call, list_work_run, list_work_done);
	return METHOD_PENDING;
}

int method_list_attachments(MethodCall *call, const void *params _unused_) {
	_cleanup_json_ json_object *p = json_object_new_object(), *array = json_object_new_array();

	if (!p || !array)
		return -ENOMEM;
	for (Attachment *a = call->manager->state.attachments; a; a = a->next) {
		PolicyOwner owner = attachment_owner(a);
		if (policy_may_see_attachment(&call->manager->policy, call->caller, &owner) &&
		    json_append(array, attachment_to_json(a)) < 0)
			return -ENOMEM;
	}
	if (json_add(p, "attachments", TAKE_PTR(array)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

int method_monitor(MethodCall *call, const void *params _unused_) {
	/* The table made sure of "more". The connection now carries events only: nothing after
	 * this call is read. */
	connection_start_monitoring(call->connection);
	return 0;
}
