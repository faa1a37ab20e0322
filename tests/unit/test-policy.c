/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The policy against files in a scratch directory: defaults without files, admin and allow
 * rules, the whole-group rule, every kind of bad line with its file and line number, drop-ins
 * in name order, memlock grants, assignable devices, limits, and a failed load that leaves the policy in
 * force alone. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "policy.h"
#include "util.h"

typedef struct Fixture {
	char dir[64];
	char path[128];    /* dir/vfiod.conf, not created by setup */
	char dropins[128]; /* dir/vfiod.conf.d, not created by setup */
	int fds_before;
	Policy policy;
	PolicyError error;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = test_count_fds();
	test_make_dir(f->dir, sizeof(f->dir), "policy");
	snprintf(f->path, sizeof(f->path), "%s/vfiod.conf", f->dir);
	snprintf(f->dropins, sizeof(f->dropins), "%s/vfiod.conf.d", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;

	policy_done(&f->policy);
	test_remove_tree(f->dir);
	assert_int_equal(test_count_fds(), f->fds_before);
	free(f);
	return 0;
}

static void write_main(Fixture *f, const char *text) {
	test_write_file(f->path, text, strlen(text));
}

static void write_dropin(Fixture *f, const char *name, const char *text) {
	char path[256];

	(void) mkdir(f->dropins, 0755);
	snprintf(path, sizeof(path), "%s/%s", f->dropins, name);
	test_write_file(path, text, strlen(text));
}

static int load(Fixture *f) {
	return policy_load(f->path, f->dropins, &f->policy, &f->error);
}

/* Writes text as the main file and loads the policy, which must succeed. */
static void load_main(Fixture *f, const char *text) {
	write_main(f, text);
	assert_int_equal(load(f), 0);
}

static Caller caller(uid_t uid, gid_t gid) {
	return (Caller){ .uid = uid, .gid = gid };
}

static SysfsDevice device(const char *address, int group, uint16_t vendor, uint16_t id) {
	return (SysfsDevice){ .address = test_pci(address), .group = group, .vendor = vendor, .device = id };
}

/* Whether c may attach the group made of d alone. */
static bool allows(const Fixture *f, Caller c, SysfsDevice d) {
	return policy_allows_group(&f->policy, &c, &d, 1);
}

static void missing_files_leave_only_root(void **state) {
	Fixture *f = *state;
	SysfsDevice d = device("0000:01:00.0", 5, 0x10de, 0x1b80);
	Caller root = caller(0, 0), user = caller(1000, 1000);

	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 0);
	assert_true(policy_is_admin(&f->policy, &root));
	assert_false(policy_is_admin(&f->policy, &user));
	assert_true(allows(f, root, d));
	assert_false(allows(f, user, d));
	assert_false(policy_allows_group(&f->policy, &user, NULL, 0));
}

static void missing_file_is_enoent(void **state) {
	Fixture *f = *state;

	assert_int_equal(policy_parse_file(f->path, &f->policy, &f->error), -ENOENT);
	assert_int_equal(f->policy.n_rules, 0);
}

static void admin_by_user(void **state) {
	Fixture *f = *state;
	Caller admin = caller(1000, 100), other = caller(1001, 1000);

	load_main(f, "admin user:1000\n");
	assert_int_equal(f->policy.n_rules, 1);
	assert_true(policy_is_admin(&f->policy, &admin));
	/* A gid equal to the uid named is no match: the rule names a user. */
	assert_false(policy_is_admin(&f->policy, &other));
	/* An admin may attach anything, even a group whose members are unknown. */
	assert_true(allows(f, admin, device("0000:01:00.0", 5, 1, 2)));
	assert_true(policy_allows_group(&f->policy, &admin, NULL, 0));
}

static void admin_by_group(void **state) {
	Fixture *f = *state;
	const gid_t with[] = { 5, 2000 }, without[] = { 5, 2001 };
	Caller primary = caller(1000, 2000), supplementary = caller(1000, 100), none = caller(1000, 100),
	       uid_only = caller(2000, 100);

	supplementary.groups = with;
	supplementary.n_groups = ELEMENTSOF(with);
	none.groups = without;
	none.n_groups = ELEMENTSOF(without);
	load_main(f, "admin group:2000\n");
	assert_true(policy_is_admin(&f->policy, &primary));
	assert_true(policy_is_admin(&f->policy, &supplementary));
	assert_false(policy_is_admin(&f->policy, &none));
	/* A uid equal to the gid named is no match: the rule names a group. */
	assert_false(policy_is_admin(&f->policy, &uid_only));
}

static void names_are_looked_up(void **state) {
	Fixture *f = *state;
	Caller wheel = caller(1000, 0), other = caller(1000, 100);

	load_main(f, "admin user:root\nadmin group:root\nallow user:root any\n");
	assert_int_equal(f->policy.n_rules, 3);
	assert_int_equal(f->policy.rules[0].subject, SUBJECT_USER);
	assert_int_equal(f->policy.rules[0].id, 0);
	assert_int_equal(f->policy.rules[1].subject, SUBJECT_GROUP);
	assert_int_equal(f->policy.rules[1].id, 0);
	assert_int_equal(f->policy.rules[2].kind, RULE_ALLOW);
	assert_int_equal(f->policy.rules[2].object, OBJECT_ANY);
	assert_true(policy_is_admin(&f->policy, &wheel));
	assert_false(policy_is_admin(&f->policy, &other));
}

static void allow_is_no_admin(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);

	load_main(f, "allow user:1000 any\n");
	assert_false(policy_is_admin(&f->policy, &user));
	assert_true(allows(f, user, device("0000:01:00.0", 5, 1, 2)));
}

typedef struct ObjectCase {
	const char *object;
	SysfsDevice match;
	SysfsDevice other;
} ObjectCase;

