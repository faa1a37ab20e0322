/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Varlink framing over a UNIX stream socket: NUL-terminated messages, with fds passed as
 * SCM_RIGHTS on the sendmsg() that carries a message's first byte. The only code that
 * touches cmsg. Never logs, never exits. */

#include <stdbool.h>
#include <stddef.h>

#include "protocol.h"

/* Bytes received and not yet split into messages, and the fds that came with them.
 * Fds belong to the message at the head of the buffer (doc/protocol.md, Transport: fds
 * arrive only with a message's first byte, and only with a chunk that holds at most one
 * message). */
typedef struct WireReader {
	char *buffer;
	size_t size;        /* bytes held */
	size_t allocated;   /* bytes allocated */
	size_t scanned;     /* prefix of buffer known to hold no NUL */
	size_t max_message; /* bound on one message, NUL included */
	int fds[PROTOCOL_MAX_FDS];
	size_t n_fds;
} WireReader;

/* Sets up an empty reader that accepts messages of at most max_message bytes (NUL
 * included). Never fails; allocation happens on first fill. */
void wire_reader_init(WireReader *r, size_t max_message);

/* Frees the buffer and closes every fd still held. Accepts a zeroed or half-used reader. */
void wire_reader_done(WireReader *r);

/* One recvmsg() on sock (MSG_CMSG_CLOEXEC|MSG_DONTWAIT). Returns the number of bytes read
 * (> 0); 0 on end of stream; -EAGAIN when nothing is there; -EMSGSIZE when the message at
 * the head grew past max_message without a NUL; -EPROTO when fds came with data that does
 * not start at a message boundary, with a chunk holding more than one message, with more
 * than PROTOCOL_MAX_FDS fds, or with truncated control data (MSG_CTRUNC), or when a
 * control message is not SCM_RIGHTS; other -errno from recvmsg(). Every fd received on a
 * failing call is closed before returning. */
int wire_reader_fill(WireReader *r, int sock);

/* Takes the next complete message out of the buffer. Returns 1 and sets *ret_message to a
 * malloc'd NUL-terminated copy (caller frees), *ret_length to its length without the NUL,
 * and moves the fds that came with it into ret_fds and ret_n_fds (caller owns them; the array
 * has room for PROTOCOL_MAX_FDS). Returns 0 when no complete message is buffered (outputs
 * untouched); -EMSGSIZE when a message is longer than max_message; -ENOMEM. */
int wire_reader_next(WireReader *r, char **ret_message, size_t *ret_length, int *ret_fds, size_t *ret_n_fds);

/* True when bytes of an incomplete message are buffered. */
bool wire_reader_has_partial(const WireReader *r);

/* True when wire_reader_next() has something to return: a complete message, or -EMSGSIZE
 * for one that grew past max_message. Remembers how far it found no NUL, as
 * wire_reader_next() does, so that asking again after each fill costs no rescan. */
bool wire_reader_has_message(WireReader *r);

typedef struct WireOutgoing WireOutgoing;

/* Messages queued for sending, in order. */
typedef struct WireWriter {
	WireOutgoing *head;
	WireOutgoing *tail;
	size_t n_queued;
	size_t bytes_queued;
} WireWriter;

void wire_writer_init(WireWriter *w);

/* Frees every queued message and closes their fds. Accepts a zeroed writer. */
void wire_writer_done(WireWriter *w);

/* Queues the message text (length bytes, no NUL: the writer adds it) and takes ownership of
 * n_fds fds (at most PROTOCOL_MAX_FDS), which are closed on every path, failure included,
 * once sent. Returns 0, -EINVAL for too many fds, or -ENOMEM. */
int wire_writer_queue(WireWriter *w, const char *text, size_t length, int *fds, size_t n_fds);

/* Sends as much as the socket takes (MSG_DONTWAIT|MSG_NOSIGNAL), the fds of a message on the
 * sendmsg() that carries its first byte. Returns 1 when the queue is empty, 0 when the
 * socket would block with data left, -errno on failure (the connection is then unusable). */
int wire_writer_flush(WireWriter *w, int sock);

static inline bool wire_writer_is_empty(const WireWriter *w) {
	return !w->head;
}
