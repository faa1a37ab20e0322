/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the unit tests. */

#include <stddef.h>

/* Entries in /proc/self/fd: compared before and after a case to catch fd leaks. */
int test_count_fds(void);

/* One sendmsg() of size raw bytes (no NUL added) with n_fds fds (at most 32) attached. */
void test_send_raw(int sock, const void *data, size_t size, const int *fds, size_t n_fds);