static void allow_by_object(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000), stranger = caller(1001, 1001);
	const ObjectCase cases[] = {
		{ "any", device("0000:01:00.0", 5, 0x10de, 0x1b80),
		  device("0000:01:00.0", 5, 0x10de, 0x1b80) },
		{ "device:0000:01:00.0", device("0000:01:00.0", 5, 0x10de, 0x1b80),
		  device("0000:01:00.1", 5, 0x10de, 0x1b80) },
		{ "id:10de:1b80", device("0000:01:00.0", 5, 0x10de, 0x1b80),
		  device("0000:01:00.0", 5, 0x10de, 0x1b81) },
		{ "id:10de:1b80", device("0000:01:00.0", 5, 0x10de, 0x1b80),
		  device("0000:01:00.0", 5, 0x10df, 0x1b80) },
		{ "iommu-group:12", device("0000:02:00.0", 12, 1, 2), device("0000:02:00.0", 13, 1, 2) },
		{ "iommu-group:0", device("0000:02:00.0", 0, 1, 2), device("0000:02:00.0", -1, 1, 2) },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char text[128];
		snprintf(text, sizeof(text), "allow user:1000 %s\n", cases[i].object);
		load_main(f, text);
		assert_int_equal(f->policy.n_rules, 1);
		assert_true(allows(f, user, cases[i].match));
		/* Subject mismatch: the same device is denied to anyone else. */
		assert_false(allows(f, stranger, cases[i].match));
		if (i > 0)
			assert_false(allows(f, user, cases[i].other));
	}
}

static void allow_by_group(void **state) {
	Fixture *f = *state;
	const gid_t with[] = { 2000 }, without[] = { 2001 };
	SysfsDevice d = device("0000:01:00.0", 5, 0x10de, 0x1b80);
	Caller primary = caller(1000, 2000), supplementary = caller(1000, 100), none = caller(1000, 100);

	supplementary.groups = with;
	supplementary.n_groups = 1;
	none.groups = without;
	none.n_groups = 1;
	load_main(f, "allow group:2000 id:10de:1b80\n");
	assert_true(allows(f, primary, d));
	assert_true(allows(f, supplementary, d));
	assert_false(allows(f, none, d));
	assert_false(allows(f, caller(2000, 100), d));
}

/* A caller in thousands of groups (SO_PEERGROUPS holds up to 65536, sorted): each of them
 * is found, first, middle and last, and no gid between them. */
static void allow_by_one_of_many_groups(void **state) {
	Fixture *f = *state;
	static gid_t groups[65536];
	SysfsDevice d = device("0000:01:00.0", 5, 0x10de, 0x1b80);
	Caller c = caller(1000, 1000);
	const gid_t members[] = { 100000, 100000 + 2 * 32768, 100000 + 2 * 65535 };

	for (size_t i = 0; i < ELEMENTSOF(groups); i++)
		groups[i] = (gid_t) (100000 + 2 * i);
	c.groups = groups;
	c.n_groups = ELEMENTSOF(groups);
	for (size_t i = 0; i < ELEMENTSOF(members); i++) {
		char text[64];
		snprintf(text, sizeof(text), "allow group:%u id:10de:1b80\n", (unsigned) members[i]);
		load_main(f, text);
		assert_true(allows(f, c, d));
		policy_done(&f->policy);
		/* An odd gid falls between two of the caller's groups. */
		snprintf(text, sizeof(text), "allow group:%u id:10de:1b80\n", (unsigned) members[i] + 1);
		load_main(f, text);
		assert_false(allows(f, c, d));
		policy_done(&f->policy);
	}
}

static void group_needs_every_member(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);
	const SysfsDevice members[] = {
		device("0000:01:00.0", 5, 0x10de, 0x1b80),
		device("0000:01:00.1", 5, 0x10de, 0x10f0),
	};

	load_main(f, "allow user:1000 device:0000:01:00.0\n");
	assert_true(policy_allows_group(&f->policy, &user, members, 1));
	assert_false(policy_allows_group(&f->policy, &user, members, 2));
	load_main(f, "allow user:1000 device:0000:01:00.0\nallow user:1000 id:10de:10f0\n");
	assert_true(policy_allows_group(&f->policy, &user, members, 2));
}

static void empty_group_is_refused(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);

	load_main(f, "allow user:1000 any\n");
	assert_false(policy_allows_group(&f->policy, &user, NULL, 0));
}

/* vfio-pci never binds a bridge, so the group fd cannot reach it: it needs no rule. */
static void bridges_need_no_rule(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);
	SysfsDevice members[] = {
		device("0000:00:1c.0", 5, 0x8086, 0xa110),
		device("0000:01:00.0", 5, 0x10de, 0x1b80),
	};

	members[0].bridge = true;
	load_main(f, "allow user:1000 device:0000:01:00.0\n");
	assert_true(policy_allows_group(&f->policy, &user, members, 2));
	/* Without the flag the same member must be allowed. */
	members[0].bridge = false;
	assert_false(policy_allows_group(&f->policy, &user, members, 2));
}

/* A group with members the listing could not name goes to admins only, whatever the rules say
 * of the members it could (review item 2). */
static void group_with_unknown_members_is_refused(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000), admin = caller(0, 0);
	SysfsDevice listing[] = {
		device("0000:00:07.0", 7, 0x8086, 0x10d3),
		device("0000:00:08.0", 8, 0x8086, 0x10d3),
	};
	bool allowed[ELEMENTSOF(listing)];

	listing[0].group_unknown = 1;
	load_main(f, "allow user:1000 any\n");
	assert_false(policy_allows_group(&f->policy, &user, &listing[0], 1));
	assert_true(policy_allows_group(&f->policy, &user, &listing[1], 1));
	assert_true(policy_allows_group(&f->policy, &admin, &listing[0], 1));
	policy_filter_devices(&f->policy, &user, listing, ELEMENTSOF(listing), allowed);
	assert_false(allowed[0]);
	assert_true(allowed[1]);
}

/* A bridge bound to vfio-pci all the same is reachable: it needs its rule (review item 9). */
static void bridge_on_vfio_pci_needs_a_rule(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);
	SysfsDevice members[] = {
		device("0000:00:1c.0", 5, 0x8086, 0xa110),
		device("0000:01:00.0", 5, 0x10de, 0x1b80),
	};
	bool allowed[ELEMENTSOF(members)];

	members[0].bridge = true;
	strcpy(members[0].driver, "vfio-pci");
	members[0].driver_kind = SYSFS_DRIVER_VFIO;
	load_main(f, "allow user:1000 device:0000:01:00.0\n");
	assert_false(policy_allows_group(&f->policy, &user, members, 2));
	policy_filter_devices(&f->policy, &user, members, ELEMENTSOF(members), allowed);
	assert_false(allowed[0] || allowed[1]);
}

