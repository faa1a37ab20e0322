/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state kept across daemon restarts in systemd's file descriptor store: every fd the
 * state owns (VM, container, group, owner pidfd; in the cdev mode a VM's iommufd and each
 * attachment's cdev) under a name, and a sealed memfd "state" describing how they fit together,
 * in which mode each VM and attachment was made, and which ids were handed out. systemd stores an open file
 * once, so an owner pidfd that several attachments hold copies of (made on one connection) is
 * stored once, as owner-<K>, and the attachments name K. A restart or a crash under systemd
 * then loses nothing; started by hand there is no store and a restart forgets every
 * attachment. */

#include <stdbool.h>
#include <stddef.h>

#include "state.h"

typedef struct Persist {
	bool enabled; /* systemd gave us a notify socket (FileDescriptorStoreMax= decides the rest) */
	char **names; /* what the store holds now */
	size_t n_names;
} Persist;

/* Enabled when $NOTIFY_SOCKET is set. */
void persist_init(Persist *p);
void persist_done(Persist *p);

/* Makes the store hold exactly the fds of s and its description: new fds are added,
 * released ones removed, the description replaced. Returns 0 or -errno (logged); a
 * failure leaves the daemon working, and the store with a description (the previous one when
 * memory ran out), only a restart would then lose state. */
int persist_sync(Persist *p, State *s);

/* Rebuilds s from the fds systemd passed back (fds[i] named names[i]; every fd is taken),
 * keeping what is still valid: the owner still alive, the VM fd a KVM VM, the group fd a
 * VFIO group in a container, an iommufd /dev/iommu, a cdev the cdev of its device as sysfs
 * under sysfs_fd numbers it. Everything else is closed. A description written before the cdev
 * mode (no "mode") is read as the group mode's. The next ids of s go past every id the
 * description records, restored or not. Returns the number of attachments restored, or
 * -errno. The caller then watches the owners and calls persist_sync(). */
int persist_restore(Persist *p, State *s, int sysfs_fd, int *fds, char **names, size_t n);
