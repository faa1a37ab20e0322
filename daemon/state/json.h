/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The interface's types (Device, Attachment, Event) as json-c objects. Builders return NULL
 * on allocation failure. */

#include <json-c/json.h>

#include "state.h"
#include "sysfs.h"

/* Adds value under key, taking ownership of value; -ENOMEM when value is NULL or adding
 * fails. One check per object keeps callers flat. */
int json_add(json_object *object, const char *key, json_object *value);

/* The same, where a NULL value is a JSON null (an optional field's). */
int json_add_nullable(json_object *object, const char *key, json_object *value);

/* Appends value to array, taking ownership of value; -ENOMEM when either is NULL or adding
 * fails. */
int json_append(json_object *array, json_object *value);

/* A Device, with the attachment that holds its group in state. */
json_object *device_to_json(const SysfsDevice *d, State *state);

json_object *attachment_to_json(const Attachment *a);

/* Something that happened, for Monitor. */
typedef struct Event {
	const char *kind;             /* "attach", "detach", "bind", "unbind" */
	const Attachment *attachment; /* NULL for none */
	const SysfsDevice *device;    /* NULL for none */
	const char *reason;           /* NULL for none */
} Event;

/* An Event as the interface's type; the device with the attachment that holds its group in
 * state. */
json_object *event_to_json(const Event *e, State *state);
