/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr with "<N>" syslog priority prefixes, which journald turns into levels.
 * The *_errno variants log strerror(-r) and return r (always negative), so a failing path
 * reads `return log_error_errno(r, "...: %m")`. */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);

_printf_(3, 4) int log_internal(int level, int error, const char *format, ...);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_debug(...)                    (void) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)                     (void) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)                   (void) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)                  (void) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)                    (void) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(r, ...)           log_internal(LOG_DEBUG, (r), __VA_ARGS__)
#define log_warning_errno(r, ...)         log_internal(LOG_WARNING, (r), __VA_ARGS__)
#define log_error_errno(r, ...)           log_internal(LOG_ERR, (r), __VA_ARGS__)
#define log_oom()                         log_internal(LOG_ERR, -ENOMEM, "Out of memory.")
