/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
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

#define AUDIT_MAX_FIELDS 13
#define AUDIT_FIELD_MAX  1100

/* The journal fields of one record, each formatted into its own slot of text. */
typedef struct AuditFields {
	struct iovec iov[AUDIT_MAX_FIELDS];
	char text[AUDIT_MAX_FIELDS][AUDIT_FIELD_MAX];
	size_t n;
} AuditFields;

_printf_(2, 3) static void field(AuditFields *f, const char *format, ...) {
	va_list ap;
	int k;

	if (f->n == AUDIT_MAX_FIELDS)
		return;
	va_start(ap, format);
	k = vsnprintf(f->text[f->n], AUDIT_FIELD_MAX, format, ap);
	va_end(ap);
	if (k < 0)
		return;
	f->iov[f->n] =
	        (struct iovec){ .iov_base = f->text[f->n],
		                .iov_len = (size_t) k < AUDIT_FIELD_MAX ? (size_t) k : AUDIT_FIELD_MAX - 1 };
	f->n++;
}

static int audit_send(int priority, const AuditRecord *r, const char *message) {
	static AuditFields f; /* the daemon is one thread; 14 KiB stays off the stack */

	f.n = 0;
	field(&f, "MESSAGE=%s", message);
	field(&f, "MESSAGE_ID=%s", AUDIT_MESSAGE_ID);
	field(&f, "PRIORITY=%d", priority);
	field(&f, "SYSLOG_IDENTIFIER=vfiod");
	field(&f, "VFIOD_ACTION=%s", r->action);
	field(&f, "VFIOD_OUTCOME=%s", r->outcome);
	field(&f, "VFIOD_PID=%d", (int) r->pid);
	field(&f, "VFIOD_UID=%u", (unsigned) r->uid);
	field(&f, "VFIOD_DEVICE=%s", r->device ?: "");
	field(&f, "VFIOD_ATTACHMENT=%u", r->attachment);
	field(&f, "VFIOD_REASON=%s", r->reason ?: "");
	if (r->owner_pid > 0) {
		field(&f, "VFIOD_OWNER_PID=%d", (int) r->owner_pid);
		field(&f, "VFIOD_OWNER_UID=%u", (unsigned) r->owner_uid);
	}
	return sd_journal_sendv(f.iov, (int) f.n);
}

void audit_log(int priority, const AuditRecord *r, const char *format, ...) {
	char message[1024];
	va_list ap;
	int k = -ENOENT;

	va_start(ap, format);
	(void) vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	if (access(JOURNAL_SOCKET, W_OK) == 0)
		k = audit_send(priority, r, message);
	/* The plain line too, unless it would reach the journal a second time. */
	if (k < 0 || !stderr_is_journal())
		(void) log_internal(priority, 0, "%s", message);
}
