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

#define AUDIT_MAX_FIELDS 14

/* How many bytes each field may take, "NAME=" and the NUL included: the message and the reason
 * are text (audit.h bounds them); every other field is a name, a number or a PCI address,
 * under 40 bytes. */
#define FIELD_MESSAGE (sizeof("MESSAGE=") + AUDIT_MESSAGE_MAX)
#define FIELD_REASON  (sizeof("VFIOD_REASON=") + AUDIT_REASON_MAX)
#define FIELD_SHORT   64

/* The journal fields of one record, formatted one after the other into text, which has room
 * for every field at its most: the message, the reason and the other twelve. About 2 KiB, on
 * the stack of the caller; nothing is shared between calls. */
typedef struct AuditFields {
	struct iovec iov[AUDIT_MAX_FIELDS];
	size_t n;
	char text[FIELD_MESSAGE + FIELD_REASON + (AUDIT_MAX_FIELDS - 2) * FIELD_SHORT];
	size_t used;
} AuditFields;

/* Appends one field of at most max bytes (longer text is cut). */
_printf_(3, 4) static void field(AuditFields *f, size_t max, const char *format, ...) {
	char *buffer = f->text + f->used;
	size_t length;
	va_list ap;
	int k;

	if (f->n == AUDIT_MAX_FIELDS || max > sizeof(f->text) - f->used)
		return;
	va_start(ap, format);
	k = vsnprintf(buffer, max, format, ap);
	va_end(ap);
	if (k < 0)
		return;
	length = (size_t) k < max ? (size_t) k : max - 1;
	f->iov[f->n++] = (struct iovec){ .iov_base = buffer, .iov_len = length };
	f->used += length + 1;
}

static int audit_send(int priority, const AuditRecord *r, const char *message) {
	AuditFields f = {};

	field(&f, FIELD_MESSAGE, "MESSAGE=%s", message);
	field(&f, FIELD_SHORT, "MESSAGE_ID=%s", AUDIT_MESSAGE_ID);
	field(&f, FIELD_SHORT, "PRIORITY=%d", priority);
	field(&f, FIELD_SHORT, "SYSLOG_IDENTIFIER=vfiod");
	field(&f, FIELD_SHORT, "VFIOD_ACTION=%s", r->action);
	field(&f, FIELD_SHORT, "VFIOD_OUTCOME=%s", r->outcome);
	field(&f, FIELD_SHORT, "VFIOD_PID=%d", (int) r->pid);
	field(&f, FIELD_SHORT, "VFIOD_UID=%u", (unsigned) r->uid);
	field(&f, FIELD_SHORT, "VFIOD_DEVICE=%s", r->device ?: "");
	field(&f, FIELD_SHORT, "VFIOD_ATTACHMENT=%u", r->attachment);
	field(&f, FIELD_REASON, "VFIOD_REASON=%s", r->reason ?: "");
	if (r->owner_pid > 0) {
		field(&f, FIELD_SHORT, "VFIOD_OWNER_PID=%d", (int) r->owner_pid);
		field(&f, FIELD_SHORT, "VFIOD_OWNER_UID=%u", (unsigned) r->owner_uid);
	}
	if (r->mode)
		field(&f, FIELD_SHORT, "VFIOD_MODE=%s", r->mode);
	return sd_journal_sendv(f.iov, (int) f.n);
}

unsigned long audit_records_made;

bool audit_budget_take(AuditBudget *b, uint64_t now, unsigned burst) {
	if (b->since_usec == 0 || now >= b->since_usec + AUDIT_DENIAL_INTERVAL_USEC) {
		b->since_usec = now ? now : 1;
		b->used = 0;
	}
	if (b->used >= burst)
		return false;
	b->used++;
	return true;
}

void audit_log(int priority, const AuditRecord *r, const char *format, ...) {
	va_list ap;

	va_start(ap, format);
	audit_logv(priority, r, format, ap);
	va_end(ap);
}

void audit_logv(int priority, const AuditRecord *r, const char *format, va_list ap) {
	char message[AUDIT_MESSAGE_MAX];
	int k = -ENOENT;

	audit_records_made++;
	(void) vsnprintf(message, sizeof(message), format, ap);
	if (access(JOURNAL_SOCKET, W_OK) == 0)
		k = audit_send(priority, r, message);
	/* The plain line too, unless it would reach the journal a second time. */
	if (k < 0 || !stderr_is_journal())
		(void) log_internal(priority, 0, "%s", message);
}
