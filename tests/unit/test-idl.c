/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The interfaces as data (protocol/idl.c, the tables protocol/idl.awk makes of the .varlink
 * files), ParamSpec rows made from them (IDL_PARAMS), and the io.vfiod types decoded from
 * replies with such rows (protocol/reply.c). test-interface checks the tables against the files
 * and the daemon's method table against both. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "idl.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"
#include "reply.h"

static void methods_are_found_by_qualified_name(void **state) {
	(void) state;
	static const char *const unknown[] = {
		"io.vfiod.Nope", "io.vfio.Attach",     "io.vfiodx.Attach", "Attach", "",
		"io.vfiod.",     "io.vfiod.Attachment"
	};
	const IdlMethod *attach = idl_find_method(VFIOD_METHOD_ATTACH);
	const IdlMethod *info = idl_find_method(VARLINK_METHOD_GET_INFO);

	assert_non_null(attach);
	assert_string_equal(attach->name, "Attach");
	assert_int_equal(attach->n_in, 2);
	assert_string_equal(attach->in[0].name, "address");
	assert_int_equal(attach->in[0].type, IDL_STRING);
	assert_string_equal(attach->in[1].name, "vmFd");
	assert_int_equal(attach->in[1].type, IDL_INT);
	assert_false(attach->in[1].optional);
	assert_int_equal(attach->n_out, 3);
	assert_int_equal(attach->out[0].type, IDL_OBJECT);
	assert_string_equal(attach->out[0].element, "Attachment");
	assert_non_null(info);
	assert_int_equal(info->n_in, 0);
	assert_null(info->in);
	assert_string_equal(info->out[4].name, "interfaces");
	assert_int_equal(info->out[4].type, IDL_ARRAY);
	assert_string_equal(info->out[4].element, "string");
	for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
		assert_null(idl_find_method(unknown[i]));
}

static void types_and_errors_are_found_by_name(void **state) {
	(void) state;
	size_t n = 0;
	const IdlInterface *const *interfaces = idl_interfaces(&n);
	const IdlStruct *event, *busy;

	assert_int_equal(n, 2);
	assert_string_equal(interfaces[0]->name, VFIOD_INTERFACE);
	assert_string_equal(interfaces[1]->name, VARLINK_SERVICE_INTERFACE);
	event = idl_find_type(interfaces[0], "Event");
	assert_non_null(event);
	assert_int_equal(event->n_fields, 5);
	assert_string_equal(event->fields[1].name, "attachment");
	assert_true(event->fields[1].optional);
	assert_string_equal(event->fields[1].element, "Attachment");
	busy = idl_find_error(interfaces[0], "DeviceBusy");
	assert_non_null(busy);
	assert_int_equal(busy->n_fields, 2);
	assert_non_null(idl_find_error(interfaces[0], "PermissionDenied"));
	assert_int_equal(idl_find_error(interfaces[0], "PermissionDenied")->n_fields, 0);
	assert_null(idl_find_type(interfaces[0], "DeviceBusy"));
	assert_null(idl_find_error(interfaces[0], "Event"));
	assert_null(idl_find_type(interfaces[1], "Event"));
}

/* Rows made here the way the daemon and the clients make theirs. */
typedef struct AttachIn {
	PciAddress address;
	int64_t vm_fd;
} AttachIn;
#define ATTACH_address AttachIn, address, .max_length = 20
#define ATTACH_vmFd    AttachIn, vm_fd, .min = 1, .max = 7
static const ParamSpec attach_in[] = { IDL_PARAMS(IDL_IN_io_vfiod_Attach, ATTACH) };

typedef struct EventRow {
	const char *kind, *reason, *time;
	json_object *attachment, *device;
} EventRow;
#define EVENT_kind       EventRow, kind, .max_length = 9
#define EVENT_attachment EventRow, attachment
#define EVENT_device     EventRow, device
#define EVENT_reason     EventRow, reason
#define EVENT_time       EventRow, time
static const ParamSpec event_row[] = { IDL_PARAMS(IDL_TYPE_io_vfiod_Event, EVENT) };

/* Names, order and optionality from the file; the type from it and the member; the rest from
 * the lines above. */
static void params_are_made_from_the_file(void **state) {
	(void) state;
	const IdlMethod *attach = idl_find_method(VFIOD_METHOD_ATTACH);
	const IdlStruct *event = idl_find_type(idl_interfaces(&(size_t){ 0 })[0], "Event");
	static const ParamType event_types[] = { PARAM_STRING, PARAM_OBJECT, PARAM_OBJECT, PARAM_STRING,
		                                 PARAM_STRING };

	assert_int_equal(ELEMENTSOF(attach_in), attach->n_in);
	assert_string_equal(attach_in[0].name, "address");
	assert_int_equal(attach_in[0].type, PARAM_PCI_ADDRESS);
	assert_int_equal(attach_in[0].offset, offsetof(AttachIn, address));
	assert_int_equal(attach_in[0].max_length, 20);
	assert_string_equal(attach_in[1].name, "vmFd");
	assert_int_equal(attach_in[1].type, PARAM_INT);
	assert_false(attach_in[1].optional);
	assert_int_equal(attach_in[1].offset, offsetof(AttachIn, vm_fd));
	assert_int_equal(attach_in[1].min, 1);
	assert_int_equal(attach_in[1].max, 7);
	assert_int_equal(ELEMENTSOF(event_row), event->n_fields);
	for (size_t i = 0; i < event->n_fields; i++) {
		assert_string_equal(event_row[i].name, event->fields[i].name);
		assert_int_equal(event_row[i].optional, event->fields[i].optional);
		assert_int_equal(event_row[i].type, event_types[i]);
	}
	assert_int_equal(event_row[0].max_length, 9);
	assert_int_equal(event_row[4].offset, offsetof(EventRow, time));
}

