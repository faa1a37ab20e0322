/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Varlink messages as json-c objects: parsing calls and replies, building replies and
 * errors, and table-driven decoding of parameters. Pure: no I/O, never logs, never exits. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

/* A call as received. parameters is never NULL: a missing, null or empty "parameters" is an
 * empty object. Owns its members. */
typedef struct VarlinkCall {
	char *method;
	json_object *parameters;
	bool more;
	bool oneway;
	bool upgrade;
} VarlinkCall;

void varlink_call_done(VarlinkCall *c);

/* A reply as received: error is NULL for a successful reply. Owns its members. */
typedef struct VarlinkReply {
	char *error;
	json_object *parameters;
	bool continues;
} VarlinkReply;

void varlink_reply_done(VarlinkReply *r);

/* Parses one message text (no NUL inside; length without the terminator). Strict JSON,
 * valid UTF-8, a top-level object. Returns 0; -EBADMSG for text that is not valid JSON or
 * UTF-8, or not an object; -EPROTO for an object that is not a call (no string "method",
 * "parameters" neither object nor null, "more"/"oneway"/"upgrade" not boolean); -ENOMEM. On failure
 * *ret is untouched. */
int message_parse_call(const char *text, size_t length, VarlinkCall *ret);

/* Parses strict JSON in valid UTF-8 that is one top-level object with nothing after it.
 * Returns 0 and a new reference; -EBADMSG otherwise; -ENOMEM. */
int message_parse_object(const char *text, size_t length, json_object **ret);

/* Same for replies: "error" absent or a string, "parameters" absent, null or an object,
 * "continues" absent or a boolean. */
int message_parse_reply(const char *text, size_t length, VarlinkReply *ret);

/* Builders. Each takes ownership of parameters (may be NULL for none) and returns a new
 * object, or NULL on allocation failure (parameters then released). */
json_object *message_new_call(const char *method, json_object *parameters, bool more);
json_object *message_new_reply(json_object *parameters, bool continues);
json_object *message_new_error(const char *error, json_object *parameters);

/* The error vocabulary: one builder per error of the interface, each returning the whole error
 * message (NULL on allocation failure). Strings are copied. */
/* org.varlink.service.InvalidParameter with {"parameter": name}. */
json_object *message_new_invalid_parameter(const char *name);
/* org.varlink.service.InterfaceNotFound {"interface"}, MethodNotFound {"method"}. */
json_object *message_new_interface_not_found(const char *interface);
json_object *message_new_method_not_found(const char *method);
/* An error without parameters: ExpectedMore, PermissionDenied, NotAVirtualMachine. */
json_object *message_new_plain_error(const char *error);
/* io.vfiod.LimitExceeded with {"limit": limit, "value": value}: limit is a vfiod.conf(5) limit
 * name, value the limit in force. */
json_object *message_new_limit_exceeded(const char *limit, int64_t value);
/* io.vfiod.ProtocolError {"reason"}. */
json_object *message_new_protocol_error(const char *reason);
/* An io.vfiod error about one device: InvalidAddress, NoSuchDevice, NotAssignable {"address"}. */
json_object *message_new_address_error(const char *error, const char *address);
/* io.vfiod.NoSuchAttachment {"id"}. */
json_object *message_new_no_such_attachment(int64_t id);
/* io.vfiod.DeviceBusy {"address", "attachment"}: the attachment holding the device's group. */
json_object *message_new_device_busy(const char *address, int64_t attachment);
/* io.vfiod.GroupNotViable {"group", "blockers"}: the n members that keep the group from VFIO. */
json_object *message_new_group_not_viable(int64_t group, const char *const *blockers, size_t n);
/* io.vfiod.KernelError {"operation", "errno", "message"} for -error. */
json_object *message_new_kernel_error(const char *operation, int error);

/* Serializes compactly (no NUL added). Returns a pointer owned by obj, valid until obj is
 * changed or released, and its length; NULL on failure. */
const char *message_to_string(json_object *obj, size_t *ret_length);

/* Table-driven decoding of a call's or a reply's parameters. The tables of the interfaces'
 * methods and types are made from protocol/NAME.varlink with IDL_PARAMS() (idl.h). */
typedef enum ParamType {
	PARAM_STRING,      /* const char * borrowed from the json object; max_length bounds it */
	PARAM_INT,         /* int64_t within [min, max] */
	PARAM_BOOL,        /* bool */
	PARAM_PCI_ADDRESS, /* PciAddress from a string; max_length bounds the string */
	PARAM_OBJECT,      /* json_object * borrowed, a JSON object (decoded in turn by its caller) */
	PARAM_ARRAY,       /* json_object * borrowed, a JSON array */
} ParamType;

typedef struct ParamSpec {
	const char *name;
	ParamType type;
	bool optional;     /* absent or null leaves the field untouched */
	size_t offset;     /* of the field in the output struct */
	size_t max_length; /* PARAM_STRING: bytes, 0 means no bound beyond the message's */
	int64_t min, max;  /* PARAM_INT */
} ParamSpec;

/* Decodes parameters into the struct at ret following table (n entries). Unknown keys are
 * ignored. Returns 0; -EINVAL and sets *ret_bad_name to the spec name of the first missing,
 * ill-typed, out-of-range or over-long parameter; or -EADDRNOTAVAIL, with the name, for a
 * string within bounds that is no PCI address (InvalidAddress, not InvalidParameter). */
int message_decode_params(json_object *parameters, const ParamSpec *table, size_t n, void *ret,
                          const char **ret_bad_name);
