/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may do what: vfiod.conf(5)'s rules, and every authorization decision of the daemon as a
 * pure function of the caller, the rules and the object (attach, open, detach, see an
 * attachment or a device, hear an event, limits), default deny. The method table declares
 * which methods are for admins (dispatch.c); everything else is decided here. Never logs;
 * parse errors come back with their file, line and reason. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sysfs.h"

#define POLICY_PATH       "/etc/vfiod/vfiod.conf"
#define POLICY_DROPIN_DIR "/etc/vfiod/vfiod.conf.d"
/* Bounds on what is read: files, lines and rules. */
#define POLICY_MAX_LINE    1024u
#define POLICY_MAX_RULES   4096u
#define POLICY_MAX_DROPINS 256u

typedef enum PolicyRuleKind { RULE_ADMIN, RULE_ALLOW, RULE_MEMLOCK, RULE_ASSIGNABLE } PolicyRuleKind;
typedef enum PolicySubject { SUBJECT_USER, SUBJECT_GROUP } PolicySubject;
typedef enum PolicyObject { OBJECT_ANY, OBJECT_ADDRESS, OBJECT_ID, OBJECT_IOMMU_GROUP } PolicyObject;

typedef struct PolicyRule {
	PolicyRuleKind kind;
	PolicySubject subject;
	uint32_t id; /* uid or gid */
	PolicyObject object;
	PciAddress address;
	uint16_t vendor, device;
	int group;
	uint64_t memlock; /* bytes, UINT64_MAX for infinity */
} PolicyRule;

/* The daemon's bounds, "limit NAME N" in vfiod.conf(5). */
#define POLICY_LIMIT_CONNECTIONS          "connections"
#define POLICY_LIMIT_CONNECTIONS_PER_USER "connections-per-user"
#define POLICY_LIMIT_QUEUED_REPLIES       "queued-replies"
#define POLICY_LIMIT_ATTACHMENTS_PER_USER "attachments-per-user"
#define POLICY_LIMIT_REQUEST_TIMEOUT      "request-timeout"
#define POLICY_LIMIT_ADMIN_CONNECTIONS    "admin-connections"
#define POLICY_LIMIT_IDLE_TIMEOUT         "idle-timeout"

#define POLICY_DEFAULT_CONNECTIONS          256u
#define POLICY_DEFAULT_CONNECTIONS_PER_USER 32u
#define POLICY_DEFAULT_QUEUED_REPLIES       64u
#define POLICY_DEFAULT_ATTACHMENTS_PER_USER 64u
#define POLICY_DEFAULT_REQUEST_TIMEOUT_SEC  10u
#define POLICY_DEFAULT_ADMIN_CONNECTIONS    8u
#define POLICY_DEFAULT_IDLE_TIMEOUT_SEC     60u
typedef struct PolicyLimits {
	unsigned connections;          /* open connections in all */
	unsigned connections_per_user; /* open connections of one uid */
	unsigned queued_replies;       /* replies held for a client that does not read */
	unsigned attachments_per_user; /* attachments of one uid */
	unsigned request_timeout_sec;  /* how long a call may stay half-sent */
	unsigned admin_connections;    /* open connections beyond "connections", for admins only */
	unsigned idle_timeout_sec;     /* how long a connection may idle holding nothing */
} PolicyLimits;

/* Connections over a limit kept until their first call, to be told which (manager.c). */
#define POLICY_MAX_REFUSED_CONNECTIONS 16u
/* The fds one connection may hold at most: its socket, its peer's pidfd, the 16 fds of one
 * request (read, or parked while the call waits) and the 2 of a queued reply (Attach's). */
#define POLICY_FDS_PER_CONNECTION (2u + 16u + 2u)
/* The fds kept for all but connections: the daemon's own (listening socket, event loop,
 * sysfs root, journal), workers' duplicates, and the state (4 an attachment). */
#define POLICY_FDS_RESERVE 1024u

/* The file of subordinate uid ranges (subuid(5)): whose uids count as whose (policy_account_uid()). */
#define POLICY_SUBUID_PATH       "/etc/subuid"
#define POLICY_MAX_SUBUID_RANGES 65536u

/* A range of subordinate uids [start, start + count) given to owner. */
typedef struct PolicySubuidRange {
	uid_t start;
	uint32_t count;
	uid_t owner;
} PolicySubuidRange;

typedef struct Policy {
	PolicyRule *rules;
	size_t n_rules;
	PolicyLimits limits;
	PolicySubuidRange *subuids; /* sorted by start */
	size_t n_subuids;
} Policy;

typedef struct PolicyError {
	char path[256];
	unsigned line;
	char reason[256];
} PolicyError;

/* The caller, from the socket: SO_PEERCRED and SO_PEERGROUPS. */
typedef struct Caller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups, sorted ascending */
	size_t n_groups;
} Caller;

void policy_done(Policy *p);
void policy_limits_default(PolicyLimits *l);

/* Parses one file and appends its rules to p. Returns 0; -ENOENT when the file does not
 * exist; -EINVAL with *error filled for a bad line; other -errno. */
int policy_parse_file(const char *path, Policy *p, PolicyError *error);

/* Loads path and then every *.conf of dropin_dir in name order into *ret (replaced only on
 * success). A missing file or directory is no error: no rules, only root may act. */
int policy_load(const char *path, const char *dropin_dir, Policy *ret, PolicyError *error);