/* A member no VMM can reach needs no rule: a port on pcieport (a switch's downstream port
 * without ACS shares its endpoint's group), a root complex event collector on pcieport (header
 * type 0, so no bridge), a device on pci-stub. A member on no driver, which any VFIO driver may
 * take by a probe, or on a host driver needs its rule (fail closed). */
static void ports_and_stubbed_devices_need_no_rule(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);
	static const struct {
		const char *driver;
		SysfsDriverKind kind;
		bool bridge;
		bool allowed;
	} cases[] = {
		{ "pcieport", SYSFS_DRIVER_NO_DMA, true, true },
		{ "pcieport", SYSFS_DRIVER_NO_DMA, false, true },
		{ "pci-stub", SYSFS_DRIVER_NO_DMA, false, true },
		{ "", SYSFS_DRIVER_NONE, false, false },
		{ "e1000e", SYSFS_DRIVER_HOST, false, false },
		{ "mlx5_vfio_pci", SYSFS_DRIVER_VFIO, false, false },
	};

	load_main(f, "allow user:1000 device:0000:05:00.0\n");
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		SysfsDevice members[] = {
			device("0000:04:00.0", 9, 0x104c, 0x8233),
			device("0000:05:00.0", 9, 0x8086, 0x10d3),
		};
		bool allowed[ELEMENTSOF(members)];

		strcpy(members[0].driver, cases[i].driver);
		members[0].driver_kind = cases[i].kind;
		members[0].bridge = cases[i].bridge;
		members[1].driver_kind = SYSFS_DRIVER_VFIO;
		if (policy_allows_group(&f->policy, &user, members, 2) != cases[i].allowed)
			fail_msg("case %zu (%s): not %s", i, cases[i].driver,
			         cases[i].allowed ? "allowed" : "refused");
		policy_filter_devices(&f->policy, &user, members, ELEMENTSOF(members), allowed);
		assert_int_equal(allowed[0], cases[i].allowed);
		assert_int_equal(allowed[1], cases[i].allowed);
		/* The unreachable member alone is no group anyone is granted. */
		assert_false(policy_allows_group(&f->policy, &user, members, 1));
	}
}

static void group_of_bridges_is_refused(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);
	SysfsDevice bridge = device("0000:00:1c.0", 5, 0x8086, 0xa110);

	bridge.bridge = true;
	load_main(f, "allow user:1000 any\n");
	assert_false(policy_allows_group(&f->policy, &user, &bridge, 1));
}

static void comments_and_blank_lines_pass(void **state) {
	Fixture *f = *state;

	write_main(f, "# vfiod policy\n"
	              "\n"
	              "   \t \n"
	              "\t# indented comment\n"
	              "#allow user:1001 any\n"
	              "allow\tuser:1000\t any  \n"
	              "admin user:1002\r\n"
	              "allow group:2000 iommu-group:3"); /* no final newline */
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 3);
	assert_int_equal(f->policy.rules[0].id, 1000);
	assert_int_equal(f->policy.rules[1].kind, RULE_ADMIN);
	assert_int_equal(f->policy.rules[1].id, 1002);
	assert_int_equal(f->policy.rules[2].object, OBJECT_IOMMU_GROUP);
	assert_int_equal(f->policy.rules[2].group, 3);
}

typedef struct BadCase {
	const char *text;
	unsigned line;
	const char *reason; /* a part of the reason */
} BadCase;

static const BadCase bad_cases[] = {
	{ "permit user:1000 any\n", 1, "unknown rule" },
	{ "# x\n\nadmin user:1000\nAllow user:1000 any\n", 4, "unknown rule" },
	{ "admin user:1000\nallow\n", 2, "expected 'allow SUBJECT DEVICE'" },
	{ "admin\n", 1, "expected 'admin SUBJECT'" },
	{ "\n\nallow uid:1000 any\n", 3, "bad subject" },
	{ "admin 1000\n", 1, "bad subject" },
	{ "allow user:1000 any\nadmin user:no-such-user-xyz\n", 2, "no such" },
	{ "allow group:no-such-group-xyz any\n", 1, "no such" },
	{ "admin user:\n", 1, "no such" },
	{ "admin user:4294967295\n", 1, "no such" },
	{ "# x\nallow user:1000 device:../..\n", 2, "bad device" },
	{ "allow user:1000 device:0000:00:20.0\n", 1, "bad device" },
	{ "allow user:1000 device:0000:01:00.0/..\n", 1, "bad device" },
	{ "allow user:1000 id:zzzz:0000\n", 1, "bad device" },
	{ "allow user:1000 id:10de:1b8\n", 1, "bad device" },
	{ "allow user:1000 id:10de-1b80\n", 1, "bad device" },
	{ "\n\n\n\nallow user:1000 iommu-group:-1\n", 5, "bad device" },
	{ "allow user:1000 iommu-group:\n", 1, "bad device" },
	{ "allow user:1000 iommu-group:2147483648\n", 1, "bad device" },
	{ "allow user:1000 iommu-group:1x\n", 1, "bad device" },
	{ "allow user:1000 iommu-group:+5\n", 1, "bad device" },
	{ "admin user:+1000\n", 1, "no such" },
	{ "allow user:1000 everything\n", 1, "bad device" },
	{ "allow user:1000\n", 1, "expected 'allow SUBJECT DEVICE'" },
	{ "admin user:1000 any\n", 1, "expected 'admin SUBJECT'" },
	{ "admin user:1000\nallow user:1000 any extra\n", 2, "expected 'allow SUBJECT DEVICE'" },
	{ "allow user:1000 any extra words\n", 1, "too many words" },
	{ "allow user:\v1000 any\n", 1, "no such" },
	{ "memlock user:1000\n", 1, "expected 'memlock SUBJECT SIZE'" },
	{ "memlock user:1000 4X\n", 1, "bad size" },
	{ "memlock user:1000 -1\n", 1, "bad size" },
	{ "memlock user:1000 99999999999999999999\n", 1, "bad size" },
	{ "memlock user:1000 17179869184T\n", 1, "bad size" },
	{ "memlock user:1000 4GB\n", 1, "bad size" },
	{ "assignable user:1000\n", 1, "bad device" },
	{ "assignable\n", 1, "expected 'assignable DEVICE'" },
	{ "limit connections\n", 1, "limit needs" },
	{ "limit connections 0\n", 1, "not a number from 1" },
	{ "limit connections 65537\n", 1, "not a number from 1" },
	{ "limit request-timeout 3601\n", 1, "not a number from 1" },
	{ "limit everything 5\n", 1, "unknown limit" },
};

