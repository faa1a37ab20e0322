/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "connection.h"
#include "log.h"
#include "manager.h"
#include "message.h"
#include "methods.h"
#include "sysfs.h"

/* json-c's adders fail only on allocation; one check per object keeps handlers flat. */
static int json_add(json_object *object, const char *key, json_object *value) {
	if (!value)
		return -ENOMEM;
	if (json_object_object_add(object, key, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

static json_object *json_new_string_or_null(const char *s) {
	return s && *s ? json_object_new_string(s) : NULL;
}

/* A Device of the interface; NULL on allocation failure. */
static json_object *device_to_json(const SysfsDevice *d) {
	_cleanup_json_ json_object *o = json_object_new_object();
	char id[5];
	int r = 0;

	if (!o)
		return NULL;
	r |= json_add(o, "address", json_object_new_string(d->address));
	r |= json_add(o, "group", json_object_new_int(d->group));
	(void) snprintf(id, sizeof(id), "%04x", d->vendor);
	r |= json_add(o, "vendor", json_object_new_string(id));
	(void) snprintf(id, sizeof(id), "%04x", d->device);
	r |= json_add(o, "device", json_object_new_string(id));
	/* json-c stores a NULL value as JSON null. */
	if (json_object_object_add(o, "driver", json_new_string_or_null(d->driver)) < 0)
		r = -ENOMEM;
	r |= json_add(o, "viable", json_object_new_boolean(d->viable));
	if (json_object_object_add(o, "attachment", NULL) < 0)
		r = -ENOMEM;
	return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *string_array(const char *const *strings, size_t n) {
	_cleanup_json_ json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_new_string(strings[i]);
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			return NULL;
		}
	}
	return TAKE_PTR(a);
}

int method_get_info(MethodCall *call) {
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

typedef struct InterfaceParams {
	const char *interface;
} InterfaceParams;

static int reply_invalid_parameter(MethodCall *call, const char *name) {
	json_object *parameters = json_object_new_object();

	if (!parameters || json_add(parameters, "parameter", json_object_new_string(name)) < 0) {
		json_object_put(parameters);
		return -ENOMEM;
	}
	return connection_reply_error(call->connection, VARLINK_ERROR_INVALID_PARAMETER, parameters);
}

int method_get_interface_description(MethodCall *call) {
	static const ParamSpec spec[] = {
		{ "interface", PARAM_STRING, .offset = offsetof(InterfaceParams, interface), .max_length = 256 },
	};
	InterfaceParams params = {};
	const char *bad = NULL, *description = NULL;
	_cleanup_json_ json_object *p = NULL;

	if (message_decode_params(call->parameters, spec, ELEMENTSOF(spec), &params, &bad) < 0)
		return reply_invalid_parameter(call, bad);
	if (strcmp(params.interface, VFIOD_INTERFACE) == 0)
		description = protocol_interface_description;
	else if (strcmp(params.interface, VARLINK_SERVICE_INTERFACE) == 0)
		description = protocol_service_description;
	p = json_object_new_object();
	if (!p)
		return -ENOMEM;
	if (!description) {
		if (json_add(p, "interface", json_object_new_string(params.interface)) < 0)
			return -ENOMEM;
		return connection_reply_error(call->connection, VARLINK_ERROR_INTERFACE_NOT_FOUND, TAKE_PTR(p));
	}
	if (json_add(p, "description", json_object_new_string(description)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}

/* KernelError names the operation and errno, for failures a client cannot fix. */
static int reply_kernel_error(MethodCall *call, const char *operation, int error) {
	_cleanup_json_ json_object *p = json_object_new_object();
	int r = 0;

	if (!p)
		return -ENOMEM;
	r |= json_add(p, "operation", json_object_new_string(operation));
	r |= json_add(p, "errno", json_object_new_int(-error));
	r |= json_add(p, "message", json_object_new_string(strerror(-error)));
	if (r < 0)
		return -ENOMEM;
	return connection_reply_error(call->connection, VFIOD_ERROR_KERNEL_ERROR, TAKE_PTR(p));
}

int method_list_devices(MethodCall *call) {
	_cleanup_free_ SysfsDevice *devices = NULL;
	_cleanup_json_ json_object *array = NULL, *p = NULL;
	size_t n = 0;
	int r;

	r = sysfs_list_devices(call->connection->manager->sysfs_fd, &devices, &n);
	if (r < 0) {
		log_warning_errno(r, "Failed to list PCI devices: %m");
		return reply_kernel_error(call, "sysfs_list_devices", r);
	}
	array = json_object_new_array_ext((int) n);
	p = json_object_new_object();
	if (!array || !p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *d = device_to_json(&devices[i]);
		if (!d || json_object_array_add(array, d) < 0) {
			json_object_put(d);
			return -ENOMEM;
		}
	}
	if (json_add(p, "devices", TAKE_PTR(array)) < 0)
		return -ENOMEM;
	return connection_reply(call->connection, TAKE_PTR(p), NULL, 0);
}
