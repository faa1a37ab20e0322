/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "connection.h"
#include "dispatch.h"
#include "idl.h"
#include "log.h"
#include "manager.h"
#include "message.h"
#include "methods.h"

/* Requests carry no longer strings than these; a longer one is an InvalidParameter. */
#define ADDRESS_TEXT_MAX   64
#define INTERFACE_NAME_MAX 256

/* Each table is made from its method's parameters in protocol/NAME.varlink (IDL_PARAMS, idl.h):
 * their names, types and optionality. Below is only what the interface cannot say, per field:
 * the member a parameter is decoded into (a PciAddress member makes the string a PCI address,
 * InvalidAddress when it is not) and its bounds. A parameter the file gains without a line here
 * does not compile; test-interface checks every row against its own method, which covers the
 * rows that share a table (Detach, Unbind) and those that have none. */
#define INTERFACE_interface InterfaceParams, interface, .max_length = INTERFACE_NAME_MAX
#define ATTACH_address      AttachParams, address, .max_length = ADDRESS_TEXT_MAX
#define ATTACH_vmFd         AttachParams, vm_fd, .min = 0, .max = PROTOCOL_MAX_FDS - 1
#define CDEV_address        AttachDeviceParams, address, .max_length = ADDRESS_TEXT_MAX
#define CDEV_iommuFd        AttachDeviceParams, iommu_fd, .min = 0, .max = PROTOCOL_MAX_FDS - 1
#define ID_id               IdParams, id, .min = 0, .max = UINT32_MAX
#define ADDRESS_address     AddressParams, address, .max_length = ADDRESS_TEXT_MAX
#define BIND_address        BindParams, address, .max_length = ADDRESS_TEXT_MAX
#define BIND_force          BindParams, force
#define BIND_driver         BindParams, driver, .max_length = SYSFS_DRIVER_MAX - 1

static const ParamSpec interface_params[] = { IDL_PARAMS(IDL_IN_org_varlink_service_GetInterfaceDescription,
	                                                 INTERFACE) };
static const ParamSpec attach_params[] = { IDL_PARAMS(IDL_IN_io_vfiod_Attach, ATTACH) };
static const ParamSpec attach_device_params[] = { IDL_PARAMS(IDL_IN_io_vfiod_AttachDevice, CDEV) };
/* An iommuFd left out is -1: 0 would be an index. */
static const AttachDeviceParams attach_device_defaults = { .iommu_fd = -1 };
/* Detach takes OpenDevice's parameters. */
static const ParamSpec id_params[] = { IDL_PARAMS(IDL_IN_io_vfiod_OpenDevice, ID) };
static const ParamSpec bind_params[] = { IDL_PARAMS(IDL_IN_io_vfiod_Bind, BIND) };
static const ParamSpec address_params[] = { IDL_PARAMS(IDL_IN_io_vfiod_Unbind, ADDRESS) };

#define PARAMS(table, type) .params = table, .n_params = ELEMENTSOF(table), .params_size = sizeof(type)

/* Every method the broker answers, and what each takes and allows: a call for anything else
 * never reaches a handler, and no handler runs before its row's checks passed. */
static const MethodEntry method_table[] = {
	{ VARLINK_METHOD_GET_INFO, method_get_info },
	{ VARLINK_METHOD_GET_INTERFACE_DESCRIPTION, method_get_interface_description,
	  PARAMS(interface_params, InterfaceParams) },
	{ VFIOD_METHOD_LIST_DEVICES, method_list_devices },
	{ VFIOD_METHOD_LIST_ATTACHMENTS, method_list_attachments },
	{ VFIOD_METHOD_ATTACH, method_attach, PARAMS(attach_params, AttachParams),
	  .flags = METHOD_FDS_IN | METHOD_FDS_OUT },
	{ VFIOD_METHOD_OPEN_DEVICE, method_open_device, PARAMS(id_params, IdParams),
	  .flags = METHOD_FDS_OUT },
	{ VFIOD_METHOD_DETACH, method_detach, PARAMS(id_params, IdParams) },
	{ VFIOD_METHOD_ATTACH_DEVICE, method_attach_device, PARAMS(attach_device_params, AttachDeviceParams),
	  .defaults = &attach_device_defaults, .flags = METHOD_FDS_IN | METHOD_FDS_OUT },
	{ VFIOD_METHOD_MONITOR, method_monitor, .flags = METHOD_STREAMING },
	{ VFIOD_METHOD_BIND, method_bind, PARAMS(bind_params, BindParams), .flags = METHOD_ADMIN,
	  .audit_action = "bind" },
	{ VFIOD_METHOD_UNBIND, method_unbind, PARAMS(address_params, AddressParams), .flags = METHOD_ADMIN,
	  .audit_action = "unbind" },
};

const MethodEntry *dispatch_table(size_t *ret_n) {
	*ret_n = ELEMENTSOF(method_table);
	return method_table;
}

