/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The process at the other end of a connection, as a pidfd: attachments are bound to it and
 * released when it exits. */

#include <sys/types.h>
#include <stdint.h>
#include <time.h>

/* A pidfd for the peer of the connected UNIX socket sock, whose SO_PEERCRED pid is pid and
 * which was accepted at accepted_ns (CLOCK_BOOTTIME). SO_PEERPIDFD where the kernel has it
 * (6.5+); else pidfd_open(pid), refused with -ESRCH when that pid's process started after
 * the connection was accepted (the peer exited and its pid was reused). Returns 0 and an
 * O_CLOEXEC fd, or -errno. */
int process_pidfd_for_peer(int sock, pid_t pid, uint64_t accepted_ns, int *ret_pidfd);

/* CLOCK_BOOTTIME now, in nanoseconds. */
uint64_t process_boottime_ns(void);

/* 1 when the process of pidfd has exited, 0 while it runs, -errno. */
int process_has_exited(int pidfd);
