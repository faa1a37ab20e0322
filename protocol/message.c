/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "message.h"
#include "pci.h"
#include "protocol.h"

void varlink_call_done(VarlinkCall *c) {
	free(c->method);
	json_object_put(c->parameters);
	*c = (VarlinkCall){};
}

void varlink_reply_done(VarlinkReply *r) {
	free(r->error);
	json_object_put(r->parameters);
	*r = (VarlinkReply){};
}

int message_parse_object(const char *text, size_t length, json_object **ret) {
	struct json_tokener *tok;
	json_object *o;

	if (length > INT_MAX || strnlen(text, length) != length)
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int) length);
	if (o && json_tokener_get_parse_end(tok) != length) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o)
		return -EBADMSG;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

/* A boolean member, absent meaning false; -EPROTO for another type. */
static int member_bool(json_object *o, const char *key, bool *ret) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = false;
		return 0;
	}
	if (!json_object_is_type(v, json_type_boolean))
		return -EPROTO;
	*ret = json_object_get_boolean(v);
	return 0;
}

/* "parameters": absent or null is an empty object; anything but an object is -EPROTO. */
static int member_parameters(json_object *o, json_object **ret) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, "parameters", &v) || !v) {
		*ret = json_object_new_object();
		return *ret ? 0 : -ENOMEM;
	}
	if (!json_object_is_type(v, json_type_object))
		return -EPROTO;
	*ret = json_object_get(v);
	return 0;
}

/* A string member copied out; absent gives NULL when optional, -EPROTO otherwise. */
static int member_string(json_object *o, const char *key, bool optional, char **ret) {
	json_object *v = NULL;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = NULL;
		return optional ? 0 : -EPROTO;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EPROTO;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t) json_object_get_string_len(v))
		return -EPROTO;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int message_parse_call(const char *text, size_t length, VarlinkCall *ret) {
	_cleanup_(varlink_call_done) VarlinkCall c = {};
	_cleanup_json_ json_object *o = NULL;
	int r;

	r = message_parse_object(text, length, &o);
	if (r < 0)
		return r;
	r = member_string(o, "method", false, &c.method);
	if (r < 0)
		return r;
	r = member_bool(o, "more", &c.more);
	if (r < 0)
		return r;
	r = member_bool(o, "oneway", &c.oneway);
	if (r < 0)
		return r;
	r = member_bool(o, "upgrade", &c.upgrade);
	if (r < 0)
		return r;
	r = member_parameters(o, &c.parameters);
	if (r < 0)
		return r;
	*ret = TAKE_STRUCT(c);
	return 0;
}

int message_parse_reply(const char *text, size_t length, VarlinkReply *ret) {
	_cleanup_(varlink_reply_done) VarlinkReply reply = {};
	_cleanup_json_ json_object *o = NULL;
	int r;

	r = message_parse_object(text, length, &o);
	if (r < 0)
		return r;
	r = member_string(o, "error", true, &reply.error);
	if (r < 0)
		return r;
	r = member_bool(o, "continues", &reply.continues);
	if (r < 0)
		return r;
	r = member_parameters(o, &reply.parameters);
	if (r < 0)
		return r;
	*ret = TAKE_STRUCT(reply);
	return 0;
}

