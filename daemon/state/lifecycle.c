/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "lifecycle.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"

/* A group's release (out of its container, closed) after its last attachment ended. */
typedef struct ReleaseWork {
	WorkerJob job; /* first: the pool hands this back */
	Manager *manager;
	ReleaseJob release;
} ReleaseWork;

static void release_run(WorkerJob *job) {
	state_release_run(&((ReleaseWork *) job)->release);
}

static void release_done(WorkerJob *job) {
	ReleaseWork *w = (ReleaseWork *) job;

	state_release_end(&w->manager->state, &w->release);
	manager_wake_parked(w->manager);
	free(w);
}

void lifecycle_submit(Manager *m, WorkerJob *job) {
	int r;

	assert(m);
	assert(job);

	r = workers_submit(m->workers, job);
	if (r < 0) {
		log_warning_errno(r, "No worker thread: running the kernel work on the event loop: %m");
		job->run(job);
		job->done(job);
	}
}

/* Ends a: the records change at once, the group's release (when a was its last attachment)
 * runs on a worker. */
static void lifecycle_end_attachment(Manager *m, Attachment *a) {
	_cleanup_free_ ReleaseWork *w = calloc(1, sizeof(*w));

	if (!w) {
		/* Out of memory for the job: release here, blocking, rather than not at all. */
		state_detach_now(&m->state, a);
		return;
	}
	if (state_detach(&m->state, a, &w->release) == 0)
		return;
	w->job = (WorkerJob){ .run = release_run, .done = release_done };
	w->manager = m;
	/* The job frees itself when done (release_done). */
	lifecycle_submit(m, &TAKE_PTR(w)->job);
}

void lifecycle_commit(Manager *m, const Change *change, const char *format, ...) {
	char message[AUDIT_MESSAGE_MAX];
	va_list ap;

	assert(m);
	assert(change);
	assert(format);

	/* Before anyone hears of an id: the watermark stays ahead of it (ids.h). */
	(void) ids_sync(&m->ids, &m->state);
	if (change->record) {
		va_start(ap, format);
		(void) vsnprintf(message, sizeof(message), format, ap);
		va_end(ap);
		audit_log(change->priority, change->record, "%s", message);
	}
	if (change->event)
		monitor_emit(m, change->event);
	if (change->detach) {
		pid_t owner = change->detach->pid;
		lifecycle_end_attachment(m, change->detach);
		/* Its process's connections may idle now: their idle-timeout starts. */
		manager_refresh_idle(m, owner);
	}
	if (change->sync)
		(void) persist_sync(&m->persist, &m->state);
}

void lifecycle_detach(Manager *m, Attachment *a, const char *reason, const struct ucred *by) {
	const char *address;
	AuditRecord record;
	Event event;

	assert(m);
	assert(a);
	assert(reason);

	address = PCI_ADDRESS_TEXT(a->address);
	record = (AuditRecord){ .action = "detach",
		                .outcome = "done",
		                .pid = by ? by->pid : 0,
		                .uid = by ? by->uid : 0,
		                .device = address,
		                .attachment = a->id,
		                .reason = reason,
		                .owner_pid = a->pid,
		                .owner_uid = a->uid,
		                .mode = attach_mode_name(a->vm->mode) };
	event = (Event){ .kind = "detach", .attachment = a, .reason = reason };
	lifecycle_commit(m,
	                 &(Change){ .record = &record,
	                            .priority = LOG_INFO,
	                            .event = &event,
	                            .detach = a,
	                            .sync = true },
	                 "Attachment %u: %s (group %d) of VM %u for pid %d detached: %s.", a->id, address,
	                 a->group->number, a->vm->id, (int) a->pid, reason);
}

typedef struct OwnerWatch {
	Manager *manager;
	unsigned attachment;
} OwnerWatch;

static int on_owner_exit(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                         void *userdata) {
	OwnerWatch *w = userdata;
	Attachment *a = state_find_attachment(&w->manager->state, w->attachment);

	/* A pidfd turns readable when its process exits. */
	if (a)
		lifecycle_detach(w->manager, a, "process-exit", NULL);
	return 0;
}

int lifecycle_watch_owner(Manager *m, Attachment *a, int _pidfd) {
	_cleanup_close_ int pidfd = TAKE_FD(_pidfd);
	_cleanup_free_ OwnerWatch *w = NULL;
	int r;

	assert(m);
	assert(a);

	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (OwnerWatch){ .manager = m, .attachment = a->id };
	r = sd_event_add_io(m->event, &a->owner_source, pidfd, EPOLLIN, on_owner_exit, w);
	if (r < 0)
		return r;
	/* The source frees the watch with itself. */
	(void) sd_event_source_set_destroy_callback(a->owner_source, free);
	TAKE_PTR(w);
	a->owner_pidfd = TAKE_FD(pidfd);
	state_assign_owner(&m->state, a);
	return 0;
}
