/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Varlink messages: parsing calls and replies, builders, table-driven parameter decoding. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "message.h"
#include "protocol.h"

static int parse_call(const char *text, VarlinkCall *ret) {
	return message_parse_call(text, strlen(text), ret);
}

static void call_with_parameters_parses(void **state) {
	(void) state;
	_cleanup_(varlink_call_done) VarlinkCall c = {};
	json_object *v = NULL;

	assert_int_equal(
	        parse_call(
	                "{\"method\":\"io.vfiod.Attach\",\"parameters\":{\"address\":\"x\"},\"more\":true,"
	                "\"unknown\":[1,2]}",
	                &c),
	        0);
	assert_string_equal(c.method, "io.vfiod.Attach");
	assert_true(c.more);
	assert_false(c.oneway);
	assert_true(json_object_object_get_ex(c.parameters, "address", &v));
	assert_string_equal(json_object_get_string(v), "x");
}

static void missing_or_null_parameters_are_empty(void **state) {
	(void) state;
	static const char *const calls[] = {
		"{\"method\":\"a.B\"}",
		"{\"method\":\"a.B\",\"parameters\":null}",
		"{\"method\":\"a.B\",\"parameters\":{}}",
	};

	for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
		_cleanup_(varlink_call_done) VarlinkCall c = {};
		assert_int_equal(parse_call(calls[i], &c), 0);
		assert_non_null(c.parameters);
		assert_int_equal(json_object_object_length(c.parameters), 0);
	}
}

static void invalid_json_fails(void **state) {
	(void) state;
	static const char *const bad[] = {
		"",
		"{",
		"{\"method\":\"a.B\"",
		"{\"method\":\"a.B\"} trailing",
		"{\"method\":\"a.B\"}{}",
		"{'method':'a.B'}",
		"[1,2]",
		"\"string\"",
		"42",
		"{\"method\":\"\xc3\x28\"}",           /* invalid UTF-8 */
		"{\"method\":\"a.B\",\"x\":\"\xff\"}", /* invalid UTF-8 in an ignored member */
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		VarlinkCall c = {};
		assert_int_equal(parse_call(bad[i], &c), -EBADMSG);
		assert_null(c.method);
	}
}

static void embedded_nul_fails(void **state) {
	(void) state;
	VarlinkCall c = {};
	const char text[] = "{\"method\":\"a.B\"}\0{}";

	assert_int_equal(message_parse_call(text, sizeof(text) - 1, &c), -EBADMSG);
}

static void object_that_is_not_a_call_fails(void **state) {
	(void) state;
	static const char *const bad[] = {
		"{}",
		"{\"method\":42}",
		"{\"method\":null}",
		"{\"method\":\"a.B\",\"parameters\":[]}",
		"{\"method\":\"a.B\",\"parameters\":\"x\"}",
		"{\"method\":\"a.B\",\"more\":\"yes\"}",
		"{\"method\":\"a.B\",\"oneway\":1}",
		"{\"method\":\"a\\u0000b\"}",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		VarlinkCall c = {};
		assert_int_equal(parse_call(bad[i], &c), -EPROTO);
		assert_null(c.method);
	}
}

static void reply_and_error_parse(void **state) {
	(void) state;
	_cleanup_(varlink_reply_done) VarlinkReply ok = {}, error = {};
	const char *a = "{\"parameters\":{\"deviceFd\":0},\"continues\":true}";
	const char *b = "{\"error\":\"io.vfiod.NoSuchDevice\",\"parameters\":{\"address\":\"x\"}}";

	assert_int_equal(message_parse_reply(a, strlen(a), &ok), 0);
	assert_null(ok.error);
	assert_true(ok.continues);
	assert_int_equal(message_parse_reply(b, strlen(b), &error), 0);
	assert_string_equal(error.error, "io.vfiod.NoSuchDevice");
	assert_false(error.continues);
}

