/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "libvfiod.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"
#include "wire.h"

_Static_assert(VFIOD_MAX_FDS == PROTOCOL_MAX_FDS, "fd limits of library and protocol differ");

struct vfiod_client {
	int fd;
	WireReader reader;
	WireWriter writer;
	char *error_name;
	char error_text[512];
};

static void client_clear_error(vfiod_client *c) {
	free(c->error_name);
	c->error_name = NULL;
	c->error_text[0] = '\0';
}

/* Records a local failure for vfiod_error_text() and returns it. */
static int client_fail(vfiod_client *c, int error, const char *what) {
	(void) snprintf(c->error_text, sizeof(c->error_text), "%s: %s", what, strerror(-error));
	return error;
}

int vfiod_connect(const char *socket_path, vfiod_client **ret) {
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	vfiod_client *c;

	if (!socket_path)
		socket_path = secure_getenv("VFIOD_SOCKET");
	if (!socket_path)
		socket_path = VFIOD_SOCKET_PATH;
	if (strlen(socket_path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	strcpy(address.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
		return negative_errno();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	wire_reader_init(&c->reader, PROTOCOL_MAX_REPLY_BYTES);
	wire_writer_init(&c->writer);
	*ret = c;
	return 0;
}

void vfiod_disconnect(vfiod_client *c) {
	if (!c)
		return;
	wire_reader_done(&c->reader);
	wire_writer_done(&c->writer);
	safe_close(c->fd);
	free(c->error_name);
	free(c);
}

static int client_wait(vfiod_client *c, short events) {
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int r = poll(&p, 1, -1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return negative_errno();
	}
}

static int client_send(vfiod_client *c, json_object *message, const int *fds, size_t n_fds) {
	_cleanup_json_ json_object *owned = message;
	int copies[PROTOCOL_MAX_FDS];
	const char *text;
	size_t length;
	int r;

	if (!owned)
		return -ENOMEM;
	if (n_fds > PROTOCOL_MAX_FDS)
		return -EINVAL;
	text = message_to_string(owned, &length);
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < n_fds; i++) {
		copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (copies[i] < 0) {
			r = negative_errno();
			close_many(copies, i);
			return r;
		}
	}
	r = wire_writer_queue(&c->writer, text, length, copies, n_fds);
	while (r >= 0 && (r = wire_writer_flush(&c->writer, c->fd)) == 0)
		r = client_wait(c, POLLOUT);
	return r < 0 ? r : 0;
}

/* Waits for the next complete message; returns it with its fds. */
static int client_receive(vfiod_client *c, char **ret_text, size_t *ret_length, int *ret_fds, size_t *ret_n_fds) {
	for (;;) {
		int r = wire_reader_next(&c->reader, ret_text, ret_length, ret_fds, ret_n_fds);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wire_reader_fill(&c->reader, c->fd);
		if (r == 0)
			return -ECONNRESET;
		if (r == -EAGAIN)
			r = client_wait(c, POLLIN);
		if (r < 0)
			return r;
	}
}

/* Keeps the daemon's error for the caller to read, and returns -EREMOTEIO. */
static int client_take_remote_error(vfiod_client *c, VarlinkReply *reply) {
	size_t length = 0;
	const char *text = reply->parameters ? message_to_string(reply->parameters, &length) : "{}";

	c->error_name = TAKE_PTR(reply->error);
	(void) snprintf(c->error_text, sizeof(c->error_text), "%s %s", c->error_name, text ? text : "{}");
	return -EREMOTEIO;
}

int vfiod_call(vfiod_client *c, const char *method, json_object *parameters, const int *fds, size_t n_fds,
               json_object **ret_parameters, int *ret_fds, size_t *ret_n_fds) {
	_cleanup_(varlink_reply_done) VarlinkReply reply = {};
	_cleanup_free_ char *text = NULL;
	int received[PROTOCOL_MAX_FDS];
	size_t length, n_received = 0;
	int r;

	client_clear_error(c);
	r = client_send(c, message_new_call(method, parameters, false), fds, n_fds);
	if (r < 0)
		return client_fail(c, r, "sending the call");
	r = client_receive(c, &text, &length, received, &n_received);
	if (r < 0)
		return client_fail(c, r, "receiving the reply");
	r = message_parse_reply(text, length, &reply);
	if (r < 0 || reply.error || !ret_fds) {
		close_many(received, n_received);
		n_received = 0;
	}
	if (r < 0)
		return client_fail(c, r, "parsing the reply");
	if (reply.error)
		return client_take_remote_error(c, &reply);
	if (ret_fds) {
		memcpy(ret_fds, received, n_received * sizeof(int));
		*ret_n_fds = n_received;
	}
	if (ret_parameters)
		*ret_parameters = TAKE_PTR(reply.parameters);
	return 0;
}

const char *vfiod_error_name(const vfiod_client *c) {
	return c->error_name;
}

const char *vfiod_error_text(const vfiod_client *c) {
	return c->error_text[0] ? c->error_text : "no error";
}
