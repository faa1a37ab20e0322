/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "connection.h"
#include "dispatch.h"
#include "log.h"
#include "message.h"
#include "methods.h"

/* Every method the broker answers: a call for anything else never reaches a handler. */
static const MethodEntry method_table[] = {
	{ VARLINK_METHOD_GET_INFO, method_get_info, 0 },
	{ VARLINK_METHOD_GET_INTERFACE_DESCRIPTION, method_get_interface_description, 0 },
	{ VFIOD_METHOD_LIST_DEVICES, method_list_devices, 0 },
	{ VFIOD_METHOD_LIST_ATTACHMENTS, method_list_attachments, 0 },
	{ VFIOD_METHOD_ATTACH, method_attach, METHOD_TAKES_FDS },
	{ VFIOD_METHOD_OPEN_DEVICE, method_open_device, 0 },
	{ VFIOD_METHOD_DETACH, method_detach, 0 },
	{ VFIOD_METHOD_MONITOR, method_monitor, 0 },
	{ VFIOD_METHOD_BIND, method_bind, 0 },
	{ VFIOD_METHOD_UNBIND, method_unbind, 0 },
};

const MethodEntry *dispatch_find_method(const char *name) {
	for (size_t i = 0; i < ELEMENTSOF(method_table); i++)
		if (strcmp(method_table[i].name, name) == 0)
			return &method_table[i];
	return NULL;
}

/* Length of the interface part of "interface.Method", 0 when there is no dot. */
static size_t method_interface_length(const char *method) {
	const char *dot = strrchr(method, '.');
	return dot ? (size_t) (dot - method) : 0;
}

static bool interface_is_known(const char *method, size_t length) {
	return (length == strlen(VFIOD_INTERFACE) && strncmp(method, VFIOD_INTERFACE, length) == 0) ||
	       (length == strlen(VARLINK_SERVICE_INTERFACE) &&
	        strncmp(method, VARLINK_SERVICE_INTERFACE, length) == 0);
}

/* Answers a call for a method the table lacks with the Varlink error that names it. */
static int dispatch_reply_unknown(Connection *c, const char *method) {
	size_t length = method_interface_length(method);
	json_object *parameters = json_object_new_object();
	const char *error;
	int r;

	if (!parameters)
		return -ENOMEM;
	if (length == 0 || !interface_is_known(method, length)) {
		error = VARLINK_ERROR_INTERFACE_NOT_FOUND;
		r = json_object_object_add(parameters, "interface",
		                           json_object_new_string_len(method, (int) length));
	} else {
		error = VARLINK_ERROR_METHOD_NOT_FOUND;
		r = json_object_object_add(parameters, "method", json_object_new_string(method));
	}
	if (r < 0) {
		json_object_put(parameters);
		return -ENOMEM;
	}
	return connection_reply_error(c, error, parameters);
}

static int dispatch_reply_parse_error(Connection *c, int error) {
	if (error == -ENOMEM)
		return error;
	if (error == -EBADMSG)
		return connection_reply_protocol_error(c, "message is not valid JSON in UTF-8", true);
	return connection_reply_protocol_error(c, "message is not a Varlink call", true);
}

int dispatch_message(Connection *c, const char *text, size_t length, int *fds, size_t n_fds) {
	_cleanup_(varlink_call_done) VarlinkCall call = {};
	const MethodEntry *entry;
	int r;

	r = message_parse_call(text, length, &call);
	if (r < 0) {
		close_many(fds, n_fds);
		return dispatch_reply_parse_error(c, r);
	}
	entry = dispatch_find_method(call.method);
	if (!entry) {
		close_many(fds, n_fds);
		return dispatch_reply_unknown(c, call.method);
	}
	if (n_fds > 0 && !(entry->flags & METHOD_TAKES_FDS)) {
		close_many(fds, n_fds);
		return connection_reply_protocol_error(c, "this method takes no file descriptors", false);
	}

	MethodCall method_call = {
		.connection = c,
		.method = call.method,
		.parameters = call.parameters,
		.fds = fds,
		.n_fds = n_fds,
		.more = call.more,
	};
	r = entry->handler(&method_call);
	close_many(fds, n_fds);
	return r;
}
