/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
	max_level = level;
}

/* Formats one line; "%m" in format names -error, as in systemd. Returns error if it is
 * negative, else -EIO, so callers can return it whatever they pass. */
int log_internal(int level, int error, const char *format, ...) {
	int saved = errno;
	if (level <= max_level) {
		char text[2048];
		va_list ap;

		errno = error < 0 ? -error : error;
		va_start(ap, format);
		(void) vsnprintf(text, sizeof(text), format, ap);
		va_end(ap);
		(void) fprintf(stderr, "<%d>%s\n", level, text);
	}
	errno = saved;
	return error < 0 ? error : (error > 0 ? -error : -EIO);
}
