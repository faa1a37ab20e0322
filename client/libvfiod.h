/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvfiod: the VMM's side of vfiod. A blocking client for the io.vfiod Varlink interface.
 * Every function returns 0 (or a count) on success and -errno on failure; -EREMOTEIO means
 * the daemon answered a Varlink error, which vfiod_error_name() and vfiod_error_text()
 * describe until the next call. */

#include <json-c/json.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfiod_client vfiod_client;

/* At most this many fds travel with one message. */
#define VFIOD_MAX_FDS 16

/* Connects to the daemon at socket_path; NULL means $VFIOD_SOCKET, else /run/vfiod/io.vfiod. */
int vfiod_connect(const char *socket_path, vfiod_client **ret);

/* Closes the connection and frees the client; accepts NULL. */
void vfiod_disconnect(vfiod_client *client);

/* Calls method with parameters (ownership taken; NULL for none) and n_fds fds (duplicated:
 * the caller keeps its own), and waits for the reply. On success *ret_parameters is the
 * reply's parameters (caller releases with json_object_put; may be NULL to discard), and the
 * fds that came with it are stored in ret_fds (room for VFIOD_MAX_FDS; caller owns them) and
 * counted in *ret_n_fds; when ret_fds is NULL any fds received are closed. */
int vfiod_call(vfiod_client *client, const char *method, json_object *parameters, const int *fds,
               size_t n_fds, json_object **ret_parameters, int *ret_fds, size_t *ret_n_fds);

/* The Varlink error name of the last failed call ("io.vfiod.NoSuchDevice"), or NULL. */
const char *vfiod_error_name(const vfiod_client *client);

/* One line for humans describing the last failure: the Varlink error and its parameters,
 * or the local error. Never NULL. */
const char *vfiod_error_text(const vfiod_client *client);

#ifdef __cplusplus
}
#endif
