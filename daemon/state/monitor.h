/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Monitor's subscribers: the connections that called io.vfiod.Monitor, what each may hear
 * (the policy's policy_may_hear_event()), and the bound on what a subscriber that does not
 * read may leave queued. */

#include "json.h"

typedef struct Manager Manager;

/* Sends e to every monitoring connection whose caller may hear of it; drops a subscriber
 * whose unread events reached CONNECTION_MAX_QUEUED_BYTES. */
void monitor_emit(Manager *m, const Event *e);
