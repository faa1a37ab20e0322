/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Whether stderr is already the journal: systemd names the stream it connected in
 * $JOURNAL_STREAM as "DEVICE:INODE". */
static bool stderr_is_journal(void) {
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

void audit_log(int priority, const AuditRecord *r, const char *format, ...) {
	char message[1024];
	va_list ap;
	int k = -ENOENT;

	va_start(ap, format);
	(void) vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	if (access(JOURNAL_SOCKET, W_OK) == 0)
		k = sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=" AUDIT_MESSAGE_ID, "PRIORITY=%d",
		                    priority, "SYSLOG_IDENTIFIER=vfiod", "VFIOD_ACTION=%s", r->action,
		                    "VFIOD_OUTCOME=%s", r->outcome, "VFIOD_PID=%d", (int) r->pid,
		                    "VFIOD_UID=%u", (unsigned) r->uid, "VFIOD_DEVICE=%s", r->device ?: "",
		                    "VFIOD_ATTACHMENT=%u", r->attachment, "VFIOD_REASON=%s", r->reason ?: "",
		                    NULL);
	/* The plain line too, unless it would reach the journal a second time. */
	if (k < 0 || !stderr_is_journal())
		(void) log_internal(priority, 0, "%s", message);
}
