/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the libFuzzer harnesses, which link no cmocka: a failed check aborts, and
 * libFuzzer keeps the input. */

/* Entries in /proc/self/fd: compared before and after each input to catch fd leaks. */
int fuzz_count_fds(void);
