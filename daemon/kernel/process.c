/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "process.h"

/* Missing from Debian 12's headers; the value is the kernel's. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

uint64_t process_boottime_ns(void) {
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Start time of pid in ns since boot, from field 22 of /proc/pid/stat. */
static int process_start_ns(pid_t pid, uint64_t *ret) {
	char path[64], text[1024];
	unsigned long long ticks;
	const char *p;
	ssize_t n;
	_cleanup_close_ int fd = -EBADF;
	long hz = sysconf(_SC_CLK_TCK);

	(void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		return negative_errno();
	text[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(text, ')');
	if (!p || hz <= 0)
		return -EBADMSG;
	/* After ')': state is field 3, starttime is field 22, so skip 19 fields. */
	if (sscanf(p + 1,
	           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	           &ticks) != 1)
		return -EBADMSG;
	*ret = (uint64_t) ticks * (1000000000u / (uint64_t) hz);
	return 0;
}

static int process_pidfd_open_checked(pid_t pid, uint64_t accepted_ns, int *ret_pidfd) {
	_cleanup_close_ int pidfd = -EBADF;
	uint64_t started;
	int r;

	pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return negative_errno();
	r = process_start_ns(pid, &started);
	if (r < 0)
		return r;
	/* The peer started before it connected; a process that started later is another one
	 * that got the pid after the peer exited. */
	if (started > accepted_ns)
		return -ESRCH;
	if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0)
		return negative_errno();
	*ret_pidfd = TAKE_FD(pidfd);
	return 0;
}

int process_pidfd_for_peer(int sock, pid_t pid, uint64_t accepted_ns, int *ret_pidfd) {
	socklen_t length = sizeof(int);
	int pidfd = -EBADF;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) == 0 && length == sizeof(int) &&
	    pidfd >= 0) {
		if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
			int r = negative_errno();
			safe_close(pidfd);
			return r;
		}
		*ret_pidfd = pidfd;
		return 0;
	}
	/* A kernel that has SO_PEERPIDFD but no pidfd for a peer that exited (EINVAL, before
	 * 6.16): the peer is gone. Opening a pidfd by its pid would name whatever process has
	 * the pid now, started before the accept or not. Only a kernel without SO_PEERPIDFD
	 * (Debian 12's 6.1) falls back to that, checked by start time. */
	if (errno == EINVAL)
		return -ESRCH;
	if (errno != ENOPROTOOPT)
		return negative_errno();
	return process_pidfd_open_checked(pid, accepted_ns, ret_pidfd);
}

int process_has_exited(int pidfd) {
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r = poll(&p, 1, 0);

	if (r < 0)
		return negative_errno();
	return r > 0;
}

int process_raise_memlock(pid_t pid, int pidfd, uint64_t bytes, uint64_t *ret_limit) {
	struct rlimit old, new;
	int r;

	/* The pidfd pins which process pid is now: one that exited may have handed its pid on. */
	r = process_has_exited(pidfd);
	if (r != 0)
		return r < 0 ? r : -ESRCH;
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &old) < 0)
		return negative_errno();
	new.rlim_cur = old.rlim_cur > (rlim_t) bytes ? old.rlim_cur : (rlim_t) bytes;
	new.rlim_max = old.rlim_max > (rlim_t) bytes ? old.rlim_max : (rlim_t) bytes;
	if ((new.rlim_cur != old.rlim_cur || new.rlim_max != old.rlim_max) &&
	    prlimit(pid, RLIMIT_MEMLOCK, &new, NULL) < 0)
		return negative_errno();
	r = process_has_exited(pidfd);
	if (r != 0)
		return r < 0 ? r : -ESRCH;
	*ret_limit = new.rlim_cur;
	return 0;
}
