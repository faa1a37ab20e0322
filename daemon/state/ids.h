/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Ids are never handed out twice, also across `systemctl stop`, which empties systemd's fd
 * store and with it the description that carries the counters (persist.c): VMMs keep running
 * and holding their attachment ids, and a Detach of an old id must not end someone else's new
 * attachment. A watermark file, "ids" in the state directory (systemd's StateDirectory=, passed
 * as $STATE_DIRECTORY), says below which values ids may have been handed out. A new instance
 * starts its counters there; while it runs it keeps the watermark IDS_RESERVE ahead of them,
 * rewriting it (atomically, synced) before a counter gets within IDS_RESERVE / 2 of it. Without
 * a state directory (started by hand) ids start at 1, as the log says. */

#include "state.h"

#define IDS_FILE    "ids"
#define IDS_RESERVE 4096u

typedef struct IdWatermark {
	int dir_fd;                     /* the state directory; -EBADF: none, ids in memory only */
	unsigned vm, attachment, owner; /* written: no id at or above these was handed out */
} IdWatermark;

void ids_init(IdWatermark *w);
void ids_done(IdWatermark *w);

/* Opens the state directory dir (NULL or empty: none), raises the counters of s to the
 * watermark stored there, and stores a new one ahead of them. Returns 0, or -errno (logged):
 * the daemon then runs without one. */
int ids_open(IdWatermark *w, const char *dir, State *s);

/* Stores a new watermark when a counter of s came within IDS_RESERVE / 2 of it. Called before
 * an id is told to anyone (lifecycle_commit()). Returns 0 or -errno (logged). */
int ids_sync(IdWatermark *w, const State *s);