static void builders_round_trip(void **state) {
	(void) state;
	_cleanup_json_ json_object *call = message_new_call("io.vfiod.Monitor", NULL, true);
	_cleanup_json_ json_object *error = message_new_invalid_parameter("vmFd");
	_cleanup_(varlink_call_done) VarlinkCall c = {};
	_cleanup_(varlink_reply_done) VarlinkReply r = {};
	json_object *v = NULL;
	const char *text;
	size_t length;

	assert_non_null(call);
	text = message_to_string(call, &length);
	assert_non_null(text);
	assert_int_equal(length, strlen(text));
	assert_int_equal(message_parse_call(text, length, &c), 0);
	assert_string_equal(c.method, "io.vfiod.Monitor");
	assert_true(c.more);

	text = message_to_string(error, &length);
	assert_int_equal(message_parse_reply(text, length, &r), 0);
	assert_string_equal(r.error, VARLINK_ERROR_INVALID_PARAMETER);
	assert_true(json_object_object_get_ex(r.parameters, "parameter", &v));
	assert_string_equal(json_object_get_string(v), "vmFd");
}

typedef struct Params {
	const char *address;
	int64_t fd;
	bool flag;
	int64_t optional;
} Params;

static const ParamSpec spec[] = {
	{ "address", PARAM_STRING, .offset = offsetof(Params, address), .max_length = 12 },
	{ "fd", PARAM_INT, .offset = offsetof(Params, fd), .min = 0, .max = 15 },
	{ "flag", PARAM_BOOL, .offset = offsetof(Params, flag) },
	{ "optional", PARAM_INT, .optional = true, .offset = offsetof(Params, optional), .min = -5,
	  .max = 5 },
};

/* Decodes the parameters of a call text; returns the bad name or NULL. */
static const char *decode(const char *parameters, Params *p) {
	char text[512];
	_cleanup_(varlink_call_done) VarlinkCall c = {};
	const char *bad = NULL;
	int r;

	snprintf(text, sizeof(text), "{\"method\":\"a.B\",\"parameters\":%s}", parameters);
	assert_int_equal(parse_call(text, &c), 0);
	r = message_decode_params(c.parameters, spec, ELEMENTSOF(spec), p, &bad);
	/* Borrowed strings die with the call: copy what the test checks. */
	if (r == 0 && p->address)
		p->address = strlen(p->address) == 12 ? "twelve-chars" : "other";
	assert_true(r == 0 ? bad == NULL : bad != NULL);
	return bad;
}

static void parameters_decode(void **state) {
	(void) state;
	Params p = { .optional = 99 };

	assert_null(decode("{\"address\":\"0000:00:02.0\",\"fd\":3,\"flag\":true,\"extra\":{}}", &p));
	assert_string_equal(p.address, "twelve-chars");
	assert_int_equal(p.fd, 3);
	assert_true(p.flag);
	assert_int_equal(p.optional, 99);
	assert_null(decode("{\"address\":\"x\",\"fd\":0,\"flag\":false,\"optional\":null}", &p));
	assert_int_equal(p.optional, 99);
	assert_null(decode("{\"address\":\"x\",\"fd\":15,\"flag\":false,\"optional\":-5}", &p));
	assert_int_equal(p.optional, -5);
}

