/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cleanup helpers in the style of systemd's, which libsystemd does not export. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_   __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_GENERIC(var, type, empty)                                                                      \
	({                                                                                                  \
		type *_pvar_ = &(var);                                                                      \
		type _var_ = *_pvar_;                                                                       \
		*_pvar_ = (empty);                                                                          \
		_var_;                                                                                      \
	})
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
/* A struct that owns what it points to (a Policy, a VarlinkCall), left zeroed. */
#define TAKE_STRUCT(s) TAKE_GENERIC(s, __typeof__(s), (__typeof__(s)){})

/* Closes fd if it is valid, keeps errno, and returns -EBADF to store back. */
static inline int safe_close(int fd) {
	if (fd >= 0) {
		int saved = errno;
		(void) close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd) {
	*fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void freep(void *p) {
	free(*(void **) p);
	*(void **) p = NULL;
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes n fds in an array and marks them empty. */
static inline void close_many(int *fds, size_t n) {
	for (size_t i = 0; i < n; i++)
		fds[i] = safe_close(fds[i]);
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                             \
	static inline void func##p(type *p) {                                                               \
		if (*p)                                                                                     \
			func(*p);                                                                           \
		*p = NULL;                                                                                  \
	}

/* closedirp, fclosep: _cleanup_(closedirp) DIR *d = NULL; */
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* Returns -errno of the last failed call, never 0 (a failed call always has a reason). */
static inline int negative_errno(void) {
	return errno > 0 ? -errno : -EIO;
}
