/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>

#include "connection.h"
#include "runqueue.h"

struct RunUser {
	uid_t uid;
	Connection *head, *tail; /* its queued connections, in turn */
	RunUser *prev, *next;    /* in the queue's turn of users */
};

static void users_unlink(RunQueue *q, RunUser *u) {
	if (u->prev)
		u->prev->next = u->next;
	else
		q->users = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else
		q->users_tail = u->prev;
	u->prev = u->next = NULL;
}

static void users_append(RunQueue *q, RunUser *u) {
	u->prev = q->users_tail;
	u->next = NULL;
	if (q->users_tail)
		q->users_tail->next = u;
	else
		q->users = u;
	q->users_tail = u;
}

/* The user of uid in the queue, or a new one at the tail of the users; NULL without memory. */
static RunUser *run_queue_user(RunQueue *q, uid_t uid) {
	RunUser *u;

	/* Few users have calls ready at once: a linear search. */
	for (u = q->users; u; u = u->next)
		if (u->uid == uid)
			return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	users_append(q, u);
	return u;
}

int run_queue_push(RunQueue *q, Connection *c) {
	RunUser *u = run_queue_user(q, c->peer.uid);

	if (!u)
		return -ENOMEM;
	c->run_user = u;
	c->queue_prev = u->tail;
	c->queue_next = NULL;
	if (u->tail)
		u->tail->queue_next = c;
	else
		u->head = c;
	u->tail = c;
	c->queued = true;
	return 0;
}

void run_queue_remove(RunQueue *q, Connection *c) {
	RunUser *u = c->run_user;

	if (!c->queued)
		return;
	if (c->queue_prev)
		c->queue_prev->queue_next = c->queue_next;
	else
		u->head = c->queue_next;
	if (c->queue_next)
		c->queue_next->queue_prev = c->queue_prev;
	else
		u->tail = c->queue_prev;
	c->queue_prev = c->queue_next = NULL;
	c->run_user = NULL;
	c->queued = false;
	if (!u->head) {
		users_unlink(q, u);
		free(u);
	}
}

Connection *run_queue_pop(RunQueue *q) {
	RunUser *u = q->users;
	Connection *c;

	if (!u)
		return NULL;
	c = u->head;
	/* The user's turn is over: the next call of it waits behind every other user's. */
	if (c->queue_next) {
		users_unlink(q, u);
		users_append(q, u);
	}
	run_queue_remove(q, c);
	return c;
}

bool run_queue_is_empty(const RunQueue *q) {
	return !q->users;
}
