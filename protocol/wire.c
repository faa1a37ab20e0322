/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "wire.h"

/* Bytes asked of one recvmsg(). */
#define WIRE_READ_CHUNK (16u * 1024u)

struct WireOutgoing {
	char *data; /* text and its NUL */
	size_t size;
	size_t sent;
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds;
	WireOutgoing *next;
};

void wire_reader_init(WireReader *r, size_t max_message) {
	*r = (WireReader){ .max_message = max_message };
}

void wire_reader_done(WireReader *r) {
	free(r->buffer);
	close_many(r->fds, r->n_fds);
	*r = (WireReader){ .max_message = r->max_message };
}

bool wire_reader_has_partial(const WireReader *r) {
	return r->size > 0;
}

bool wire_reader_has_message(WireReader *r) {
	if (r->size > r->scanned && memchr(r->buffer + r->scanned, '\0', r->size - r->scanned))
		return true;
	r->scanned = r->size;
	return r->size >= r->max_message;
}

/* Room for one more chunk, never more than a message and a chunk. */
static int wire_reader_reserve(WireReader *r) {
	size_t want = r->size + WIRE_READ_CHUNK;
	char *p;

	if (want <= r->allocated)
		return 0;
	if (want < r->allocated * 2)
		want = r->allocated * 2;
	if (want > r->max_message + WIRE_READ_CHUNK)
		want = r->max_message + WIRE_READ_CHUNK;
	if (want <= r->size)
		return -EMSGSIZE;
	p = realloc(r->buffer, want);
	if (!p)
		return -ENOMEM;
	r->buffer = p;
	r->allocated = want;
	return 0;
}

/* Collects the SCM_RIGHTS fds of a received message into fds (closing any beyond max).
 * Returns the count, or -EPROTO for a foreign control message or too many fds (all closed). */
static int wire_collect_fds(struct msghdr *mh, int *fds, size_t max) {
	size_t n = 0;
	bool bad = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad = true;
			continue;
		}
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *data = (int *) CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, data + i, sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else {
				safe_close(fd);
				bad = true;
			}
		}
	}
	if (bad) {
		close_many(fds, n);
		return -EPROTO;
	}
	return (int) n;
}

/* Fds are unambiguous only with the first byte of a message, in a chunk that holds no
 * other message: nothing buffered before, and no NUL but possibly the last byte. */
static bool wire_fds_placed_well(const WireReader *r, size_t old_size, size_t n) {
	const char *nul;

	if (old_size > 0 || r->n_fds > 0)
		return false;
	nul = memchr(r->buffer, '\0', n);
	return !nul || nul == r->buffer + n - 1;
}

int wire_reader_fill(WireReader *r, int sock) {
	char control[CMSG_SPACE(sizeof(int) * PROTOCOL_MAX_FDS)];
	int fds[PROTOCOL_MAX_FDS];
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)
	};
	ssize_t n;
	int n_fds, k;

	k = wire_reader_reserve(r);
	if (k < 0)
		return k;
	iov = (struct iovec){ .iov_base = r->buffer + r->size, .iov_len = r->allocated - r->size };
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return negative_errno();
	n_fds = wire_collect_fds(&mh, fds, PROTOCOL_MAX_FDS);
	if (n_fds >= 0 && (mh.msg_flags & MSG_CTRUNC)) {
		close_many(fds, (size_t) n_fds);
		n_fds = -EPROTO;
	}
	if (n_fds < 0)
		return n_fds;
	if (n_fds > 0 && (n == 0 || !wire_fds_placed_well(r, r->size, (size_t) n))) {
		close_many(fds, (size_t) n_fds);
		return -EPROTO;
	}
	if (n_fds > 0) {
		memcpy(r->fds, fds, sizeof(int) * (size_t) n_fds);
		r->n_fds = (size_t) n_fds;
	}
	r->size += (size_t) n;
	return (int) n;
}

int wire_reader_next(WireReader *r, char **ret_message, size_t *ret_length, int *ret_fds,
                     size_t *ret_n_fds) {
	char *nul = r->size > r->scanned ? memchr(r->buffer + r->scanned, '\0', r->size - r->scanned) : NULL;
	size_t length;
	char *copy;

	if (!nul) {
		r->scanned = r->size;
		return r->size >= r->max_message ? -EMSGSIZE : 0;
	}
	length = (size_t) (nul - r->buffer);
	if (length + 1 > r->max_message)
		return -EMSGSIZE;
	copy = malloc(length + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, r->buffer, length + 1);
	memmove(r->buffer, nul + 1, r->size - length - 1);
	r->size -= length + 1;
	r->scanned = 0;
	for (size_t i = 0; i < r->n_fds; i++)
		ret_fds[i] = r->fds[i];
	*ret_n_fds = r->n_fds;
	r->n_fds = 0;
	*ret_message = copy;
	*ret_length = length;
	return 1;
}

void wire_writer_init(WireWriter *w) {
	*w = (WireWriter){};
}

static void wire_outgoing_free(WireOutgoing *o) {
	close_many(o->fds, o->n_fds);
	free(o->data);
	free(o);
}

void wire_writer_done(WireWriter *w) {
	while (w->head) {
		WireOutgoing *o = w->head;
		w->head = o->next;
		wire_outgoing_free(o);
	}
	*w = (WireWriter){};
}

int wire_writer_queue(WireWriter *w, const char *text, size_t length, int *fds, size_t n_fds) {
	WireOutgoing *o;

	if (n_fds > PROTOCOL_MAX_FDS) {
		close_many(fds, n_fds);
		return -EINVAL;
	}
	o = calloc(1, sizeof(*o));
	if (o)
		o->data = malloc(length + 1);
	if (!o || !o->data) {
		free(o);
		close_many(fds, n_fds);
		return -ENOMEM;
	}
	memcpy(o->data, text, length);
	o->data[length] = '\0';
	o->size = length + 1;
	for (size_t i = 0; i < n_fds; i++)
		o->fds[i] = TAKE_FD(fds[i]);
	o->n_fds = n_fds;
	if (w->tail)
		w->tail->next = o;
	else
		w->head = o;
	w->tail = o;
	w->n_queued++;
	w->bytes_queued += o->size;
	return 0;
}

/* One sendmsg() of what is left of o; its fds ride on the first byte. */
static ssize_t wire_send_one(WireOutgoing *o, int sock) {
	char control[CMSG_SPACE(sizeof(int) * PROTOCOL_MAX_FDS)] = {};
	struct iovec iov = { .iov_base = o->data + o->sent, .iov_len = o->size - o->sent };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (o->sent == 0 && o->n_fds > 0) {
		struct cmsghdr *c;
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * o->n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * o->n_fds);
		memcpy(CMSG_DATA(c), o->fds, sizeof(int) * o->n_fds);
	}
	return sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int wire_writer_flush(WireWriter *w, int sock) {
	while (w->head) {
		WireOutgoing *o = w->head;
		ssize_t n = wire_send_one(o, sock);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
		if (o->sent == 0) {
			/* The peer has its copies now. */
			close_many(o->fds, o->n_fds);
			o->n_fds = 0;
		}
		o->sent += (size_t) n;
		w->bytes_queued -= (size_t) n;
		if (o->sent < o->size)
			continue;
		w->head = o->next;
		if (!w->head)
			w->tail = NULL;
		w->n_queued--;
		wire_outgoing_free(o);
	}
	return 1;
}
