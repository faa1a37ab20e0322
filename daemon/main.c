/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiod: hands unprivileged VMMs ready VFIO fds. main() parses arguments and runs a manager. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "manager.h"
#include "policy.h"
#include "protocol.h"

typedef struct Options {
	const char *socket_path;
	const char *sysfs_path;
	const char *config_path;
	const char *check_policy_path; /* --check-policy: check this file and exit */
} Options;

static void usage(FILE *f) {
	fprintf(f,
	        "Usage: vfiod [OPTIONS]\n"
	        "       vfiod --check-policy=FILE\n"
	        "Broker VFIO devices to unprivileged VMMs over Varlink.\n\n"
	        "  -s, --socket=PATH  listen on PATH when not socket-activated (default %s)\n"
	        "  -c, --config=FILE  policy file (default %s, drop-ins in FILE.d/)\n"
	        "      --sysfs=DIR    read devices from DIR instead of /sys (tests)\n"
	        "      --check-policy=FILE\n"
	        "                     check FILE and FILE.d/ as the daemon reads them, and exit\n"
	        "  -d, --debug        log debug messages\n"
	        "  -h, --help         show this help\n"
	        "  -V, --version      show the version\n",
	        VFIOD_SOCKET_PATH, POLICY_PATH);
}

/* Returns 1 to run, 0 to exit successfully (help, version), -EINVAL on bad arguments. */
static int parse_arguments(int argc, char *argv[], Options *o) {
	enum { ARG_SYSFS = 0x100, ARG_CHECK_POLICY };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "sysfs", required_argument, NULL, ARG_SYSFS },
		{ "check-policy", required_argument, NULL, ARG_CHECK_POLICY },
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:c:dhV", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o->socket_path = optarg;
			break;
		case ARG_SYSFS:
			o->sysfs_path = optarg;
			break;
		case ARG_CHECK_POLICY:
			o->check_policy_path = optarg;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'd':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("vfiod " VFIOD_VERSION);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

/* --check-policy: the policy at path and its drop-ins, parsed as the daemon parses them,
 * without a socket, a manager or any privilege. Prints "PATH: valid, N rule(s)" on stdout,
 * or what is wrong (file, line, reason) on stderr, unprefixed: vfioctl check-policy repeats
 * it under its own name. Unlike the daemon, a missing file is an error: it was named. */
static int check_policy(const char *path) {
	_cleanup_(policy_done) Policy policy = {};
	PolicyError error = {};
	char why[POLICY_ERROR_TEXT_MAX];
	int r;

	if (access(path, F_OK) < 0) {
		r = -errno;
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return r;
	}
	r = policy_load_config(path, &policy, &error);
	if (r < 0) {
		policy_error_format(&error, r, why, sizeof(why));
		fprintf(stderr, "%s\n", why);
		return r;
	}
	printf("%s: valid, %zu rule(s)\n", path, policy.n_rules);
	return 0;
}

/* The daemon: sets up a manager, drops privileges and serves until SIGTERM. Returns 0 or
 * -errno (logged). */
static int run(const Options *o) {
	_cleanup_(manager_freep) Manager *m = NULL;
	int r;

	r = manager_raise_fd_limit();
	if (r < 0)
		return r;
	r = manager_new(&m);
	if (r < 0)
		return log_error_errno(r, "Failed to set up: %m");
	r = manager_load_policy(m, o->config_path);
	if (r < 0)
		return r;
	r = manager_open_sysfs(m, o->sysfs_path);
	if (r < 0)
		return r;
	r = manager_listen(m, o->socket_path);
	if (r < 0)
		return r;
	r = caps_drop();
	if (r < 0)
		return r;
	return manager_run(m);
}

int main(int argc, char *argv[]) {
	Options o = { .socket_path = VFIOD_SOCKET_PATH, .sysfs_path = "/sys", .config_path = POLICY_PATH };
	int r;

	r = parse_arguments(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (o.check_policy_path)
		r = check_policy(o.check_policy_path);
	else
		r = run(&o);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