/* The load fails at line of path, for a reason that says reason. */
static void assert_load_fails(Fixture *f, const char *path, unsigned line, const char *reason) {
	assert_int_equal(load(f), -EINVAL);
	assert_string_equal(f->error.path, path);
	assert_int_equal(f->error.line, line);
	assert_true(strlen(f->error.reason) > 0);
	assert_non_null(strstr(f->error.reason, reason));
}

/* As assert_load_fails(), where no policy was in force: none is now. */
static void check_bad(Fixture *f, const char *path, unsigned line, const char *reason) {
	assert_load_fails(f, path, line, reason);
	assert_int_equal(f->policy.n_rules, 0);
	assert_null(f->policy.rules);
}

static void bad_lines_fail_with_their_line(void **state) {
	Fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
		f->error = (PolicyError){};
		write_main(f, bad_cases[i].text);
		check_bad(f, f->path, bad_cases[i].line, bad_cases[i].reason);
	}
}

static void long_line_fails(void **state) {
	Fixture *f = *state;
	static const char first[] = "admin user:1000\n";
	char text[2 * POLICY_MAX_LINE];
	size_t start = strlen(first);

	/* POLICY_MAX_LINE bytes and the newline pass. */
	strcpy(text, first);
	memset(text + start, '#', POLICY_MAX_LINE);
	strcpy(text + start + POLICY_MAX_LINE, "\n");
	load_main(f, text);
	assert_int_equal(f->policy.n_rules, 1);
	policy_done(&f->policy);
	/* POLICY_MAX_LINE + 1 bytes before the newline fail on line 2. */
	memset(text + start, '#', POLICY_MAX_LINE + 1);
	strcpy(text + start + POLICY_MAX_LINE + 1, "\nadmin user:1001\n");
	write_main(f, text);
	check_bad(f, f->path, 2, "longer than");
}

static void nul_byte_fails(void **state) {
	Fixture *f = *state;
	static const char text[] = "admin user:1000\n# x\nadmin user:1001\0junk\nadmin user:1002\n";

	test_write_file(f->path, text, sizeof(text) - 1);
	check_bad(f, f->path, 3, "NUL");
}

static void too_many_rules_fail(void **state) {
	Fixture *f = *state;
	FILE *file = fopen(f->path, "we");

	assert_non_null(file);
	for (unsigned i = 0; i < POLICY_MAX_RULES; i++)
		fprintf(file, "allow user:%u any\n", 1000 + i);
	assert_int_equal(fclose(file), 0);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, POLICY_MAX_RULES);
	policy_done(&f->policy);
	/* The bound counts the rules of every file together. */
	write_dropin(f, "10-more.conf", "# one too many\nadmin user:1\n");
	char path[256];
	snprintf(path, sizeof(path), "%s/10-more.conf", f->dropins);
	check_bad(f, path, 2, "rules");
}

static void dropins_load_in_name_order(void **state) {
	Fixture *f = *state;

	write_main(f, "allow user:1000 any\n");
	write_dropin(f, "20-b.conf", "allow user:1002 any\n");
	write_dropin(f, "10-a.conf", "# first\nallow user:1001 any\nallow user:1003 any\n");
	write_dropin(f, "30-c.conf", "admin group:2000\n");
	/* Not *.conf, or hidden: never read, though none of them parses. */
	write_dropin(f, "README", "not a rule\n");
	write_dropin(f, "15-x.conf~", "not a rule\n");
	write_dropin(f, "15-x.conf.disabled", "not a rule\n");
	write_dropin(f, ".15-hidden.conf", "not a rule\n");
	write_dropin(f, "conf", "not a rule\n");
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 5);
	assert_int_equal(f->policy.rules[0].id, 1000);
	assert_int_equal(f->policy.rules[1].id, 1001);
	assert_int_equal(f->policy.rules[2].id, 1003);
	assert_int_equal(f->policy.rules[3].id, 1002);
	assert_int_equal(f->policy.rules[4].kind, RULE_ADMIN);
	assert_int_equal(f->policy.rules[4].id, 2000);
}

/* A policy file or drop-in directory that others than root may write is refused as a whole,
 * saying why: whoever writes it decides who may use the devices. */
static void untrusted_files_are_refused(void **state) {
	Fixture *f = *state;

	write_main(f, "allow user:1000 any\n");
	assert_int_equal(chmod(f->path, 0664), 0);
	check_bad(f, f->path, 0, "writable by others than its owner (mode 0664)");
	assert_int_equal(chmod(f->path, 0646), 0);
	check_bad(f, f->path, 0, "writable by others than its owner (mode 0646)");
	assert_int_equal(chmod(f->path, 0644), 0);
	write_dropin(f, "10-a.conf", "admin user:1000\n");
	assert_int_equal(chmod(f->dropins, 0777), 0);
	check_bad(f, f->dropins, 0, "writable by others than its owner (mode 0777)");
	assert_int_equal(chmod(f->dropins, 0755), 0);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 2);
	policy_done(&f->policy);
	/* Owned by another user: only root can make that here. */
	if (geteuid() != 0)
		return;
	assert_int_equal(chown(f->path, 65534, 65534), 0);
	check_bad(f, f->path, 0, "owned by uid 65534, not by root");
	assert_int_equal(chown(f->path, 0, 0), 0);
	assert_int_equal(chown(f->dropins, 65534, 65534), 0);
	check_bad(f, f->dropins, 0, "owned by uid 65534, not by root");
}