/* Adds value under key, taking value; releases o and returns NULL on failure. */
static json_object *with_member(json_object *o, const char *key, json_object *value) {
	if (!o || !value || json_object_object_add(o, key, value) < 0) {
		json_object_put(value);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *new_with_parameters(json_object *parameters) {
	json_object *o = json_object_new_object();

	if (!parameters)
		parameters = json_object_new_object();
	return with_member(o, "parameters", parameters);
}

json_object *message_new_call(const char *method, json_object *parameters, bool more) {
	json_object *o =
	        with_member(new_with_parameters(parameters), "method", json_object_new_string(method));

	if (o && more)
		o = with_member(o, "more", json_object_new_boolean(true));
	return o;
}

json_object *message_new_reply(json_object *parameters, bool continues) {
	json_object *o = new_with_parameters(parameters);

	if (o && continues)
		o = with_member(o, "continues", json_object_new_boolean(true));
	return o;
}

json_object *message_new_error(const char *error, json_object *parameters) {
	return with_member(new_with_parameters(parameters), "error", json_object_new_string(error));
}

json_object *message_new_invalid_parameter(const char *name) {
	json_object *p = with_member(json_object_new_object(), "parameter", json_object_new_string(name));

	return p ? message_new_error(VARLINK_ERROR_INVALID_PARAMETER, p) : NULL;
}

/* How much of value an error echoes: at most PROTOCOL_MAX_ECHO_BYTES, cut back to the start
 * of a UTF-8 sequence so that the cut text is still valid UTF-8 (value is, the parser checked). */
static size_t echo_length(const char *value) {
	size_t length = strnlen(value, PROTOCOL_MAX_ECHO_BYTES + 1);

	if (length <= PROTOCOL_MAX_ECHO_BYTES)
		return length;
	length = PROTOCOL_MAX_ECHO_BYTES;
	while (length > 0 && ((unsigned char) value[length] & 0xc0) == 0x80)
		length--;
	return length;
}

/* An error with one string parameter, echoed bounded: a client's 64 KiB method name must not
 * become a 64 KiB reply held for a client that does not read (protocol.md). */
static json_object *error_with_string(const char *error, const char *key, const char *value) {
	json_object *p = with_member(json_object_new_object(), key,
	                             json_object_new_string_len(value, (int) echo_length(value)));

	return p ? message_new_error(error, p) : NULL;
}

json_object *message_new_interface_not_found(const char *interface) {
	return error_with_string(VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", interface);
}

json_object *message_new_method_not_found(const char *method) {
	return error_with_string(VARLINK_ERROR_METHOD_NOT_FOUND, "method", method);
}

json_object *message_new_plain_error(const char *error) {
	return message_new_error(error, NULL);
}

json_object *message_new_limit_exceeded(const char *limit, int64_t value) {
	json_object *p = with_member(json_object_new_object(), "limit", json_object_new_string(limit));

	p = with_member(p, "value", json_object_new_int64(value));
	return p ? message_new_error(VFIOD_ERROR_LIMIT_EXCEEDED, p) : NULL;
}

json_object *message_new_protocol_error(const char *reason) {
	return error_with_string(VFIOD_ERROR_PROTOCOL_ERROR, "reason", reason);
}

json_object *message_new_address_error(const char *error, const char *address) {
	return error_with_string(error, "address", address);
}

json_object *message_new_no_such_attachment(int64_t id) {
	json_object *p = with_member(json_object_new_object(), "id", json_object_new_int64(id));

	return p ? message_new_error(VFIOD_ERROR_NO_SUCH_ATTACHMENT, p) : NULL;
}

json_object *message_new_device_busy(const char *address, int64_t attachment) {
	json_object *p = with_member(json_object_new_object(), "address", json_object_new_string(address));

	p = with_member(p, "attachment", json_object_new_int64(attachment));
	return p ? message_new_error(VFIOD_ERROR_DEVICE_BUSY, p) : NULL;
}

json_object *message_new_group_not_viable(int64_t group, const char *const *blockers, size_t n) {
	json_object *array = json_object_new_array_ext((int) n), *p;

	for (size_t i = 0; array && i < n; i++) {
		json_object *s = json_object_new_string(blockers[i]);
		if (!s || json_object_array_add(array, s) < 0) {
			json_object_put(s);
			json_object_put(array);
			array = NULL;
		}
	}
	p = with_member(json_object_new_object(), "group", json_object_new_int64(group));
	p = with_member(p, "blockers", array);
	return p ? message_new_error(VFIOD_ERROR_GROUP_NOT_VIABLE, p) : NULL;
}

json_object *message_new_kernel_error(const char *operation, int error) {
	json_object *p =
	        with_member(json_object_new_object(), "operation", json_object_new_string(operation));

	p = with_member(p, "errno", json_object_new_int(-error));
	p = with_member(p, "message", json_object_new_string(strerror(-error)));
	return p ? message_new_error(VFIOD_ERROR_KERNEL_ERROR, p) : NULL;
}

const char *message_to_string(json_object *obj, size_t *ret_length) {
	size_t length = 0;
	const char *s = json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);

	if (!s)
		return NULL;
	*ret_length = length;
	return s;
}

static int decode_string(json_object *v, const ParamSpec *spec, void *field) {
	size_t length;

	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	length = (size_t) json_object_get_string_len(v);
	/* An embedded NUL would make the C string lie about its length. */
	if (strlen(json_object_get_string(v)) != length ||
	    (spec->max_length > 0 && length > spec->max_length))
		return -EINVAL;
	*(const char **) field = json_object_get_string(v);
	return 0;
}

static int decode_int(json_object *v, const ParamSpec *spec, void *field) {
	int64_t value;

	/* json-c clamps integers beyond int64 to its limits: a clamped value is refused as
	 * out of range by any table whose bounds lie inside them. */
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	value = json_object_get_int64(v);
	if (errno != 0 || value == INT64_MAX || value == INT64_MIN || value < spec->min || value > spec->max)
		return -EINVAL;
	*(int64_t *) field = value;
	return 0;
}

static int decode_one(json_object *parameters, const ParamSpec *spec, void *ret) {
	json_object *v = NULL;
	void *field = (char *) ret + spec->offset;

	if (!json_object_object_get_ex(parameters, spec->name, &v) || !v)
		return spec->optional ? 0 : -EINVAL;
	switch (spec->type) {
	case PARAM_STRING:
		return decode_string(v, spec, field);
	case PARAM_INT:
		return decode_int(v, spec, field);
	case PARAM_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		*(bool *) field = json_object_get_boolean(v);
		return 0;
	case PARAM_PCI_ADDRESS: {
		const char *text = NULL;
		int r = decode_string(v, spec, &text);
		if (r < 0)
			return r;
		return pci_address_parse(text, field) < 0 ? -EADDRNOTAVAIL : 0;
	}
	case PARAM_OBJECT:
	case PARAM_ARRAY:
		if (!json_object_is_type(v, spec->type == PARAM_OBJECT ? json_type_object : json_type_array))
			return -EINVAL;
		*(json_object **) field = v;
		return 0;
	}
	return -EINVAL;
}

int message_decode_params(json_object *parameters, const ParamSpec *table, size_t n, void *ret,
                          const char **ret_bad_name) {
	for (size_t i = 0; i < n; i++) {
		int r = decode_one(parameters, &table[i], ret);
		if (r < 0) {
			*ret_bad_name = table[i].name;
			return r == -EADDRNOTAVAIL ? r : -EINVAL;
		}
	}
	return 0;
}
