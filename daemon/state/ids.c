/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"
#include "macro.h"

#define IDS_TEMPORARY IDS_FILE ".new"
/* "vm=N attachment=N owner=N\n" */
#define IDS_TEXT_MAX 64

void ids_init(IdWatermark *w) {
	assert(w);
	*w = (IdWatermark){ .dir_fd = -EBADF };
}

void ids_done(IdWatermark *w) {
	assert(w);
	safe_close(w->dir_fd);
	ids_init(w);
}

/* "KEY=N" then sep at *p, N decimal digits only (no sign, no space) that fit 32 bits. */
static int parse_field(const char **p, const char *key, char sep, unsigned *ret) {
	size_t k = strlen(key);
	unsigned long value;
	char *end;

	if (strncmp(*p, key, k) != 0 || (*p)[k] != '=' || !isdigit((unsigned char) (*p)[k + 1]))
		return -EBADMSG;
	errno = 0;
	value = strtoul(*p + k + 1, &end, 10);
	if (errno != 0 || value > UINT32_MAX || *end != sep)
		return -EBADMSG;
	*ret = (unsigned) value;
	*p = end + 1;
	return 0;
}

/* The watermark stored in the directory into *w's counters; 0 when there is none yet, -EBADMSG
 * when the file says anything else than "vm=N attachment=N owner=N\n". */
static int ids_read(IdWatermark *w) {
	_cleanup_close_ int fd = openat(w->dir_fd, IDS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	char text[IDS_TEXT_MAX + 1];
	unsigned vm, attachment, owner;
	const char *p = text;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	n = read(fd, text, IDS_TEXT_MAX);
	if (n < 0)
		return negative_errno();
	text[n] = '\0';
	if (parse_field(&p, "vm", ' ', &vm) < 0 || parse_field(&p, "attachment", ' ', &attachment) < 0 ||
	    parse_field(&p, "owner", '\n', &owner) < 0 || *p != '\0')
		return -EBADMSG;
	w->vm = vm;
	w->attachment = attachment;
	w->owner = owner;
	return 0;
}

/* A watermark IDS_RESERVE ahead of a counter; UINT32_MAX where that would wrap. */
static unsigned ahead(unsigned counter) {
	return counter > UINT32_MAX - IDS_RESERVE ? UINT32_MAX : counter + IDS_RESERVE;
}

/* Stores a watermark ahead of the counters of s: written to a new file, synced, renamed over
 * the old one, the directory synced. *w changes only once that is done. */
static int ids_write(IdWatermark *w, const State *s) {
	IdWatermark next = { .dir_fd = w->dir_fd,
		             .vm = ahead(s->next_vm_id),
		             .attachment = ahead(s->next_attachment_id),
		             .owner = ahead(s->next_owner_id) };
	char text[IDS_TEXT_MAX];
	_cleanup_close_ int fd = -EBADF;
	int length;

	length = snprintf(text, sizeof(text), "vm=%u attachment=%u owner=%u\n", next.vm, next.attachment,
	                  next.owner);
	assert(length > 0 && (size_t) length < sizeof(text));
	fd = openat(w->dir_fd, IDS_TEMPORARY, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, text, (size_t) length) != length)
		return -EIO;
	if (fsync(fd) < 0)
		return negative_errno();
	if (renameat(w->dir_fd, IDS_TEMPORARY, w->dir_fd, IDS_FILE) < 0 || fsync(w->dir_fd) < 0)
		return negative_errno();
	*w = next;
	return 0;
}

int ids_open(IdWatermark *w, const char *dir, State *s) {
	_cleanup_close_ int dir_fd = -EBADF;
	int r;

	assert(w);
	assert(s);

	if (!dir || !*dir) {
		log_info("No state directory: ids start at 1 again if vfiod is stopped and started.");
		return 0;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return log_warning_errno(negative_errno(),
		                         "Cannot open the state directory %s, ids may be "
		                         "handed out again after a stop: %m",
		                         dir);
	w->dir_fd = TAKE_FD(dir_fd);
	r = ids_read(w);
	if (r < 0) {
		/* No floor known: ids go on from what the fd store said, or from 1. */
		log_warning_errno(r, "Cannot read %s/" IDS_FILE ", ids may be handed out again: %m", dir);
		w->vm = w->attachment = w->owner = 0;
	}
	state_reserve_ids(s, w->vm, w->attachment, w->owner);
	r = ids_write(w, s);
	if (r < 0) {
		ids_done(w);
		return log_warning_errno(r,
		                         "Cannot write %s/" IDS_FILE ", ids may be handed out again "
		                         "after a stop: %m",
		                         dir);
	}
	log_debug("Ids start at VM %u, attachment %u; watermark in %s/" IDS_FILE ".", s->next_vm_id,
	          s->next_attachment_id, dir);
	return 0;
}

/* Whether counter came within IDS_RESERVE / 2 of its watermark (and the watermark can rise). */
static bool ids_near(unsigned counter, unsigned watermark) {
	return watermark < UINT32_MAX && (uint64_t) counter + IDS_RESERVE / 2 > watermark;
}

int ids_sync(IdWatermark *w, const State *s) {
	int r;

	assert(w);
	assert(s);

	if (w->dir_fd < 0 ||
	    !(ids_near(s->next_vm_id, w->vm) || ids_near(s->next_attachment_id, w->attachment) ||
	      ids_near(s->next_owner_id, w->owner)))
		return 0;
	r = ids_write(w, s);
	if (r < 0)
		return log_warning_errno(r, "Cannot move the id watermark on, ids may be handed out again "
		                            "after a stop: %m");
	return 0;
}