static void dropins_without_main_file(void **state) {
	Fixture *f = *state;
	Caller user = caller(1001, 1001);

	write_dropin(f, "a.conf", "allow user:1001 iommu-group:7\n");
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 1);
	assert_true(allows(f, user, device("0000:03:00.0", 7, 1, 2)));
	assert_false(allows(f, user, device("0000:03:00.0", 8, 1, 2)));
}

static void reload_replaces_rules(void **state) {
	Fixture *f = *state;
	Caller first = caller(1000, 1000), second = caller(1001, 1001);

	load_main(f, "admin user:1000\n");
	load_main(f, "admin user:1001\n");
	assert_int_equal(f->policy.n_rules, 1);
	assert_false(policy_is_admin(&f->policy, &first));
	assert_true(policy_is_admin(&f->policy, &second));
}

/* A load that fails after path and a good drop-in parsed leaves the old policy in force. */
static void bad_dropin_keeps_policy(void **state) {
	Fixture *f = *state;
	Caller old = caller(1000, 1000), fresh = caller(1001, 1001);
	SysfsDevice d = device("0000:01:00.0", 5, 0x10de, 0x1b80);
	PolicyRule *rules;
	char path[256];

	load_main(f, "allow user:1000 any\n");
	rules = f->policy.rules;
	write_main(f, "allow user:1001 any\n");
	write_dropin(f, "10-good.conf", "admin user:1001\n");
	write_dropin(f, "20-bad.conf", "# x\n\nallow user:1001 id:zzzz:0000\n");
	write_dropin(f, "30-good.conf", "admin user:1002\n");
	snprintf(path, sizeof(path), "%s/20-bad.conf", f->dropins);
	assert_load_fails(f, path, 3, "bad device");
	assert_ptr_equal(f->policy.rules, rules);
	assert_int_equal(f->policy.n_rules, 1);
	assert_true(allows(f, old, d));
	assert_false(allows(f, fresh, d));
	assert_false(policy_is_admin(&f->policy, &fresh));
}

static void bad_main_file_keeps_policy(void **state) {
	Fixture *f = *state;
	Caller old = caller(1000, 1000);

	load_main(f, "admin user:1000\n");
	write_main(f, "admin user:1001\nadmin user:no-such-user-xyz\n");
	assert_load_fails(f, f->path, 2, "no such");
	assert_int_equal(f->policy.n_rules, 1);
	assert_true(policy_is_admin(&f->policy, &old));
}

static void dropin_dir_not_a_directory_fails(void **state) {
	Fixture *f = *state;

	load_main(f, "admin user:1000\n");
	test_write_file(f->dropins, "", 0);
	assert_int_equal(load(f), -ENOTDIR);
	assert_int_equal(f->policy.n_rules, 1);
}

static void policy_done_frees(void **state) {
	Fixture *f = *state;

	load_main(f, "admin user:1000\nallow user:1000 any\n");
	assert_non_null(f->policy.rules);
	policy_done(&f->policy);
	assert_null(f->policy.rules);
	assert_int_equal(f->policy.n_rules, 0);
	/* Twice is harmless: teardown calls it again. */
	policy_done(&f->policy);
	assert_null(f->policy.rules);
}

static void trailing_comments_and_upper_case_ids(void **state) {
	Fixture *f = *state;
	Caller user = caller(1000, 1000);

	load_main(f, "allow user:1000 id:10DE:1B80 # the GPU\nadmin user:1002#no blank before\n");
	assert_int_equal(f->policy.n_rules, 2);
	assert_true(allows(f, user, device("0000:01:00.0", 1, 0x10de, 0x1b80)));
	assert_false(allows(f, user, device("0000:01:00.0", 1, 0x10de, 0x1b81)));
	assert_true(policy_is_admin(&f->policy, &(Caller){ .uid = 1002, .gid = 1002 }));
}

static void memlock_takes_the_largest(void **state) {
	Fixture *f = *state;
	gid_t groups[] = { 2000 };
	Caller plain = caller(1000, 1000),
	       member = { .uid = 1000, .gid = 1000, .groups = groups, .n_groups = 1 };
	Caller unlimited = caller(1001, 1001), nobody = caller(1003, 1003), bytes = caller(1004, 1004);

	load_main(f, "memlock user:1000 1G\nmemlock group:2000 4G\nmemlock user:1001 infinity\n"
	             "memlock user:1004 512\nmemlock user:1004 2K\nmemlock user:1004 1T\n");
	assert_int_equal(policy_memlock(&f->policy, &plain), 1ull << 30);
	assert_int_equal(policy_memlock(&f->policy, &member), 4ull << 30);
	assert_int_equal(policy_memlock(&f->policy, &unlimited), UINT64_MAX);
	assert_int_equal(policy_memlock(&f->policy, &nobody), 0);
	assert_int_equal(policy_memlock(&f->policy, &bytes), 1ull << 40);
	/* A memlock grant is no permission to attach. */
	assert_false(allows(f, plain, device("0000:01:00.0", 1, 0x8086, 0x10d3)));
}

static void assignable_names_devices(void **state) {
	Fixture *f = *state;
	SysfsDevice nic = device("0000:00:02.0", 1, 0x8086, 0x10d3),
	            other = device("0000:00:03.0", 2, 0x8086, 0x100e);
	SysfsDevice gpu = device("0000:01:00.0", 3, 0x10de, 0x1b80),
	            bridge = device("0000:00:1c.0", 3, 0x10de, 0x1b80);

	load_main(f, "assignable device:0000:00:02.0\nassignable id:10de:1b80\n");
	assert_true(policy_is_assignable(&f->policy, &nic));
	assert_false(policy_is_assignable(&f->policy, &other));
	assert_true(policy_is_assignable(&f->policy, &gpu));
	bridge.bridge = true;
	assert_false(policy_is_assignable(&f->policy, &bridge));
	/* Assignable is no grant to a user. */
	assert_false(allows(f, caller(1000, 1000), nic));
}