static void bad_parameters_are_named(void **state) {
	(void) state;
	static const struct {
		const char *parameters;
		const char *bad;
	} cases[] = {
		{ "{\"fd\":1,\"flag\":true}", "address" },                                    /* missing */
		{ "{\"address\":null,\"fd\":1,\"flag\":true}", "address" },                   /* null */
		{ "{\"address\":7,\"fd\":1,\"flag\":true}", "address" },                      /* type */
		{ "{\"address\":\"0000:00:02.0x\",\"fd\":1,\"flag\":true}", "address" },      /* too long */
		{ "{\"address\":\"a\\u0000b\",\"fd\":1,\"flag\":true}", "address" },          /* NUL */
		{ "{\"address\":\"x\",\"fd\":16,\"flag\":true}", "fd" },                      /* range */
		{ "{\"address\":\"x\",\"fd\":-1,\"flag\":true}", "fd" },                      /* range */
		{ "{\"address\":\"x\",\"fd\":1.5,\"flag\":true}", "fd" },                     /* double */
		{ "{\"address\":\"x\",\"fd\":\"1\",\"flag\":true}", "fd" },                   /* string */
		{ "{\"address\":\"x\",\"fd\":true,\"flag\":true}", "fd" },                    /* bool */
		{ "{\"address\":\"x\",\"fd\":99999999999999999999,\"flag\":true}", "fd" },    /* huge */
		{ "{\"address\":\"x\",\"fd\":1e999,\"flag\":true}", "fd" },                   /* huge */
		{ "{\"address\":\"x\",\"fd\":-99999999999999999999,\"flag\":true}", "fd" },   /* huge */
		{ "{\"address\":\"x\",\"fd\":1,\"flag\":1}", "flag" },                        /* type */
		{ "{\"address\":\"x\",\"fd\":1,\"flag\":true,\"optional\":6}", "optional" },  /* range */
		{ "{\"address\":\"x\",\"fd\":1,\"flag\":true,\"optional\":[]}", "optional" }, /* type */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		Params p = {};
		const char *bad;
		char text[512];
		_cleanup_(varlink_call_done) VarlinkCall c = {};

		snprintf(text, sizeof(text), "{\"method\":\"a.B\",\"parameters\":%s}", cases[i].parameters);
		if (parse_call(text, &c) < 0) /* 1e999 may already fail to parse: also a refusal */
			continue;
		bad = NULL;
		assert_int_equal(message_decode_params(c.parameters, spec, ELEMENTSOF(spec), &p, &bad),
		                 -EINVAL);
		assert_non_null(bad);
		assert_string_equal(bad, cases[i].bad);
	}
}

typedef struct Nested {
	json_object *object, *array;
} Nested;

static const ParamSpec nested_spec[] = {
	{ "object", PARAM_OBJECT, .offset = offsetof(Nested, object) },
	{ "array", PARAM_ARRAY, .optional = true, .offset = offsetof(Nested, array) },
};

/* Objects and arrays are borrowed from the parameters, each only of its own JSON type. */
static void objects_and_arrays_decode_borrowed(void **state) {
	(void) state;
	static const struct {
		const char *parameters;
		const char *bad; /* NULL: decodes */
	} cases[] = {
		{ "{\"object\":{\"a\":1},\"array\":[1,2]}", NULL },
		{ "{\"object\":{},\"array\":null}", NULL },
		{ "{\"object\":{}}", NULL },
		{ "{\"array\":[]}", "object" },
		{ "{\"object\":null}", "object" },
		{ "{\"object\":[1]}", "object" },
		{ "{\"object\":\"{}\"}", "object" },
		{ "{\"object\":{},\"array\":{}}", "array" },
		{ "{\"object\":{},\"array\":\"[]\"}", "array" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_json_ json_object *parameters = NULL;
		Nested n = {};
		const char *bad = NULL;
		json_object *v = NULL;
		int r;

		assert_int_equal(
		        message_parse_object(cases[i].parameters, strlen(cases[i].parameters), &parameters),
		        0);
		r = message_decode_params(parameters, nested_spec, ELEMENTSOF(nested_spec), &n, &bad);
		if (cases[i].bad) {
			assert_int_equal(r, -EINVAL);
			assert_string_equal(bad, cases[i].bad);
			continue;
		}
		assert_int_equal(r, 0);
		assert_true(json_object_object_get_ex(parameters, "object", &v));
		assert_ptr_equal(n.object, v);
		assert_true(json_object_is_type(n.object, json_type_object));
		if (json_object_object_get_ex(parameters, "array", &v) && v)
			assert_ptr_equal(n.array, v);
		else
			assert_null(n.array);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(call_with_parameters_parses),
		cmocka_unit_test(missing_or_null_parameters_are_empty),
		cmocka_unit_test(invalid_json_fails),
		cmocka_unit_test(embedded_nul_fails),
		cmocka_unit_test(object_that_is_not_a_call_fails),
		cmocka_unit_test(reply_and_error_parse),
		cmocka_unit_test(builders_round_trip),
		cmocka_unit_test(parameters_decode),
		cmocka_unit_test(bad_parameters_are_named),
		cmocka_unit_test(objects_and_arrays_decode_borrowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
