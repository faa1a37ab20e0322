/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>

#include "json.h"
#include "message.h"

int json_add_nullable(json_object *object, const char *key, json_object *value) {
	/* json-c asserts on a NULL object: an allocation that failed before must not abort the
	 * daemon here. */
	if (!object || json_object_object_add(object, key, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

int json_add(json_object *object, const char *key, json_object *value) {
	if (!value)
		return -ENOMEM;
	return json_add_nullable(object, key, value);
}

int json_append(json_object *array, json_object *value) {
	/* json-c asserts on a NULL array: refuse here. */
	if (!array || !value || json_object_array_add(array, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

static json_object *json_new_string_or_null(const char *s) {
	return s && *s ? json_object_new_string(s) : NULL;
}

json_object *device_to_json(const SysfsDevice *d, State *state) {
	Attachment *a = d->group >= 0 ? state_find_attachment_by_group(state, d->group) : NULL;
	_cleanup_json_ json_object *o = json_object_new_object();
	char vendor[5], device[5];
	int r = 0;

	if (!o)
		return NULL;
	(void) snprintf(vendor, sizeof(vendor), "%04x", d->vendor);
	(void) snprintf(device, sizeof(device), "%04x", d->device);
	r |= json_add(o, "address", json_object_new_string(PCI_ADDRESS_TEXT(d->address)));
	r |= json_add(o, "group", json_object_new_int(d->group));
	r |= json_add(o, "vendor", json_object_new_string(vendor));
	r |= json_add(o, "device", json_object_new_string(device));
	r |= json_add_nullable(o, "driver", json_new_string_or_null(d->driver));
	r |= json_add(o, "viable", json_object_new_boolean(d->viable));
	r |= json_add_nullable(o, "attachment", a ? json_object_new_int64(a->id) : NULL);
	return r < 0 ? NULL : TAKE_PTR(o);
}

/* A memlock limit on the wire: bytes, -1 for unlimited. */
static int64_t memlock_to_json(uint64_t bytes) {
	return bytes > INT64_MAX ? -1 : (int64_t) bytes;
}

json_object *attachment_to_json(const Attachment *a) {
	_cleanup_json_ json_object *o = json_object_new_object();
	char since[32];
	int r = 0;

	if (!o)
		return NULL;
	state_format_time(a->since, since, sizeof(since));
	r |= json_add(o, "id", json_object_new_int64(a->id));
	r |= json_add(o, "address", json_object_new_string(PCI_ADDRESS_TEXT(a->address)));
	r |= json_add(o, "group", json_object_new_int(a->group->number));
	r |= json_add(o, "vm", json_object_new_int64(a->vm->id));
	r |= json_add(o, "pid", json_object_new_int64(a->pid));
	r |= json_add(o, "uid", json_object_new_int64(a->uid));
	r |= json_add(o, "since", json_object_new_string(since));
	r |= json_add(o, "deviceOpen", json_object_new_boolean(a->device_open));
	r |= json_add_nullable(o, "memlock",
	                       a->memlock == 0 ? NULL : json_object_new_int64(memlock_to_json(a->memlock)));
	/* Always said, though null would mean "group": a reader need not know the default. */
	r |= json_add(o, "mode", json_object_new_string(attach_mode_name(a->vm->mode)));
	return r < 0 ? NULL : TAKE_PTR(o);
}

json_object *event_to_json(const Event *e, State *state) {
	_cleanup_json_ json_object *o = json_object_new_object();
	char now[32];
	int r = 0;

	if (!o)
		return NULL;
	state_format_time(time(NULL), now, sizeof(now));
	r |= json_add(o, "kind", json_object_new_string(e->kind));
	r |= e->attachment ? json_add(o, "attachment", attachment_to_json(e->attachment))
	                   : json_add_nullable(o, "attachment", NULL);
	r |= e->device ? json_add(o, "device", device_to_json(e->device, state))
	               : json_add_nullable(o, "device", NULL);
	r |= json_add_nullable(o, "reason", json_new_string_or_null(e->reason));
	r |= json_add(o, "time", json_object_new_string(now));
	return r < 0 ? NULL : TAKE_PTR(o);
}