static void limits_default_and_override(void **state) {
	Fixture *f = *state;

	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.limits.connections, POLICY_DEFAULT_CONNECTIONS);
	assert_int_equal(f->policy.limits.connections_per_user, POLICY_DEFAULT_CONNECTIONS_PER_USER);
	assert_int_equal(f->policy.limits.queued_replies, POLICY_DEFAULT_QUEUED_REPLIES);
	assert_int_equal(f->policy.limits.attachments_per_user, POLICY_DEFAULT_ATTACHMENTS_PER_USER);
	assert_int_equal(f->policy.limits.request_timeout_sec, POLICY_DEFAULT_REQUEST_TIMEOUT_SEC);
	write_main(f, "limit connections 100\nlimit connections-per-user 3\nlimit queued-replies 7\n"
	              "limit attachments-per-user 2\nlimit request-timeout 5\n");
	write_dropin(f, "50-more.conf", "limit connections-per-user 4\n");
	assert_int_equal(load(f), 0);
	assert_int_equal(f->policy.n_rules, 0);
	assert_int_equal(f->policy.limits.connections, 100);
	assert_int_equal(f->policy.limits.connections_per_user, 4);
	assert_int_equal(f->policy.limits.queued_replies, 7);
	assert_int_equal(f->policy.limits.attachments_per_user, 2);
	assert_int_equal(f->policy.limits.request_timeout_sec, 5);
	assert_int_equal(f->policy.limits.admin_connections, POLICY_DEFAULT_ADMIN_CONNECTIONS);
	assert_int_equal(f->policy.limits.idle_timeout_sec, POLICY_DEFAULT_IDLE_TIMEOUT_SEC);
	load_main(f, "limit admin-connections 2\nlimit idle-timeout 30\n");
	assert_int_equal(f->policy.limits.admin_connections, 2);
	assert_int_equal(f->policy.limits.idle_timeout_sec, 30);
}

/* subuid(5) ranges: a uid in one counts as its owner's, by name or number; root's ranges and
 * malformed lines are left alone; uids outside every range count as themselves. */
static void subuids_count_as_their_owner(void **state) {
	static const char subuid[] = "root:100000:65536\n1000:165536:65536\nnobody-such-user:300000:10\n"
	                             "bad line\n2000:231072:x\n1001:500000:1\n";
	Fixture *f = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/subuid", f->dir);
	test_write_file(path, subuid, strlen(subuid));
	assert_int_equal(policy_load_subuids(path, &f->policy), 0);
	assert_int_equal(f->policy.n_subuids, 3);
	assert_int_equal(policy_account_uid(&f->policy, 165536), 1000);
	assert_int_equal(policy_account_uid(&f->policy, 231071), 1000);
	assert_int_equal(policy_account_uid(&f->policy, 231072), 231072);
	assert_int_equal(policy_account_uid(&f->policy, 500000), 1001);
	assert_int_equal(policy_account_uid(&f->policy, 500001), 500001);
	assert_int_equal(policy_account_uid(&f->policy, 100005), 100005);
	assert_int_equal(policy_account_uid(&f->policy, 1000), 1000);
	assert_int_equal(policy_account_uid(&f->policy, 7), 7);
	unlink(path);
	snprintf(path, sizeof(path), "%s/no-such-subuid", f->dir);
	assert_int_equal(policy_load_subuids(path, &f->policy), 0);
	assert_int_equal(f->policy.n_subuids, 0);
}

/* The limits must fit RLIMIT_NOFILE: (connections + admin-connections + 16) x 20 + 1024. */
static void limits_must_fit_the_fd_limit(void **state) {
	Fixture *f = *state;

	assert_int_equal(load(f), 0);
	assert_int_equal(policy_fds_needed(&f->policy.limits), (256 + 8 + 16) * 20 + 1024);
	assert_int_equal(policy_check_fd_limit(&f->policy, 1024, &f->error), -EINVAL);
	assert_non_null(strstr(f->error.reason, "need 6624 file descriptors"));
	assert_int_equal(policy_check_fd_limit(&f->policy, 6624, &f->error), 0);
	load_main(f, "limit connections 10\nlimit admin-connections 2\n");
	assert_int_equal(policy_check_fd_limit(&f->policy, 1024 + 28 * 20, &f->error), 0);
	assert_int_equal(policy_check_fd_limit(&f->policy, 1024 + 28 * 20 - 1, &f->error), -EINVAL);
}

/* An admin may pass "connections" by admin-connections; nobody passes that. */
static void admins_pass_connections_by_the_reserve(void **state) {
	Fixture *f = *state;
	unsigned value = 0;

	load_main(f, "limit connections 10\nlimit admin-connections 2\n");
	assert_string_equal(policy_connection_limit(&f->policy, 10, 0, false, &value),
	                    POLICY_LIMIT_CONNECTIONS);
	assert_null(policy_connection_limit(&f->policy, 11, 0, true, &value));
	assert_string_equal(policy_connection_limit(&f->policy, 12, 0, true, &value),
	                    POLICY_LIMIT_CONNECTIONS);
	assert_int_equal(value, 10);
}

static void only_regular_files_are_read(void **state) {
	Fixture *f = *state;
	char path[256];

	write_main(f, "admin user:1000\n");
	assert_int_equal(mkdir(f->dropins, 0755), 0);
	snprintf(path, sizeof(path), "%s/10-fifo.conf", f->dropins);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* A FIFO would block a reader that opened it for reading. */
	check_bad(f, path, 0, "not a regular file");
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/20-dir.conf", f->dropins);
	assert_int_equal(mkdir(path, 0755), 0);
	check_bad(f, path, 0, "not a regular file");
}

/* Every authorization decision of the daemon, as a table of caller x object -> verdict under
 * one policy: who may attach, open, detach, see an attachment, hear an event, bind. */
typedef enum Decision {
	ATTACH,      /* policy_allows_group() of the device's group, here the device alone */
	OPEN,        /* policy_may_open_device() */
	DETACH,      /* policy_may_detach() */
	SEE,         /* policy_may_see_attachment() */
	HEAR,        /* policy_may_hear_event() of an event about the attachment */
	HEAR_DRIVER, /* policy_may_hear_event() of an event about no attachment (Bind) */
	BIND,        /* an admin (the table's METHOD_ADMIN) and an assignable device */
} Decision;

