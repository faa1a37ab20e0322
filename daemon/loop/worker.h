/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel work off the event loop. A job's run() executes on one of a few worker threads and
 * may block in the kernel (opening a group, a device reset inside VFIO_GROUP_GET_DEVICE_FD, a
 * driver probe behind a sysfs write, an NSS lookup); its done() then executes on the event
 * loop, which alone touches the daemon's state. A run() touches only what its job owns (copies
 * and dup'd fds made on the loop before submitting) and never logs. Ordering between jobs is
 * the caller's: the state model lets at most one job work on an IOMMU group or a VM at a time
 * (state.c), so the pool itself keeps none.
 *
 * Threads, not helper processes: a job needs the daemon's own fds (a VM's container, an open
 * group) and hands new ones back, which threads share for free; they are started lazily, on
 * the first job, so that they inherit the capability set and no_new_privs the daemon has once
 * it dropped privileges (capabilities are per thread). */

#include <systemd/sd-event.h>

#include "macro.h"

/* At most this many jobs run at once; more wait in the queue. */
#define WORKER_THREADS 4

typedef struct WorkerJob WorkerJob;
struct WorkerJob {
	void (*run)(WorkerJob *job);  /* on a worker thread */
	void (*done)(WorkerJob *job); /* on the event loop, after run(); may free the job */
	WorkerJob *next;              /* the pool's */
};

typedef struct Workers Workers;

/* Creates an empty pool whose done() callbacks run on event. Returns 0 or -errno. */
int workers_new(sd_event *event, Workers **ret);

/* Queues job; its done() runs on the loop once run() returned. -errno (nothing queued) when
 * a first thread could not be started. */
int workers_submit(Workers *w, WorkerJob *job);

/* Jobs submitted and not yet done. */
unsigned workers_pending(const Workers *w);

/* Waits for every queued and running job, runs their done() callbacks, stops the threads and
 * frees the pool. Accepts NULL; returns NULL. */
Workers *workers_free(Workers *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Workers *, workers_free);
