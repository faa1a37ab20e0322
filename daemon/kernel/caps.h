/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Least privilege: once the socket and sysfs are open, the daemon needs one capability,
 * CAP_SYS_RESOURCE, to raise a VMM's RLIMIT_MEMLOCK (prlimit(2) on another user's process,
 * above its hard limit). Root's uid is still what opens /dev/vfio/N (mode 0600, owned by
 * root), so the uid stays. */

/* Drops every capability but CAP_SYS_RESOURCE (from the effective, permitted, inheritable
 * and bounding sets, with libcap-ng) and sets no_new_privs. Returns 0 or -errno. */
int caps_drop(void);