typedef struct VerdictRow {
	const char *name;
	Decision decision;
	Caller caller;
	PolicyOwner owner;   /* the attachment's owner */
	const char *address; /* the device (ATTACH, BIND) */
	int expected;        /* bool, or a PolicyDetach */
} VerdictRow;

/* clang-format off */
#define ROOT        { .pid = 10, .uid = 0, .gid = 0 }
#define ADMIN       { .pid = 11, .uid = 1002, .gid = 1002 }
#define OWNER       { .pid = 500, .uid = 1000, .gid = 1000 }
#define OWNER_OTHER { .pid = 501, .uid = 1000, .gid = 1000 } /* the owner's user, another process */
#define STRANGER    { .pid = 12, .uid = 1001, .gid = 1001 }
#define MEMBER      { .pid = 13, .uid = 1003, .gid = 2000 } /* primary group vmmers */
#define OWNED       { .pid = 500, .uid = 1000 }
#define OWNED_GONE  { .pid = 500, .uid = 1000, .exited = true }
/* clang-format on */

static const VerdictRow verdicts[] = {
	{ "root attaches anything", ATTACH, ROOT, {}, "0000:05:00.0", true },
	{ "an admin attaches anything", ATTACH, ADMIN, {}, "0000:05:00.0", true },
	{ "a user attaches its device", ATTACH, OWNER, {}, "0000:01:00.0", true },
	{ "a user does not attach another device", ATTACH, OWNER, {}, "0000:05:00.0", false },
	{ "a group member attaches by id", ATTACH, MEMBER, {}, "0000:02:00.0", true },
	{ "a stranger attaches nothing", ATTACH, STRANGER, {}, "0000:01:00.0", false },

	{ "the attaching process opens", OPEN, OWNER, OWNED, NULL, true },
	{ "the owner's other process does not open", OPEN, OWNER_OTHER, OWNED, NULL, false },
	{ "an exited owner's pid does not open", OPEN, OWNER, OWNED_GONE, NULL, false },
	{ "root does not open another's device", OPEN, ROOT, OWNED, NULL, false },
	{ "a stranger does not open", OPEN, STRANGER, OWNED, NULL, false },

	{ "the owner detaches on request", DETACH, OWNER, OWNED, NULL, POLICY_DETACH_AS_OWNER },
	{ "the owner's other process detaches", DETACH, OWNER_OTHER, OWNED, NULL, POLICY_DETACH_AS_OWNER },
	{ "an admin detaches as admin", DETACH, ADMIN, OWNED, NULL, POLICY_DETACH_AS_ADMIN },
	{ "root detaches as admin", DETACH, ROOT, OWNED, NULL, POLICY_DETACH_AS_ADMIN },
	{ "a stranger does not detach", DETACH, STRANGER, OWNED, NULL, POLICY_DETACH_DENIED },
	{ "a group member does not detach", DETACH, MEMBER, OWNED, NULL, POLICY_DETACH_DENIED },

	{ "the owner sees its attachment", SEE, OWNER, OWNED, NULL, true },
	{ "an admin sees every attachment", SEE, ADMIN, OWNED, NULL, true },
	{ "a stranger does not see it", SEE, STRANGER, OWNED, NULL, false },
	{ "the owner hears of its attachment", HEAR, OWNER_OTHER, OWNED, NULL, true },
	{ "an admin hears of every attachment", HEAR, ADMIN, OWNED, NULL, true },
	{ "a stranger does not hear of it", HEAR, STRANGER, OWNED, NULL, false },
	{ "an admin hears of a bind", HEAR_DRIVER, ADMIN, {}, NULL, true },
	{ "a user does not hear of a bind", HEAR_DRIVER, OWNER, {}, NULL, false },

	{ "root binds an assignable device", BIND, ROOT, {}, "0000:01:00.0", true },
	{ "an admin binds an assignable device", BIND, ADMIN, {}, "0000:01:00.0", true },
	{ "no one binds a device not named assignable", BIND, ROOT, {}, "0000:05:00.0", false },
	{ "a user allowed the device does not bind it", BIND, OWNER, {}, "0000:01:00.0", false },
};

static int decide(const Policy *p, const VerdictRow *row) {
	SysfsDevice d = {};

	/* The devices on bus 02 are 8086:10d3 (the id rule's), the others 10de:10d3. */
	if (row->address)
		d = device(row->address, 5, row->address[6] == '2' ? 0x8086 : 0x10de, 0x10d3);
	switch (row->decision) {
	case ATTACH:
		return policy_allows_group(p, &row->caller, &d, 1);
	case OPEN:
		return policy_may_open_device(&row->caller, &row->owner);
	case DETACH:
		return (int) policy_may_detach(p, &row->caller, &row->owner);
	case SEE:
		return policy_may_see_attachment(p, &row->caller, &row->owner);
	case HEAR:
		return policy_may_hear_event(p, &row->caller, &row->owner);
	case HEAR_DRIVER:
		return policy_may_hear_event(p, &row->caller, NULL);
	case BIND:
		return policy_is_admin(p, &row->caller) && policy_is_assignable(p, &d);
	}
	return -1;
}

static void verdict_table(void **state) {
	Fixture *f = *state;

	load_main(f, "admin user:1002\n"
	             "allow user:1000 device:0000:01:00.0\n"
	             "allow group:2000 id:8086:10d3\n"
	             "assignable device:0000:01:00.0\n");
	for (size_t i = 0; i < ELEMENTSOF(verdicts); i++) {
		int verdict = decide(&f->policy, &verdicts[i]);
		if (verdict != verdicts[i].expected)
			fail_msg("%s: verdict %d, expected %d", verdicts[i].name, verdict,
			         verdicts[i].expected);
	}
}

/* ListDevices: a user sees a group's devices only when it may attach the whole group; a
 * device without a group only an admin sees. */
