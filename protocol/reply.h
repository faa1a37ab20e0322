/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The io.vfiod types a client reads in replies (Device, Attachment, Event), decoded as
 * protocol/io.vfiod.varlink declares them: the decode tables are made from the file
 * (IDL_PARAMS, idl.h). Strings and objects stay borrowed from the json object decoded. Pure. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

typedef struct ReplyDevice {
	const char *address;
	int64_t group; /* -1: in no IOMMU group */
	const char *vendor, *device;
	const char *driver; /* optional: untouched when null */
	bool viable;
	int64_t attachment; /* optional: untouched when null */
} ReplyDevice;

typedef struct ReplyAttachment {
	int64_t id;
	const char *address;
	int64_t group, vm, pid, uid;
	const char *since;
	int64_t memlock; /* optional: untouched when null */
	bool device_open;
	const char *mode; /* optional: untouched when null, which means "group" */
} ReplyAttachment;

typedef struct ReplyEvent {
	const char *kind;
	json_object *attachment; /* optional, an Attachment: untouched when null */
	json_object *device;     /* optional, a Device: untouched when null */
	const char *reason;      /* optional: untouched when null */
	const char *time;
} ReplyEvent;

/* Decodes the json object o following the n rows of spec into ret. Returns 0, or -EBADMSG and
 * sets *ret_bad_name (unless NULL) to the field that is missing or not as declared. */
int reply_decode(json_object *o, const ParamSpec *spec, size_t n, void *ret, const char **ret_bad_name);

/* One object of the type each, as reply_decode(). */
int reply_decode_device(json_object *o, ReplyDevice *ret, const char **ret_bad_name);
int reply_decode_attachment(json_object *o, ReplyAttachment *ret, const char **ret_bad_name);
int reply_decode_event(json_object *o, ReplyEvent *ret, const char **ret_bad_name);