/* Loads a configuration as the daemon reads it: path, then the *.conf of path.d
 * (policy_load()). -ENAMETOOLONG, with *error naming path, when path.d is too long. */
int policy_load_config(const char *path, Policy *ret, PolicyError *error);

/* Writes what a failed load (its return r and *error) says into buf: "PATH:LINE: REASON",
 * or "PATH: REASON" for a fault of no line, with strerror(-r) when there is no reason.
 * POLICY_ERROR_TEXT_MAX bytes hold any of them. */
#define POLICY_ERROR_TEXT_MAX 600u
void policy_error_format(const PolicyError *error, int r, char *buf, size_t size);

/* Root always is an admin; others when an admin rule names them. */
bool policy_is_admin(const Policy *p, const Caller *c);

/* Whether c may attach a group whose members are the n devices: every member must be allowed,
 * since a group fd reaches every device of its group, except those no VMM can ever reach:
 * bridges (no VFIO driver binds them), ports on pcieport and devices on pci-stub; a group with
 * members the listing could not name (group_unknown) only to admins. */
bool policy_allows_group(const Policy *p, const Caller *c, const SysfsDevice *members, size_t n);

/* The largest memlock allowance a rule grants c, in bytes (UINT64_MAX: unlimited); 0 for none. */
uint64_t policy_memlock(const Policy *p, const Caller *c);

/* Whether an admin may bind d to vfio-pci: an assignable rule names it; never a bridge. */
bool policy_is_assignable(const Policy *p, const SysfsDevice *d);

/* Who holds an attachment, as far as a decision about it goes. */
typedef struct PolicyOwner {
	pid_t pid;
	uid_t uid;
	bool exited; /* the owner's pidfd says it is gone (its pid may be reused) */
} PolicyOwner;

/* Into allowed[i], whether c may see devices[i] of a listing (ListDevices): a device in an
 * IOMMU group when c may attach that whole group, whose members are every device of the
 * listing in it (each group decided once); a device without a group only for admins. */
void policy_filter_devices(const Policy *p, const Caller *c, const SysfsDevice *devices, size_t n,
                           bool *allowed);

/* OpenDevice: only the very process that attached, while it lives. */
bool policy_may_open_device(const Caller *c, const PolicyOwner *owner);

/* Attach with a VM fd that already has attachments (owner: one of them): only from the process
 * that holds them, while it lives, admins included. A VM's container maps that process's guest
 * memory for every group in it, so another process whose group joined it would reach that
 * memory with its device's DMA, and could map and unmap there. */
bool policy_may_join_vm(const Caller *c, const PolicyOwner *owner);

typedef enum PolicyDetach {
	POLICY_DETACH_DENIED,
	POLICY_DETACH_AS_OWNER, /* the owner's own request */
	POLICY_DETACH_AS_ADMIN, /* an admin ending someone else's attachment */
} PolicyDetach;

/* Detach: the owning user, or an admin. */
PolicyDetach policy_may_detach(const Policy *p, const Caller *c, const PolicyOwner *owner);

/* ListAttachments and Monitor: admins see every attachment, others their own. */
bool policy_may_see_attachment(const Policy *p, const Caller *c, const PolicyOwner *owner);

/* Monitor: an event about an attachment (owner) is heard by those who may see it; an event
 * about no attachment (Bind, Unbind: owner NULL) by admins only. */
bool policy_may_hear_event(const Policy *p, const Caller *c, const PolicyOwner *owner);

/* The limit a new attachment would pass when its user already holds n_held (root is counted
 * like anyone), with its value in *ret_value; NULL within the limits. */
const char *policy_attachment_limit(const Policy *p, unsigned n_held, unsigned *ret_value);

/* The limit a new connection would pass with n_open connections open in all and n_user of its
 * user (policy_account_uid()); NULL within the limits. An admin may open admin-connections more
 * than "connections" in all, so that a flood of other users cannot lock the admins out. */
const char *policy_connection_limit(const Policy *p, size_t n_open, unsigned n_user, bool admin,
                                    unsigned *ret_value);

/* The fds the limits may make the daemon hold: (connections + admin-connections +
 * POLICY_MAX_REFUSED_CONNECTIONS) x POLICY_FDS_PER_CONNECTION + POLICY_FDS_RESERVE. */
uint64_t policy_fds_needed(const PolicyLimits *l);

/* Whether the limits fit within fd_limit (the daemon's RLIMIT_NOFILE): 0, or -EINVAL with
 * *error saying what they need. A policy that does not fit is refused at load: beyond the
 * fds, accept and every open would fail for everyone (security review item 1). */
int policy_check_fd_limit(const Policy *p, uint64_t fd_limit, PolicyError *error);

/* The user a uid's connections count against (connections-per-user): the owner of the
 * subordinate range (subuid(5)) uid lies in, else uid itself. A user with a range of 65536
 * subuids can run processes under any of them (newuidmap), so counting by kernel uid would let
 * it multiply its limit by 65536. Ranges given to root are not folded: they serve root's own
 * containers, which must not share, and so exhaust, root's count. */
uid_t policy_account_uid(const Policy *p, uid_t uid);

/* Reads the subordinate uid ranges of path (subuid(5): "NAME-OR-UID:START:COUNT" a line) into p,
 * replacing those it had. A missing file is no error (no ranges). Lines that are malformed or
 * name an unknown user are skipped: the file is not ours to refuse. Returns 0 or -errno. */
int policy_load_subuids(const char *path, Policy *p);
