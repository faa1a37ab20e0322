/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The method table, and the trust boundary every call crosses before a handler acts: the
 * dispatcher parses the call, finds its row, establishes the caller once (from the socket),
 * decodes the parameters the row declares, and checks what the row declares (fds, admin,
 * streaming, oneway). A handler sees only calls that passed. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "message.h"
#include "policy.h"
#include "protocol.h"

typedef struct Connection Connection;
typedef struct Manager Manager;

/* What a handler gets. fds are the ones that came with the call; a handler that keeps one
 * takes it (TAKE_FD on the array element); the dispatcher closes whatever is left. */
typedef struct MethodCall {
	Manager *manager;
	Connection *connection;
	const char *method;
	const Caller *caller; /* from the socket at accept, never from the message */
	bool admin;           /* policy_is_admin() of the caller, decided once */
	int *fds;
	size_t n_fds;
	bool more;
} MethodCall;

/* A handler queues exactly one reply (or, for streaming, the first of them) and returns 0;
 * it returns -errno only when it could not even queue an error: the connection then closes.
 * Two more answers: METHOD_PENDING when its kernel work runs on a worker and the reply comes
 * later (methods.h, method_submit()), and -EAGAIN, before it took any fd, when a job holds
 * what the call needs: the connection keeps the call and runs it again once a job ended.
 * params points at the row's parameter struct, decoded. */
#define METHOD_PENDING 1
typedef int (*MethodHandler)(MethodCall *call, const void *params);

typedef enum MethodFlags {
	METHOD_FDS_IN = 1 << 0,    /* fds may come with the call */
	METHOD_FDS_OUT = 1 << 1,   /* the reply carries fds: never oneway (protocol.md) */
	METHOD_ADMIN = 1 << 2,     /* admins only; anyone else gets PermissionDenied, audited */
	METHOD_STREAMING = 1 << 3, /* must be called with "more" (ExpectedMore otherwise) */
} MethodFlags;

typedef struct MethodEntry {
	const char *name;
	MethodHandler handler;
	const ParamSpec *params; /* decoded into a struct of params_size bytes */
	size_t n_params;
	size_t params_size;
	const void *defaults; /* that struct before decoding (what an absent optional parameter
	                       * leaves); NULL for zeroes */
	MethodFlags flags;
	const char *audit_action; /* METHOD_ADMIN: the action a denial is audited as */
} MethodEntry;

/* Parses one message received on c and runs it. Takes ownership of the n_fds fds on every
 * path but -EAGAIN. Invalid messages get io.vfiod.ProtocolError and close the connection;
 * unknown interfaces and methods get the Varlink errors; a oneway call is run and gets no
 * reply. Returns 0; METHOD_PENDING when the reply comes from a worker job's done(); -EAGAIN
 * when the call must wait for a job (the text and fds stay the caller's, to run again); or
 * -errno when the connection must close at once. */
int dispatch_message(Connection *c, const char *text, size_t length, int *fds, size_t n_fds);

/* The table itself, for tests that check every row. */
const MethodEntry *dispatch_table(size_t *ret_n);
