/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The process at the other end of a connection, as a pidfd: attachments are bound to it and
 * released when it exits. */

#include <sys/types.h>
#include <stdint.h>
#include <time.h>

/* A pidfd for the peer of the connected UNIX socket sock, whose SO_PEERCRED pid is pid and
 * which was accepted at accepted_ns (CLOCK_BOOTTIME). SO_PEERPIDFD where the kernel has it
 * (6.5+; -ESRCH when it refuses an exited peer, EINVAL before 6.16); else pidfd_open(pid),
 * refused with -ESRCH when that pid's process started after the connection was accepted
 * (the peer exited and its pid was reused). Returns 0 and an O_CLOEXEC fd, or -errno. */
int process_pidfd_for_peer(int sock, pid_t pid, uint64_t accepted_ns, int *ret_pidfd);

/* CLOCK_BOOTTIME now, in nanoseconds. */
uint64_t process_boottime_ns(void);

/* 1 when the process of pidfd has exited, 0 while it runs, -errno. */
int process_has_exited(int pidfd);

/* Raises the RLIMIT_MEMLOCK of process pid, pinned by pidfd, to at least bytes (soft and
 * hard; RLIM_INFINITY is UINT64_MAX), never lowering either, with prlimit(2): raising the hard
 * limit takes CAP_SYS_RESOURCE. Sets *ret_limit to the soft limit in force after. Returns 0;
 * -ESRCH when the process exited; other -errno. */
int process_raise_memlock(pid_t pid, int pidfd, uint64_t bytes, uint64_t *ret_limit);
