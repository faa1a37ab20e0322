/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The method table and the checks every call passes before a handler acts. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "protocol.h"

typedef struct Connection Connection;

/* What a handler gets. fds are the ones that came with the call; a handler that keeps one
 * takes it (TAKE_FD on the array element); the dispatcher closes whatever is left. */
typedef struct MethodCall {
	Connection *connection;
	const char *method;
	json_object *parameters; /* never NULL */
	int *fds;
	size_t n_fds;
	bool more;
} MethodCall;

/* A handler queues exactly one reply (or, for streaming, the first of them) and returns 0;
 * it returns -errno only when it could not even queue an error: the connection then closes. */
typedef int (*MethodHandler)(MethodCall *call);

typedef enum MethodFlags {
	METHOD_TAKES_FDS = 1 << 0, /* fds may come with the call */
} MethodFlags;

typedef struct MethodEntry {
	const char *name;
	MethodHandler handler;
	MethodFlags flags;
} MethodEntry;

/* Parses one message received on c and runs it. Takes ownership of the n_fds fds on every
 * path. Invalid messages get io.vfiod.ProtocolError and close the connection; unknown
 * interfaces and methods get the Varlink errors. Returns 0, or -errno when the connection
 * must close at once. */
int dispatch_message(Connection *c, const char *text, size_t length, int *fds, size_t n_fds);

/* The table entry for a method name, NULL when unknown. */
const MethodEntry *dispatch_find_method(const char *name);
