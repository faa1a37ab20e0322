/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Least privilege: once the socket and sysfs are open, the daemon needs no capability. Root's
 * uid is still what opens /dev/vfio/N (mode 0600, owned by root), so the uid stays. */

/* Drops every capability (effective, permitted, inheritable, ambient and the bounding set)
 * with libcap-ng and sets no_new_privs. Returns 0 or -errno. */
int caps_drop_all(void);
