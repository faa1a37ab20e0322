/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "policy.h"

void policy_done(Policy *p) {
	free(p->rules);
	free(p->subuids);
	*p = (Policy){};
}

_printf_(3, 4) static int policy_fail(PolicyError *e, unsigned line, const char *format, ...) {
	va_list ap;

	e->line = line;
	va_start(ap, format);
	(void) vsnprintf(e->reason, sizeof(e->reason), format, ap);
	va_end(ap);
	return -EINVAL;
}

/* A decimal number, the whole string. */
static int parse_number(const char *s, uint32_t max, uint32_t *ret) {
	char *end = NULL;
	unsigned long v;

	/* strtoul() would skip white space and take a sign. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end || v > max)
		return -ERANGE;
	*ret = (uint32_t) v;
	return 0;
}

/* "user:NAME|UID" or "group:NAME|GID". */
static int parse_subject(const char *word, PolicyRule *r) {
	const char *value;

	if (strncmp(word, "user:", 5) == 0) {
		struct passwd *pw;
		value = word + 5;
		r->subject = SUBJECT_USER;
		if (parse_number(value, UINT32_MAX - 1, &r->id) == 0)
			return 0;
		pw = getpwnam(value);
		if (!pw)
			return -ENOENT;
		r->id = pw->pw_uid;
		return 0;
	}
	if (strncmp(word, "group:", 6) == 0) {
		struct group *gr;
		value = word + 6;
		r->subject = SUBJECT_GROUP;
		if (parse_number(value, UINT32_MAX - 1, &r->id) == 0)
			return 0;
		gr = getgrnam(value);
		if (!gr)
			return -ENOENT;
		r->id = gr->gr_gid;
		return 0;
	}
	return -EINVAL;
}

static bool is_hex4(const char *s) {
	for (int i = 0; i < 4; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* "any", "device:ADDRESS", "id:VVVV:DDDD" or "iommu-group:N". */
static int parse_object(const char *word, PolicyRule *r) {
	uint32_t n;

	if (strcmp(word, "any") == 0) {
		r->object = OBJECT_ANY;
		return 0;
	}
	if (strncmp(word, "device:", 7) == 0 && pci_address_parse(word + 7, &r->address) == 0) {
		r->object = OBJECT_ADDRESS;
		return 0;
	}
	if (strncmp(word, "id:", 3) == 0 && strlen(word) == 12 && word[7] == ':' && is_hex4(word + 3) &&
	    is_hex4(word + 8)) {
		r->object = OBJECT_ID;
		r->vendor = (uint16_t) strtoul(word + 3, NULL, 16);
		r->device = (uint16_t) strtoul(word + 8, NULL, 16);
		return 0;
	}
	if (strncmp(word, "iommu-group:", 12) == 0 && parse_number(word + 12, INT32_MAX, &n) == 0) {
		r->object = OBJECT_IOMMU_GROUP;
		r->group = (int) n;
		return 0;
	}
	return -EINVAL;
}

static int policy_append(Policy *p, const PolicyRule *r) {
	PolicyRule *rules;

	if (p->n_rules >= POLICY_MAX_RULES)
		return -E2BIG;
	rules = reallocarray(p->rules, p->n_rules + 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	p->rules = rules;
	p->rules[p->n_rules++] = *r;
	return 0;
}

/* "N", "NK", "NM", "NG", "NT" (powers of 1024) or "infinity". */
static int parse_size(const char *word, uint64_t *ret) {
	static const char suffixes[] = "KMGT";
	char *end = NULL;
	unsigned long long v;
	const char *k;

	if (strcmp(word, "infinity") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	if (*word < '0' || *word > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(word, &end, 10);
	if (errno != 0)
		return -ERANGE;
	if (*end) {
		k = strchr(suffixes, *end);
		if (!k || end[1])
			return -EINVAL;
		for (const char *i = suffixes; i <= k; i++) {
			if (v > UINT64_MAX / 1024)
				return -ERANGE;
			v *= 1024;
		}
	}
	*ret = v;
	return 0;
}

static const struct {
	const char *name;
	size_t offset;
	unsigned max;
} limit_names[] = {
	{ POLICY_LIMIT_CONNECTIONS, offsetof(PolicyLimits, connections), 65536 },
	{ POLICY_LIMIT_CONNECTIONS_PER_USER, offsetof(PolicyLimits, connections_per_user), 65536 },
	{ POLICY_LIMIT_QUEUED_REPLIES, offsetof(PolicyLimits, queued_replies), 65536 },
	{ POLICY_LIMIT_ATTACHMENTS_PER_USER, offsetof(PolicyLimits, attachments_per_user), 65536 },
	{ POLICY_LIMIT_REQUEST_TIMEOUT, offsetof(PolicyLimits, request_timeout_sec), 3600 },
	{ POLICY_LIMIT_ADMIN_CONNECTIONS, offsetof(PolicyLimits, admin_connections), 1024 },
	{ POLICY_LIMIT_IDLE_TIMEOUT, offsetof(PolicyLimits, idle_timeout_sec), 86400 },
};

/* "limit NAME N": one of limit_names, from 1 to its maximum. */
static int parse_limit(char *const *w, size_t n, unsigned number, Policy *p, PolicyError *e) {
	uint32_t value;

	if (n != 3)
		return policy_fail(e, number, "limit needs a name and a number");
	for (size_t i = 0; i < ELEMENTSOF(limit_names); i++) {
		if (strcmp(w[1], limit_names[i].name) != 0)
			continue;
		if (parse_number(w[2], limit_names[i].max, &value) < 0 || value == 0)
			return policy_fail(e, number, "limit %s: '%.64s' is not a number from 1 to %u",
			                   limit_names[i].name, w[2], limit_names[i].max);
		*(unsigned *) ((char *) &p->limits + limit_names[i].offset) = value;
		return 0;
	}
	return policy_fail(e, number, "unknown limit '%.64s'", w[1]);
}

static int parse_subject_word(const char *word, PolicyRule *r, unsigned number, PolicyError *e) {
	int k = parse_subject(word, r);

	if (k == -ENOENT)
		return policy_fail(e, number, "no such user or group: %.64s", word);
	if (k < 0)
		return policy_fail(e, number, "bad subject '%.64s' (expected user:NAME or group:NAME)",
		                   word);
	return 0;
}

static int parse_object_word(const char *word, PolicyRule *r, unsigned number, PolicyError *e) {
	if (parse_object(word, r) < 0)
		return policy_fail(e, number,
		                   "bad device '%.64s' (expected any, device:ADDRESS, id:VVVV:DDDD or "
		                   "iommu-group:N)",
		                   word);
	return 0;
}

/* The words of one rule: "admin SUBJECT", "allow SUBJECT DEVICE", "memlock SUBJECT SIZE",
 * "assignable DEVICE" or "limit NAME N". */
static int parse_rule(char *const *w, size_t n, unsigned number, Policy *p, PolicyError *e) {
	static const struct {
		const char *verb;
		PolicyRuleKind kind;
		size_t words;
		const char *usage;
	} verbs[] = {
		{ "admin", RULE_ADMIN, 2, "admin SUBJECT" },
		{ "allow", RULE_ALLOW, 3, "allow SUBJECT DEVICE" },
		{ "memlock", RULE_MEMLOCK, 3, "memlock SUBJECT SIZE" },
		{ "assignable", RULE_ASSIGNABLE, 2, "assignable DEVICE" },
	};
	PolicyRule r = {};
	size_t i;
	int k;

	if (strcmp(w[0], "limit") == 0)
		return parse_limit(w, n, number, p, e);
	for (i = 0; i < ELEMENTSOF(verbs) && strcmp(w[0], verbs[i].verb) != 0; i++)
		;
	if (i == ELEMENTSOF(verbs))
		return policy_fail(e, number,
		                   "unknown rule '%.64s' (expected admin, allow, memlock, assignable "
		                   "or limit)",
		                   w[0]);
	if (n != verbs[i].words)
		return policy_fail(e, number, "expected '%s'", verbs[i].usage);
	r.kind = verbs[i].kind;
	if (r.kind == RULE_ASSIGNABLE)
		k = parse_object_word(w[1], &r, number, e);
	else
		k = parse_subject_word(w[1], &r, number, e);
	if (k < 0)
		return k;
	if (r.kind == RULE_ALLOW) {
		k = parse_object_word(w[2], &r, number, e);
		if (k < 0)
			return k;
	}
	if (r.kind == RULE_MEMLOCK && parse_size(w[2], &r.memlock) < 0)
		return policy_fail(e, number,
		                   "bad size '%.64s' (expected bytes, with K, M, G or T, or infinity)",
		                   w[2]);
	k = policy_append(p, &r);
	return k == -E2BIG ? policy_fail(e, number, "more than %u rules", POLICY_MAX_RULES) : k;
}

/* One line: words separated by blanks; '#' starts a comment that runs to the end. */
static int parse_line(char *text, unsigned number, Policy *p, PolicyError *e) {
	char *w[4], *save = NULL, *comment = strchr(text, '#');
	size_t n = 0;
	char *word;

	if (comment)
		*comment = '\0';
	for (word = strtok_r(text, " \t\r\n", &save); word; word = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == ELEMENTSOF(w))
			return policy_fail(e, number, "too many words");
		w[n++] = word;
	}
	return n == 0 ? 0 : parse_rule(w, n, number, p, e);
}

/* A failure without a line to blame: its reason is the error's text. Returns r. */
static int policy_fail_errno(PolicyError *e, int r) {
	(void) snprintf(e->reason, sizeof(e->reason), "%s", strerror(-r));
	return r;
}

/* Whoever may write a policy file or its drop-in directory decides who may use which device,
 * admin rights included: either must be root's (or, for --check-policy run by a user on a
 * draft of their own, the reader's) and writable by its owner alone. */
static int check_trusted(const struct stat *st, PolicyError *e) {
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return policy_fail(e, 0, "owned by uid %u, not by root", (unsigned) st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return policy_fail(e, 0, "writable by others than its owner (mode %04o)",
		                   (unsigned) (st->st_mode & 07777));
	return 0;
}

/* Opens a policy file: a regular file only, so a FIFO or a directory cannot block or confuse
 * the load, and a trusted one (check_trusted()). */
static int open_regular(const char *path, PolicyError *e, FILE **ret) {
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *f;
	int r;

	if (fd < 0)
		return policy_fail_errno(e, negative_errno());
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return policy_fail(e, 0, "not a regular file");
	r = check_trusted(&st, e);
	if (r < 0)
		return r;
	f = fdopen(fd, "r");
	if (!f)
		return policy_fail_errno(e, negative_errno());
	/* The stream owns fd now. */
	TAKE_FD(fd);
	*ret = f;
	return 0;
}

/* Reads one line of f into line (at most POLICY_MAX_LINE bytes, the newline dropped). Returns
 * 1 for a line, 0 at the end, -E2BIG for a longer line, -EBADMSG for one holding a NUL. */
static int read_line(FILE *f, char line[static POLICY_MAX_LINE + 1]) {
	size_t length = 0;
	bool nul = false;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (length == POLICY_MAX_LINE)
			return -E2BIG;
		nul = nul || c == '\0';
		line[length++] = (char) c;
	}
	line[length] = '\0';
	if (c == EOF && length == 0)
		return 0;
	return nul ? -EBADMSG : 1;
}

int policy_parse_file(const char *path, Policy *p, PolicyError *e) {
	_cleanup_(fclosep) FILE *f = NULL;
	char line[POLICY_MAX_LINE + 1];
	unsigned number = 0;
	int r, k;

	(void) snprintf(e->path, sizeof(e->path), "%s", path);
	e->line = 0;
	r = open_regular(path, e, &f);
	if (r < 0)
		return r;
	while ((k = read_line(f, line)) != 0) {
		number++;
		if (k == -E2BIG)
			return policy_fail(e, number, "line longer than %u bytes", POLICY_MAX_LINE);
		if (k == -EBADMSG)
			return policy_fail(e, number, "NUL byte in line");
		r = parse_line(line, number, p, e);
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return policy_fail(e, number, "read error");
	return 0;
}

static int compare_names(const void *a, const void *b) {
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The file names of a drop-in directory. */
typedef struct DropIns {
	char **names;
	size_t n;
} DropIns;

static void dropins_done(DropIns *l) {
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	*l = (DropIns){};
}

/* Appends a copy of name; -E2BIG beyond POLICY_MAX_DROPINS. */
static int dropins_add(DropIns *l, const char *name) {
	_cleanup_free_ char *copy = NULL;
	char **grown;

	if (l->n >= POLICY_MAX_DROPINS)
		return -E2BIG;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	grown = reallocarray(l->names, l->n + 1, sizeof(char *));
	if (!grown)
		return -ENOMEM;
	l->names = grown;
	l->names[l->n++] = TAKE_PTR(copy);
	return 0;
}

static bool is_dropin_name(const char *name) {
	size_t length = strlen(name);

	return name[0] != '.' && length >= 6 && strcmp(name + length - 5, ".conf") == 0;
}

/* The *.conf names of dir, sorted; none when it does not exist. A directory that is not
 * trusted (check_trusted()) fails with *e saying why. */
static int list_dropins(const char *dir, DropIns *ret, PolicyError *e) {
	_cleanup_(dropins_done) DropIns l = {};
	_cleanup_(closedirp) DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	int r;

	if (!d && errno != ENOENT)
		return policy_fail_errno(e, negative_errno());
	if (d && fstat(dirfd(d), &st) < 0)
		return policy_fail_errno(e, negative_errno());
	if (d) {
		r = check_trusted(&st, e);
		if (r < 0)
			return r;
	}
	while (d && (de = readdir(d))) {
		if (!is_dropin_name(de->d_name))
			continue;
		r = dropins_add(&l, de->d_name);
		if (r < 0)
			return r == -E2BIG ? r : policy_fail_errno(e, r);
	}
	if (l.n > 0)
		qsort(l.names, l.n, sizeof(char *), compare_names);
	*ret = TAKE_STRUCT(l);
	return 0;
}

void policy_limits_default(PolicyLimits *l) {
	*l = (PolicyLimits){
		.connections = POLICY_DEFAULT_CONNECTIONS,
		.connections_per_user = POLICY_DEFAULT_CONNECTIONS_PER_USER,
		.queued_replies = POLICY_DEFAULT_QUEUED_REPLIES,
		.attachments_per_user = POLICY_DEFAULT_ATTACHMENTS_PER_USER,
		.request_timeout_sec = POLICY_DEFAULT_REQUEST_TIMEOUT_SEC,
		.admin_connections = POLICY_DEFAULT_ADMIN_CONNECTIONS,
		.idle_timeout_sec = POLICY_DEFAULT_IDLE_TIMEOUT_SEC,
	};
}

int policy_load(const char *path, const char *dropin_dir, Policy *ret, PolicyError *e) {
	_cleanup_(policy_done) Policy p = {};
	_cleanup_(dropins_done) DropIns dropins = {};
	int r;

	policy_limits_default(&p.limits);
	r = policy_parse_file(path, &p, e);
	if (r < 0 && r != -ENOENT)
		return r;
	(void) snprintf(e->path, sizeof(e->path), "%s", dropin_dir);
	r = list_dropins(dropin_dir, &dropins, e);
	if (r == -E2BIG)
		return policy_fail(e, 0, "more than %u drop-ins", POLICY_MAX_DROPINS);
	if (r < 0)
		return r;
	for (size_t i = 0; i < dropins.n; i++) {
		char file[PATH_MAX];

		if (snprintf(file, sizeof(file), "%s/%s", dropin_dir, dropins.names[i]) >=
		    (int) sizeof(file))
			return policy_fail(e, 0, "path too long");
		r = policy_parse_file(file, &p, e);
		if (r < 0)
			return r;
	}
	policy_done(ret);
	*ret = TAKE_STRUCT(p);
	return 0;
}

int policy_load_config(const char *path, Policy *ret, PolicyError *e) {
	char dropins[PATH_MAX];
	int r;

	if (snprintf(dropins, sizeof(dropins), "%s.d", path) >= (int) sizeof(dropins)) {
		(void) snprintf(e->path, sizeof(e->path), "%s", path);
		return -ENAMETOOLONG;
	}
	r = policy_load(path, dropins, ret, e);
	if (r < 0)
		return r;
	/* Part of the policy: without it a subuid range would multiply connections-per-user. */
	r = policy_load_subuids(POLICY_SUBUID_PATH, ret);
	if (r < 0) {
		policy_done(ret);
		*e = (PolicyError){};
		(void) snprintf(e->path, sizeof(e->path), "%s", POLICY_SUBUID_PATH);
	}
	return r;
}

void policy_error_format(const PolicyError *e, int r, char *buf, size_t size) {
	if (e->line > 0)
		(void) snprintf(buf, size, "%s:%u: %s", e->path, e->line, e->reason);
	else
		(void) snprintf(buf, size, "%s: %s", e->path, e->reason[0] ? e->reason : strerror(-r));
}

static bool subject_matches(const PolicyRule *r, const Caller *c) {
	if (r->subject == SUBJECT_USER)
		return r->id == c->uid;
	if (r->id == c->gid)
		return true;
	/* Up to 65536 supplementary groups: a binary search, not a scan per rule. */
	for (size_t lo = 0, hi = c->n_groups; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->groups[mid] == r->id)
			return true;
		if (c->groups[mid] < r->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool object_matches(const PolicyRule *r, const SysfsDevice *d) {
	switch (r->object) {
	case OBJECT_ANY:
		return true;
	case OBJECT_ADDRESS:
		return pci_address_equal(r->address, d->address);
	case OBJECT_ID:
		return r->vendor == d->vendor && r->device == d->device;
	case OBJECT_IOMMU_GROUP:
		return r->group == d->group;
	}
	return false;
}

bool policy_is_admin(const Policy *p, const Caller *c) {
	if (c->uid == 0)
		return true;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_ADMIN && subject_matches(&p->rules[i], c))
			return true;
	return false;
}

static bool policy_allows_device(const Policy *p, const Caller *c, const SysfsDevice *d) {
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_ALLOW && subject_matches(&p->rules[i], c) &&
		    object_matches(&p->rules[i], d))
			return true;
	return false;
}

/* The members no VMM can ever reach through the group fd, which need no rule: a bridge (by
 * header type), since no VFIO driver binds one (vfio-pci-core registers header type 0 only),
 * and a port on pcieport or a device on pci-stub (SYSFS_DRIVER_NO_DMA), which is no VFIO
 * device while there and leaves only by an admin's driver change, which Bind refuses while
 * the group is attached. A member sysfs shows on vfio-pci or a variant is never exempt,
 * whatever it said of its header. A member on no driver is not exempt either: any VFIO driver
 * may take it by a probe. */
static bool member_is_unreachable(const SysfsDevice *d) {
	if (d->driver_kind == SYSFS_DRIVER_VFIO)
		return false;
	return d->bridge || d->driver_kind == SYSFS_DRIVER_NO_DMA;
}

bool policy_allows_group(const Policy *p, const Caller *c, const SysfsDevice *members, size_t n) {
	size_t reachable = 0;

	if (policy_is_admin(p, c))
		return true;
	for (size_t i = 0; i < n; i++) {
		/* A member the listing could not name may be anything the group fd opens. */
		if (members[i].group_unknown > 0)
			return false;
		if (member_is_unreachable(&members[i]))
			continue;
		if (!policy_allows_device(p, c, &members[i]))
			return false;
		reachable++;
	}
	return reachable > 0;
}

uint64_t policy_memlock(const Policy *p, const Caller *c) {
	uint64_t most = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_MEMLOCK && subject_matches(&p->rules[i], c) &&
		    p->rules[i].memlock > most)
			most = p->rules[i].memlock;
	return most;
}

bool policy_is_assignable(const Policy *p, const SysfsDevice *d) {
	if (d->bridge)
		return false;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_ASSIGNABLE && object_matches(&p->rules[i], d))
			return true;
	return false;
}

void policy_filter_devices(const Policy *p, const Caller *c, const SysfsDevice *devices, size_t n,
                           bool *allowed) {
	bool admin = policy_is_admin(p, c);

	for (size_t i = 0; i < n; i++) {
		size_t earlier = sysfs_first_of_group(devices, i);
		bool all = true, reachable = false;

		if (admin || devices[i].group < 0) {
			allowed[i] = admin;
			continue;
		}
		if (earlier < i) {
			allowed[i] = allowed[earlier];
			continue;
		}
		/* As policy_allows_group() over the members, without copying them out. */
		for (size_t j = i; j < n && all; j++) {
			if (devices[j].group != devices[i].group)
				continue;
			all = devices[j].group_unknown == 0;
			if (member_is_unreachable(&devices[j]))
				continue;
			all = all && policy_allows_device(p, c, &devices[j]);
			reachable = true;
		}
		allowed[i] = all && reachable;
	}
}

bool policy_may_open_device(const Caller *c, const PolicyOwner *owner) {
	/* A pid names another process only after the owner exited, which its pidfd shows. */
	return c->pid == owner->pid && c->uid == owner->uid && !owner->exited;
}

PolicyDetach policy_may_detach(const Policy *p, const Caller *c, const PolicyOwner *owner) {
	if (c->uid == owner->uid)
		return POLICY_DETACH_AS_OWNER;
	return policy_is_admin(p, c) ? POLICY_DETACH_AS_ADMIN : POLICY_DETACH_DENIED;
}

bool policy_may_join_vm(const Caller *c, const PolicyOwner *owner) {
	/* The same rule as OpenDevice: the container is that process's, as a device fd is. */
	return policy_may_open_device(c, owner);
}

bool policy_may_see_attachment(const Policy *p, const Caller *c, const PolicyOwner *owner) {
	return c->uid == owner->uid || policy_is_admin(p, c);
}

bool policy_may_hear_event(const Policy *p, const Caller *c, const PolicyOwner *owner) {
	return owner ? policy_may_see_attachment(p, c, owner) : policy_is_admin(p, c);
}

const char *policy_attachment_limit(const Policy *p, unsigned n_held, unsigned *ret_value) {
	if (n_held < p->limits.attachments_per_user)
		return NULL;
	*ret_value = p->limits.attachments_per_user;
	return POLICY_LIMIT_ATTACHMENTS_PER_USER;
}

const char *policy_connection_limit(const Policy *p, size_t n_open, unsigned n_user, bool admin,
                                    unsigned *ret_value) {
	size_t total = (size_t) p->limits.connections + (admin ? p->limits.admin_connections : 0);

	if (n_open >= total) {
		*ret_value = p->limits.connections;
		return POLICY_LIMIT_CONNECTIONS;
	}
	if (n_user >= p->limits.connections_per_user) {
		*ret_value = p->limits.connections_per_user;
		return POLICY_LIMIT_CONNECTIONS_PER_USER;
	}
	return NULL;
}

uint64_t policy_fds_needed(const PolicyLimits *l) {
	uint64_t connections =
	        (uint64_t) l->connections + l->admin_connections + POLICY_MAX_REFUSED_CONNECTIONS;

	return connections * POLICY_FDS_PER_CONNECTION + POLICY_FDS_RESERVE;
}

int policy_check_fd_limit(const Policy *p, uint64_t fd_limit, PolicyError *e) {
	uint64_t needed = policy_fds_needed(&p->limits);

	if (needed <= fd_limit)
		return 0;
	return policy_fail(
	        e, 0,
	        "the limits need %" PRIu64 " file descriptors ((connections %u + admin-connections %u + "
	        "%u refused) x %u + %u), RLIMIT_NOFILE allows %" PRIu64,
	        needed, p->limits.connections, p->limits.admin_connections, POLICY_MAX_REFUSED_CONNECTIONS,
	        POLICY_FDS_PER_CONNECTION, POLICY_FDS_RESERVE, fd_limit);
}

uid_t policy_account_uid(const Policy *p, uid_t uid) {
	size_t low = 0, high = p->n_subuids;

	/* The last range starting at or below uid; ranges may overlap (a bad file), the first
	 * found wins. */
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (p->subuids[mid].start <= uid)
			low = mid + 1;
		else
			high = mid;
	}
	if (low > 0) {
		const PolicySubuidRange *r = &p->subuids[low - 1];
		if ((uint64_t) uid < (uint64_t) r->start + r->count && r->owner != 0)
			return r->owner;
	}
	return uid;
}

static int compare_subuids(const void *a, const void *b) {
	uid_t x = ((const PolicySubuidRange *) a)->start, y = ((const PolicySubuidRange *) b)->start;

	return x < y ? -1 : x > y;
}

/* One line of subuid(5) into *ret; -EINVAL for a line to skip. */
static int parse_subuid_line(char *line, PolicySubuidRange *ret) {
	char *start = strchr(line, ':'), *count, *end;
	uint32_t first, n;
	PolicyRule subject = {};
	char word[POLICY_MAX_LINE + 8];

	if (!start)
		return -EINVAL;
	*start++ = '\0';
	count = strchr(start, ':');
	if (!count)
		return -EINVAL;
	*count++ = '\0';
	end = count + strcspn(count, "\n");
	*end = '\0';
	if (parse_number(start, UINT32_MAX - 1, &first) < 0 || parse_number(count, UINT32_MAX, &n) < 0 ||
	    n == 0)
		return -EINVAL;
	if (snprintf(word, sizeof(word), "user:%s", line) >= (int) sizeof(word) ||
	    parse_subject(word, &subject) < 0)
		return -EINVAL;
	*ret = (PolicySubuidRange){ .start = first, .count = n, .owner = subject.id };
	return 0;
}

int policy_load_subuids(const char *path, Policy *p) {
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	_cleanup_free_ PolicySubuidRange *ranges = NULL;
	char line[POLICY_MAX_LINE];
	size_t n = 0;

	if (!f && errno != ENOENT)
		return negative_errno();
	while (f && fgets(line, sizeof(line), f)) {
		PolicySubuidRange range;
		if (parse_subuid_line(line, &range) < 0)
			continue;
		if (n == POLICY_MAX_SUBUID_RANGES)
			return -E2BIG;
		if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
			PolicySubuidRange *more = reallocarray(ranges, n ? 2 * n : 16, sizeof(*ranges));
			if (!more)
				return -ENOMEM;
			ranges = more;
		}
		ranges[n++] = range;
	}
	if (n > 0)
		qsort(ranges, n, sizeof(*ranges), compare_subuids);
	free(p->subuids);
	p->subuids = TAKE_PTR(ranges);
	p->n_subuids = n;
	return 0;
}
