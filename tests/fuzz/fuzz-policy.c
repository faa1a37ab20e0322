/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer harness for vfiod.conf(5): the input is a configuration as the daemon loads it
 * (policy_load_config()), the main file and up to two drop-ins separated by lines "%%", written
 * into a scratch directory. Whatever it says, a load must not crash, leak memory (LSan) or keep
 * an fd; a failed load leaves the caller's policy as it was and names a reason; a successful
 * one stays within POLICY_MAX_RULES and the limits' bounds, and every decision over it runs. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "log.h"
#include "policy.h"

#define SEPARATOR  "\n%%\n"
#define MAX_PIECES 3

static char directory[64];
static char main_path[128];
static const char *const dropins[MAX_PIECES - 1] = { "10-a.conf", "20-b.conf" };

static void write_file(const char *path, const uint8_t *data, size_t size) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
		abort();
	close(fd);
}

static void dropin_path(size_t i, char *buf, size_t size) {
	(void) snprintf(buf, size, "%s.d/%s", main_path, dropins[i]);
}

/* The scratch directory goes when the fuzzer exits normally (a crash leaves it to look at). */
static void remove_directory(void) {
	char path[256];

	for (size_t i = 0; i < MAX_PIECES - 1; i++) {
		dropin_path(i, path, sizeof(path));
		(void) unlink(path);
	}
	(void) snprintf(path, sizeof(path), "%s.d", main_path);
	(void) rmdir(path);
	(void) unlink(main_path);
	(void) rmdir(directory);
}

static void setup_once(void) {
	char dir[160];
	Policy p = {};
	PolicyError e = {};

	log_set_max_level(LOG_CRIT);
	strcpy(directory, "/tmp/vfiod-fuzz-policy-XXXXXX");
	if (!mkdtemp(directory))
		abort();
	(void) snprintf(main_path, sizeof(main_path), "%s/vfiod.conf", directory);
	(void) snprintf(dir, sizeof(dir), "%s.d", main_path);
	if (mkdir(dir, 0700) < 0 || atexit(remove_directory) != 0)
		abort();
	/* The first look-up of a user name may open what NSS keeps (nscd's socket): before any
	 * fd is counted. */
	write_file(main_path, (const uint8_t *) "admin user:root\n", 16);
	(void) policy_load_config(main_path, &p, &e);
	policy_done(&p);
}

/* Splits the input at SEPARATOR into the main file and the drop-ins; a drop-in the input does
 * not reach is removed. */
static void write_config(const uint8_t *data, size_t size) {
	const uint8_t *piece = data, *end = data + size;

	for (size_t i = 0; i < MAX_PIECES; i++) {
		char path[256];
		const uint8_t *next = NULL;

		if (piece)
			next = memmem(piece, (size_t) (end - piece), SEPARATOR, strlen(SEPARATOR));
		if (i == 0)
			(void) snprintf(path, sizeof(path), "%s", main_path);
		else
			dropin_path(i - 1, path, sizeof(path));
		if (!piece && unlink(path) < 0 && errno != ENOENT)
			abort();
		if (piece)
			write_file(path, piece,
			           (size_t) ((next && i + 1 < MAX_PIECES ? next : end) - piece));
		piece = next && i + 1 < MAX_PIECES ? next + strlen(SEPARATOR) : NULL;
	}
}

/* Every decision over a loaded policy, for a caller in a supplementary group and a group of
 * two devices. */
static void decide(const Policy *p) {
	static const gid_t groups[] = { 10, 1000 };
	Caller c = { .pid = 1, .uid = 1000, .gid = 1000, .groups = groups, .n_groups = 2 };
	SysfsDevice devices[2] = {
		{ .address = { 0, 1, 0, 0 }, .group = 5, .vendor = 0x8086, .device = 0x100e },
		{ .address = { 0, 1, 0, 1 }, .group = 5, .vendor = 0x10de, .device = 0x1b80 },
	};
	PolicyOwner owner = { .pid = 1, .uid = 1000 };
	bool allowed[2];
	unsigned value;

	(void) policy_is_admin(p, &c);
	(void) policy_allows_group(p, &c, devices, 2);
	(void) policy_memlock(p, &c);
	(void) policy_is_assignable(p, &devices[1]);
	policy_filter_devices(p, &c, devices, 2, allowed);
	(void) policy_may_detach(p, &c, &owner);
	(void) policy_may_hear_event(p, &c, NULL);
	(void) policy_attachment_limit(p, 64, &value);
	(void) policy_connection_limit(p, 256, 32, false, &value);
	(void) policy_connection_limit(p, 256, 32, true, &value);
}

static void check_limits(const PolicyLimits *l) {
	if (l->connections < 1 || l->connections > 65536 || l->connections_per_user < 1 ||
	    l->connections_per_user > 65536 || l->queued_replies < 1 || l->queued_replies > 65536 ||
	    l->attachments_per_user < 1 || l->attachments_per_user > 65536 || l->request_timeout_sec < 1 ||
	    l->request_timeout_sec > 3600)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	Policy p = {};
	PolicyError e = {};
	char text[POLICY_ERROR_TEXT_MAX];
	int before, r;

	if (!directory[0])
		setup_once();
	write_config(data, size);
	before = fuzz_count_fds();
	policy_limits_default(&p.limits);
	p.limits.connections = 7; /* a sentinel: a failed load leaves it */
	r = policy_load_config(main_path, &p, &e);
	if (r < 0) {
		if (p.rules || p.limits.connections != 7)
			abort();
		policy_error_format(&e, r, text, sizeof(text));
		if (strnlen(text, sizeof(text)) == sizeof(text) || text[0] == '\0')
			abort();
	} else {
		if (p.n_rules > POLICY_MAX_RULES || (p.n_rules > 0) != (p.rules != NULL))
			abort();
		check_limits(&p.limits);
		decide(&p);
	}
	policy_done(&p);
	if (fuzz_count_fds() != before)
		abort();
	return 0;
}
