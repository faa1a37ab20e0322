/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: one record for every grant, denial, detach and bind, naming the caller's
 * pid and uid, the device and the outcome. With journald running, a record goes to the
 * journal with its fields (VFIOD_ACTION=, VFIOD_OUTCOME=, VFIOD_PID=, VFIOD_UID=,
 * VFIOD_DEVICE=, VFIOD_ATTACHMENT=, VFIOD_REASON=, and for a detach VFIOD_OWNER_PID=,
 * VFIOD_OWNER_UID=). Its message goes to stderr as well, like
 * any log line, unless stderr is the journal already ($JOURNAL_STREAM). */

#include <sys/types.h>

#include "macro.h"

/* MESSAGE_ID= of every audit record, for journalctl MESSAGE_ID=... */
#define AUDIT_MESSAGE_ID "3b8f1f6e0c8a4b7e9d2a5c4f1e6b7a90"

/* The longest message and reason a record keeps, in bytes with the NUL; longer text is cut.
 * A reason is a phrase; the longest, a failed Bind or Unbind's step and error, is formatted
 * into AUDIT_REASON_MAX bytes (methods/driver.c). */
#define AUDIT_MESSAGE_MAX 1024
#define AUDIT_REASON_MAX  256

typedef struct AuditRecord {
	const char *action;  /* attach, open, detach, bind, unbind */
	const char *outcome; /* granted, denied, refused, failed, done */
	pid_t pid;           /* the caller's, from the socket; 0 for none (the daemon itself) */
	uid_t uid;
	const char *device;  /* PCI address */
	unsigned attachment; /* 0 for none */
	const char *reason;  /* why, for denials, refusals and detaches; NULL for none */
	pid_t owner_pid;     /* the attachment's owner, for a detach; 0 for none */
	uid_t owner_uid;
} AuditRecord;

/* Records r; the message is format's text. Never fails: a record that cannot go to the
 * journal goes to stderr at least. */
_printf_(3, 4) void audit_log(int priority, const AuditRecord *r, const char *format, ...);