static void device_listing_filtered_by_group(void **state) {
	Fixture *f = *state;
	SysfsDevice listing[] = {
		device("0000:01:00.0", 5, 0x10de, 1), /* group 5: allowed */
		device("0000:01:00.1", 5, 0x10de, 2), /* group 5: allowed */
		device("0000:02:00.0", 6, 0x10de, 3), /* group 6: one of two allowed */
		device("0000:02:00.1", 6, 0x10de, 4), device("0000:03:00.0", -1, 0x10de, 5), /* no group */
	};
	bool allowed[ELEMENTSOF(listing)];
	Caller user = caller(1000, 1000), admin = caller(1002, 1002);

	load_main(f, "admin user:1002\n"
	             "allow user:1000 iommu-group:5\n"
	             "allow user:1000 device:0000:02:00.0\n"
	             "allow user:1000 device:0000:03:00.0\n");
	policy_filter_devices(&f->policy, &user, listing, ELEMENTSOF(listing), allowed);
	assert_true(allowed[0] && allowed[1]);
	assert_false(allowed[2] || allowed[3]);
	assert_false(allowed[4]);
	policy_filter_devices(&f->policy, &admin, listing, ELEMENTSOF(listing), allowed);
	for (size_t i = 0; i < ELEMENTSOF(listing); i++)
		assert_true(allowed[i]);
}

/* The limits as verdicts: the value in force comes back with the name of the limit passed. */
static void limit_verdicts(void **state) {
	Fixture *f = *state;
	unsigned value = 0;

	load_main(f, "limit attachments-per-user 2\nlimit connections 10\nlimit connections-per-user 3\n");
	assert_null(policy_attachment_limit(&f->policy, 1, &value));
	assert_string_equal(policy_attachment_limit(&f->policy, 2, &value),
	                    POLICY_LIMIT_ATTACHMENTS_PER_USER);
	assert_int_equal(value, 2);
	assert_null(policy_connection_limit(&f->policy, 9, 2, false, &value));
	assert_string_equal(policy_connection_limit(&f->policy, 9, 3, false, &value),
	                    POLICY_LIMIT_CONNECTIONS_PER_USER);
	assert_int_equal(value, 3);
	assert_string_equal(policy_connection_limit(&f->policy, 10, 0, false, &value),
	                    POLICY_LIMIT_CONNECTIONS);
	assert_int_equal(value, 10);
}

/* The daemon's configuration: FILE, then FILE.d, as vfiod and vfiod --check-policy read it. */
static void config_reads_its_dropins(void **state) {
	Fixture *f = *state;

	write_main(f, "allow user:1000 any\n");
	write_dropin(f, "10-a.conf", "admin user:1001\n");
	assert_int_equal(policy_load_config(f->path, &f->policy, &f->error), 0);
	assert_int_equal(f->policy.n_rules, 2);
	assert_int_equal(f->policy.rules[1].kind, RULE_ADMIN);
	write_dropin(f, "20-b.conf", "admin nobody:1\n");
	assert_int_equal(policy_load_config(f->path, &f->policy, &f->error), -EINVAL);
	assert_int_equal(f->error.line, 1);
	assert_int_equal(f->policy.n_rules, 2);
}

static void config_path_too_long_fails(void **state) {
	Fixture *f = *state;
	char path[PATH_MAX];

	memset(path, 'a', sizeof(path) - 2);
	path[sizeof(path) - 2] = '\0';
	assert_int_equal(policy_load_config(path, &f->policy, &f->error), -ENAMETOOLONG);
	assert_int_equal(strncmp(f->error.path, "aaaa", 4), 0);
}

/* What vfiod logs and vfiod --check-policy prints for a failed load. */
static void errors_name_file_line_and_reason(void **state) {
	static const struct {
		PolicyError error;
		int r;
		const char *text;
	} cases[] = {
		{ { "/etc/vfiod/vfiod.conf", 4, "bad device" },
		  -EINVAL,
		  "/etc/vfiod/vfiod.conf:4: bad device" },
		{ { "/etc/x.conf.d/1.conf", 0, "not a regular file" },
		  -EINVAL,
		  "/etc/x.conf.d/1.conf: not a regular file" },
		{ { "/etc/x.conf", 0, "" }, -EACCES, "/etc/x.conf: Permission denied" },
	};
	char text[POLICY_ERROR_TEXT_MAX];

	(void) state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		policy_error_format(&cases[i].error, cases[i].r, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
	/* Cut at the buffer, never beyond. */
	policy_error_format(&cases[0].error, cases[0].r, text, 8);
	assert_string_equal(text, "/etc/vf");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		T(missing_files_leave_only_root),
		T(missing_file_is_enoent),
		T(admin_by_user),
		T(admin_by_group),
		T(names_are_looked_up),
		T(allow_is_no_admin),
		T(allow_by_object),
		T(allow_by_group),
		T(allow_by_one_of_many_groups),
		T(group_needs_every_member),
		T(empty_group_is_refused),
		T(bridges_need_no_rule),
		T(group_of_bridges_is_refused),
		T(group_with_unknown_members_is_refused),
		T(bridge_on_vfio_pci_needs_a_rule),
		T(ports_and_stubbed_devices_need_no_rule),
		T(comments_and_blank_lines_pass),
		T(bad_lines_fail_with_their_line),
		T(long_line_fails),
		T(nul_byte_fails),
		T(too_many_rules_fail),
		T(dropins_load_in_name_order),
		T(dropins_without_main_file),
		T(untrusted_files_are_refused),
		T(reload_replaces_rules),
		T(bad_dropin_keeps_policy),
		T(bad_main_file_keeps_policy),
		T(dropin_dir_not_a_directory_fails),
		T(policy_done_frees),
		T(trailing_comments_and_upper_case_ids),
		T(memlock_takes_the_largest),
		T(assignable_names_devices),
		T(limits_default_and_override),
		T(subuids_count_as_their_owner),
		T(admins_pass_connections_by_the_reserve),
		T(limits_must_fit_the_fd_limit),
		T(only_regular_files_are_read),
		T(verdict_table),
		T(device_listing_filtered_by_group),
		T(limit_verdicts),
		T(config_reads_its_dropins),
		T(config_path_too_long_fails),
		cmocka_unit_test(errors_name_file_line_and_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