/* Decodes text as one object of a type; returns the bad field's name or NULL. */
static const char *decode(const char *text, int (*decoder)(json_object *, void *, const char **), void *ret,
                          json_object **ret_object) {
	const char *bad = NULL;
	int r;

	assert_int_equal(message_parse_object(text, strlen(text), ret_object), 0);
	r = decoder(*ret_object, ret, &bad);
	assert_int_equal(r, bad ? -EBADMSG : 0);
	return bad;
}

static int decode_device(json_object *o, void *ret, const char **bad) {
	return reply_decode_device(o, ret, bad);
}

static int decode_attachment(json_object *o, void *ret, const char **bad) {
	return reply_decode_attachment(o, ret, bad);
}

static int decode_event(json_object *o, void *ret, const char **bad) {
	return reply_decode_event(o, ret, bad);
}

#define DEVICE_JSON                                                                                         \
	"{\"address\":\"0000:00:02.0\",\"group\":%s,\"vendor\":\"8086\",\"device\":\"10d3\",\"driver\":%s," \
	"\"viable\":true,\"attachment\":%s}"
#define ATTACHMENT_JSON                                                                                     \
	"{\"id\":4,\"address\":\"0000:00:02.0\",\"group\":3,\"vm\":1,\"pid\":77,\"uid\":1000,"              \
	"\"since\":\"2026-12-01T10:00:00Z\",\"memlock\":%s,\"deviceOpen\":false}"

static void types_decode_as_declared(void **state) {
	(void) state;
	_cleanup_json_ json_object *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL;
	const char *bad = NULL;
	ReplyDevice d = { .driver = "-", .attachment = -1 };
	ReplyAttachment a = { .memlock = 5 };
	ReplyEvent e = { .reason = "" };
	char text[512];

	snprintf(text, sizeof(text), DEVICE_JSON, "3", "null", "null");
	assert_null(decode(text, decode_device, &d, &o1));
	assert_string_equal(d.address, "0000:00:02.0");
	assert_int_equal(d.group, 3);
	assert_string_equal(d.vendor, "8086");
	assert_string_equal(d.device, "10d3");
	assert_string_equal(d.driver, "-"); /* null: untouched */
	assert_true(d.viable);
	assert_int_equal(d.attachment, -1);
	/* A device in no IOMMU group, as an admin is shown it. */
	snprintf(text, sizeof(text), DEVICE_JSON, "-1", "\"e1000e\"", "7");
	assert_null(decode(text, decode_device, &d, &o4));
	assert_int_equal(d.group, -1);
	assert_string_equal(d.driver, "e1000e");
	assert_int_equal(d.attachment, 7);
	snprintf(text, sizeof(text), ATTACHMENT_JSON, "null");
	assert_null(decode(text, decode_attachment, &a, &o2));
	assert_int_equal(a.id, 4);
	assert_int_equal(a.vm, 1);
	assert_int_equal(a.uid, 1000);
	assert_string_equal(a.since, "2026-12-01T10:00:00Z");
	assert_int_equal(a.memlock, 5);
	assert_false(a.device_open);
	snprintf(text, sizeof(text),
	         "{\"kind\":\"detach\",\"attachment\":" ATTACHMENT_JSON ",\"device\":null,"
	         "\"reason\":\"admin\",\"time\":\"2026-12-01T10:00:01Z\"}",
	         "-1");
	assert_null(decode(text, decode_event, &e, &o3));
	assert_string_equal(e.kind, "detach");
	assert_string_equal(e.reason, "admin");
	assert_null(e.device);
	assert_int_equal(reply_decode_attachment(e.attachment, &a, &bad), 0);
	assert_int_equal(a.memlock, -1);
}

/* An object not as the file declares it names its first bad field. */
static void types_not_as_declared_name_the_field(void **state) {
	(void) state;
	static const struct {
		const char *driver, *attachment, *bad;
	} devices[] = {
		{ "7", "null", "driver" },
		{ "null", "\"4\"", "attachment" },
		{ "null", "-1", "attachment" },
		{ "null", "1.5", "attachment" },
	};
	static const struct {
		const char *text, *bad;
	} others[] = {
		{ "{\"address\":\"0000:00:02.0\",\"group\":-2}", "group" },
		{ "{\"address\":\"0000:00:02.0\",\"group\":2147483648}", "group" },
		{ "{\"address\":null}", "address" },
		{ "{}", "address" },
	};
	_cleanup_json_ json_object *number = json_object_new_int(1);
	const char *bad = NULL;
	ReplyDevice d = {};

	for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
		_cleanup_json_ json_object *o = NULL;
		char text[512];

		snprintf(text, sizeof(text), DEVICE_JSON, "3", devices[i].driver, devices[i].attachment);
		assert_string_equal(decode(text, decode_device, &d, &o), devices[i].bad);
	}
	for (size_t i = 0; i < ELEMENTSOF(others); i++) {
		_cleanup_json_ json_object *o = NULL;
		assert_string_equal(decode(others[i].text, decode_device, &d, &o), others[i].bad);
	}
	/* An array's element that is no object at all. */
	assert_non_null(number);
	assert_int_equal(reply_decode_device(number, &d, &bad), -EBADMSG);
	assert_string_equal(bad, "address");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(methods_are_found_by_qualified_name),
		cmocka_unit_test(types_and_errors_are_found_by_name),
		cmocka_unit_test(params_are_made_from_the_file),
		cmocka_unit_test(types_decode_as_declared),
		cmocka_unit_test(types_not_as_declared_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
