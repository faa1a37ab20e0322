/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: one record for every grant, denial, detach and bind, naming the caller's
 * pid and uid, the device and the outcome. With journald running, a record goes to the
 * journal with its fields (VFIOD_ACTION=, VFIOD_OUTCOME=, VFIOD_PID=, VFIOD_UID=,
 * VFIOD_DEVICE=, VFIOD_ATTACHMENT=, VFIOD_REASON=, for a detach VFIOD_OWNER_PID= and
 * VFIOD_OWNER_UID=, and for what concerns an attachment VFIOD_MODE=). Its message goes to stderr as well,
 * like any log line, unless stderr is the journal already ($JOURNAL_STREAM). */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
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
	const char *mode; /* of an attachment: "group" (Attach) or "cdev" (AttachDevice); NULL none */
} AuditRecord;

/* Records r; the message is format's text. Never fails: a record that cannot go to the
 * journal goes to stderr at least. */
_printf_(3, 4) void audit_log(int priority, const AuditRecord *r, const char *format, ...);

/* Records r with format's text and ap. */
_printf_(3, 0) void audit_logv(int priority, const AuditRecord *r, const char *format, va_list ap);

/* Records made (audit_log() and audit_logv()), for the tests. */
extern unsigned long audit_records_made;

/* Denial records are rate-limited (security review item 5): any user can make denials by the
 * thousand a second, which would fill journald's per-unit rate limit, shared with grants,
 * detaches and binds, and so blind the audit trail. At most AUDIT_DENIALS_PER_CONNECTION a
 * connection and AUDIT_DENIALS_PER_USER a user (policy_account_uid()) are recorded in
 * AUDIT_DENIAL_INTERVAL_USEC; the others are counted and said in one summary record (the
 * connection's next recorded denial, or its close). Grants, detaches and binds are never
 * limited. */
#define AUDIT_DENIAL_INTERVAL_USEC   (10u * 1000000u)
#define AUDIT_DENIALS_PER_CONNECTION 10u
#define AUDIT_DENIALS_PER_USER       20u

/* Records allowed in the current interval. */
typedef struct AuditBudget {
	uint64_t since_usec; /* start of the interval; 0 for none yet */
	unsigned used;
} AuditBudget;

/* Takes one record from b at now (CLOCK_MONOTONIC): true while fewer than burst were taken in
 * the interval that began at the first record after the last interval ended. */
bool audit_budget_take(AuditBudget *b, uint64_t now, unsigned burst);