static const MethodEntry *dispatch_find_method(const char *name) {
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
	_cleanup_free_ char *interface = NULL;

	if (length > 0 && interface_is_known(method, length))
		return connection_send(c, message_new_method_not_found(method), NULL, 0);
	interface = strndup(method, length);
	if (!interface)
		return -ENOMEM;
	return connection_send(c, message_new_interface_not_found(interface), NULL, 0);
}

static int dispatch_reply_parse_error(Connection *c, int error) {
	if (error == -ENOMEM)
		return error;
	if (error == -EBADMSG)
		return connection_reply_protocol_error(c, "message is not valid JSON in UTF-8", true);
	return connection_reply_protocol_error(c, "message is not a Varlink call", true);
}

/* How the call asks to be run, against what the row allows: fds only where the row takes
 * them, oneway never for fds or "more" (protocol.md), no upgrade, and "more" where the row
 * streams. Returns 1 when it may go on, 0 when answered, -errno. */
static int dispatch_check_form(Connection *c, const MethodEntry *e, const VarlinkCall *call, size_t n_fds) {
	if (call->upgrade)
		return connection_reply_protocol_error(c, "upgrade is not supported", true);
	if (call->oneway && (call->more || (e->flags & (METHOD_FDS_IN | METHOD_FDS_OUT))))
		return connection_reply_protocol_error(c, "this call cannot be oneway", true);
	if (n_fds > 0 && !(e->flags & METHOD_FDS_IN))
		return connection_reply_protocol_error(c, "this method takes no file descriptors", false);
	if ((e->flags & METHOD_STREAMING) && !call->more)
		return connection_send(c, message_new_plain_error(VARLINK_ERROR_EXPECTED_MORE), NULL, 0);
	return 1;
}

/* Decodes the row's parameters into params: InvalidParameter names a missing, ill-typed or
 * out-of-range one, InvalidAddress a string that is no PCI address. 1, 0 when answered. */
static int dispatch_decode(Connection *c, const MethodEntry *e, json_object *parameters, void *params) {
	const char *bad = NULL;
	json_object *text = NULL;
	int r = message_decode_params(parameters, e->params, e->n_params, params, &bad);

	if (r == -EADDRNOTAVAIL && json_object_object_get_ex(parameters, bad, &text))
		return connection_send(
		        c,
		        message_new_address_error(VFIOD_ERROR_INVALID_ADDRESS, json_object_get_string(text)),
		        NULL, 0);
	if (r < 0)
		return connection_send(c, message_new_invalid_parameter(bad), NULL, 0);
	return 1;
}

/* An admin-only method called by someone else: denied, and audited as a denial. */
static int dispatch_deny_admin_only(MethodCall *call, const MethodEntry *e, const void *params) {
	const PciAddress *address =
	        e->params && e->params[0].type == PARAM_PCI_ADDRESS
	                ? (const PciAddress *) ((const char *) params + e->params[0].offset)
	                : NULL;
	AuditRecord record = method_record(call, e->audit_action, "denied",
	                                   address ? PCI_ADDRESS_TEXT(*address) : NULL, 0, "not an admin");

	/* "Unbind of 0000:01:00.0 by pid 7 uid 1000: denied, not an admin." */
	method_audit_denial(call, &record, "%c%s of %s by pid %d uid %u: denied, not an admin.",
	                    toupper((unsigned char) e->audit_action[0]), e->audit_action + 1,
	                    record.device ?: "a device", (int) record.pid, (unsigned) record.uid);
	return connection_send(call->connection, message_new_plain_error(VFIOD_ERROR_PERMISSION_DENIED),
	                       NULL, 0);
}

/* Every parameter struct the table names fits here. */
typedef union MethodParams {
	InterfaceParams interface;
	AttachParams attach;
	AttachDeviceParams attach_device;
	IdParams id;
	AddressParams address;
	BindParams bind;
} MethodParams;

static int dispatch_run(Connection *c, const MethodEntry *e, VarlinkCall *v, int *fds, size_t n_fds) {
	Caller caller = connection_caller(c);
	MethodParams params = {};
	MethodCall call = {
		.manager = c->manager,
		.connection = c,
		.method = v->method,
		.caller = &caller,
		.admin = policy_is_admin(&c->manager->policy, &caller),
		.fds = fds,
		.n_fds = n_fds,
		.more = v->more,
	};
	int r;

	assert(e->params_size <= sizeof(params));
	if (e->defaults)
		memcpy(&params, e->defaults, e->params_size);
	r = dispatch_check_form(c, e, v, n_fds);
	if (r > 0 && e->params)
		r = dispatch_decode(c, e, v->parameters, &params);
	if (r > 0 && (e->flags & METHOD_ADMIN) && !call.admin)
		r = dispatch_deny_admin_only(&call, e, &params);
	if (r <= 0)
		return r;
	/* From here on the call is run; a oneway call's replies are dropped. */
	c->oneway = v->oneway;
	r = e->handler(&call, &params);
	c->oneway = r == METHOD_PENDING && v->oneway;
	return r;
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
	r = dispatch_run(c, entry, &call, fds, n_fds);
	if (r != -EAGAIN)
		close_many(fds, n_fds);
	return r;
}
