/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fairness: the connections with a call ready to run, waiting for their turn. Turns go round
 * the users first (by the uid the socket names), then round each user's connections: one
 * call per turn. However many calls a client pipelines, and on however many connections of
 * its user, every other user's next call waits for at most one call of it. */

#include <stdbool.h>

typedef struct Connection Connection;
typedef struct RunUser RunUser;

typedef struct RunQueue {
	RunUser *users, *users_tail; /* users with a connection queued, in turn */
} RunQueue;

/* Puts c at the tail of its user's connections; a user new to the queue at the tail of the
 * users. 0, or -ENOMEM (c is not queued). c must not be queued. */
int run_queue_push(RunQueue *q, Connection *c);

/* Takes c out of the queue, if it is in. */
void run_queue_remove(RunQueue *q, Connection *c);

/* The connection whose turn it is, taken out: the first of the first user's, after which that
 * user, if it has more queued, goes to the tail of the users. NULL when the queue is empty. */
Connection *run_queue_pop(RunQueue *q);

bool run_queue_is_empty(const RunQueue *q);
