/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfioctl: inspect and manage vfiod from the command line, through libvfiod. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libvfiod.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"

/* The daemon check-policy runs, where `make install` puts it (the Makefile defines it). */
#ifndef VFIOD_BINARY_PATH
#error "VFIOD_BINARY_PATH must name the installed vfiod"
#endif

typedef struct Options {
	const char *socket_path;
	bool json;
} Options;

typedef int (*CommandFunc)(vfiod_client *client, const Options *o, int argc, char *argv[]);

static void usage(FILE *f) {
	fprintf(f, "Usage: vfioctl [OPTIONS] COMMAND\n"
	           "Inspect and manage vfiod, the VFIO device broker.\n\n"
	           "Commands:\n"
	           "  info        show the daemon's identity and interfaces\n"
	           "  devices     list PCI devices, their IOMMU groups and viability\n"
	           "  attachments list attachments (all of them for admins, your own otherwise)\n"
	           "  detach ID   end attachment ID (your own; any, for admins)\n"
	           "  bind ADDRESS\n"
	           "              hand an assignable device to vfio-pci (admins)\n"
	           "  unbind ADDRESS\n"
	           "              give an assignable device back to its host driver (admins)\n"
	           "  monitor     print attach, detach, bind and unbind events as they happen\n"
	           "  check-policy FILE\n"
	           "              validate a vfiod.conf(5) and its drop-ins, offline\n\n"
	           "Options:\n"
	           "  -s, --socket=PATH  talk to the daemon at PATH (default $VFIOD_SOCKET "
	           "or " VFIOD_SOCKET_PATH ")\n"
	           "  -j, --json         print the daemon's reply as JSON\n"
	           "  -h, --help         show this help\n"
	           "  -V, --version      show the version\n");
}

static const char *json_string_or(json_object *o, const char *key, const char *fallback) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return fallback;
	return json_object_get_string(v);
}

static int64_t json_int_or(json_object *o, const char *key, int64_t fallback) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return fallback;
	return json_object_get_int64(v);
}

static bool json_bool_or(json_object *o, const char *key, bool fallback) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
		return fallback;
	return json_object_get_boolean(v);
}

/* Calls method without parameters and fds; prints the daemon's error on failure. */
static int call_simple(vfiod_client *client, const char *method, json_object *parameters,
                       json_object **ret) {
	int r = vfiod_call(client, method, parameters, NULL, 0, ret, NULL, NULL);

	if (r < 0) {
		fprintf(stderr, "vfioctl: %s failed: %s\n", method, vfiod_error_text(client));
		return r;
	}
	if (!*ret)
		*ret = json_object_new_object();
	return *ret ? 0 : -ENOMEM;
}

static void print_json(json_object *o) {
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int command_info(vfiod_client *client, const Options *o, int argc _unused_, char *argv[] _unused_) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *interfaces = NULL;
	int r;

	r = call_simple(client, VARLINK_METHOD_GET_INFO, NULL, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	printf("Vendor:     %s\n", json_string_or(reply, "vendor", "?"));
	printf("Product:    %s\n", json_string_or(reply, "product", "?"));
	printf("Version:    %s\n", json_string_or(reply, "version", "?"));
	printf("URL:        %s\n", json_string_or(reply, "url", "?"));
	if (json_object_object_get_ex(reply, "interfaces", &interfaces) &&
	    json_object_is_type(interfaces, json_type_array))
		for (size_t i = 0; i < json_object_array_length(interfaces); i++)
			printf("%s %s\n", i == 0 ? "Interfaces:" : "           ",
			       json_object_get_string(json_object_array_get_idx(interfaces, i)));
	return 0;
}

static void print_device(json_object *d) {
	char id[16], attachment[24];
	json_object *a = NULL;

	(void) snprintf(id, sizeof(id), "%s:%s", json_string_or(d, "vendor", "?"),
	                json_string_or(d, "device", "?"));
	if (json_object_object_get_ex(d, "attachment", &a) && json_object_is_type(a, json_type_int))
		(void) snprintf(attachment, sizeof(attachment), "%" PRId64, json_object_get_int64(a));
	else
		strcpy(attachment, "-");
	printf("%-13s %5" PRId64 " %-9s %-12s %-6s %s\n", json_string_or(d, "address", "?"),
	       json_int_or(d, "group", -1), id, json_string_or(d, "driver", "-"),
	       json_bool_or(d, "viable", false) ? "yes" : "no", attachment);
}

/* A listing: calls method, and prints the array under key as a table (header, one row per
 * element) or the whole reply as JSON. */
typedef struct Listing {
	const char *method;
	const char *key;
	void (*print_header)(void);
	void (*print_row)(json_object *row);
} Listing;

static int print_listing(vfiod_client *client, const Options *o, const Listing *l) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *rows = NULL;
	int r;

	r = call_simple(client, l->method, NULL, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	if (!json_object_object_get_ex(reply, l->key, &rows) ||
	    !json_object_is_type(rows, json_type_array)) {
		fprintf(stderr, "vfioctl: reply of %s has no %s array\n", l->method, l->key);
		return -EBADMSG;
	}
	l->print_header();
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		l->print_row(json_object_array_get_idx(rows, i));
	return 0;
}

static void print_device_header(void) {
	printf("%-13s %5s %-9s %-12s %-6s %s\n", "ADDRESS", "GROUP", "ID", "DRIVER", "VIABLE", "ATTACHMENT");
}

static int command_devices(vfiod_client *client, const Options *o, int argc _unused_,
                           char *argv[] _unused_) {
	static const Listing listing = { VFIOD_METHOD_LIST_DEVICES, "devices", print_device_header,
		                         print_device };
	return print_listing(client, o, &listing);
}

static void print_attachment(json_object *a) {
	printf("%5" PRId64 " %-13s %5" PRId64 " %4" PRId64 " %7" PRId64 " %6" PRId64 " %-20s %s\n",
	       json_int_or(a, "id", -1), json_string_or(a, "address", "?"), json_int_or(a, "group", -1),
	       json_int_or(a, "vm", -1), json_int_or(a, "pid", -1), json_int_or(a, "uid", -1),
	       json_string_or(a, "since", "?"), json_bool_or(a, "deviceOpen", false) ? "yes" : "no");
}

static void print_attachment_header(void) {
	printf("%5s %-13s %5s %4s %7s %6s %-20s %s\n", "ID", "ADDRESS", "GROUP", "VM", "PID", "UID", "SINCE",
	       "DEVICE-OPEN");
}

static int command_attachments(vfiod_client *client, const Options *o, int argc _unused_,
                               char *argv[] _unused_) {
	static const Listing listing = { VFIOD_METHOD_LIST_ATTACHMENTS, "attachments",
		                         print_attachment_header, print_attachment };
	return print_listing(client, o, &listing);
}

/* Starts `vfiod --check-policy path`: binary when not NULL, else the installed vfiod, else
 * vfiod on PATH. Returns 0 and its pid, or -errno. */
static int spawn_vfiod(const char *binary, const posix_spawn_file_actions_t *actions, const char *path,
                       pid_t *ret_pid) {
	char *args[] = { (char *) "vfiod", (char *) "--check-policy", (char *) path, NULL };
	int r;

	if (binary)
		return -posix_spawn(ret_pid, binary, actions, NULL, args, environ);
	r = posix_spawn(ret_pid, VFIOD_BINARY_PATH, actions, NULL, args, environ);
	if (r == ENOENT)
		r = posix_spawnp(ret_pid, "vfiod", actions, NULL, args, environ);
	return -r;
}

/* Copies each line read from fd to stderr after "vfioctl: ". Takes fd. */
static void relay_errors(int fd) {
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	ssize_t n;
	FILE *f = fdopen(fd, "r");

	if (!f) {
		safe_close(fd);
		return;
	}
	while ((n = getline(&line, &size, f)) > 0)
		fprintf(stderr, "vfioctl: %s%s", line, line[n - 1] == '\n' ? "" : "\n");
	fclose(f);
}

/* Offline: the daemon's own parser on FILE and the *.conf files of FILE.d, run as
 * `vfiod --check-policy FILE` so that vfioctl links no daemon code. vfiod's verdict goes to
 * our stdout, its complaints to our stderr under our name. 0 when it found FILE valid,
 * -EINVAL when not, other -errno when it could not be run. */
static int check_policy(int argc, char *argv[]) {
	_cleanup_close_ int read_fd = -EBADF, write_fd = -EBADF;
	const char *binary = getenv("VFIOD_BINARY");
	posix_spawn_file_actions_t actions;
	int pipe_fds[2], status, r;
	pid_t pid;

	if (argc != 1) {
		fprintf(stderr, "vfioctl: check-policy takes one file\n");
		return -EINVAL;
	}
	if (binary && !*binary)
		binary = NULL;
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -errno;
	read_fd = pipe_fds[0];
	write_fd = pipe_fds[1];
	r = -posix_spawn_file_actions_init(&actions);
	if (r < 0)
		return r;
	r = -posix_spawn_file_actions_adddup2(&actions, write_fd, STDERR_FILENO);
	if (r == 0)
		r = spawn_vfiod(binary, &actions, argv[0], &pid);
	posix_spawn_file_actions_destroy(&actions);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot run %s: %s\n",
		        binary ?: VFIOD_BINARY_PATH " or vfiod on PATH", strerror(-r));
		return r;
	}
	write_fd = safe_close(write_fd);
	relay_errors(TAKE_FD(read_fd));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		fprintf(stderr, "vfioctl: vfiod --check-policy killed by signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
}

/* {key: value}, taking value; NULL on allocation failure. */
static json_object *parameters_one(const char *key, json_object *value) {
	json_object *p = json_object_new_object();

	if (!p || !value || json_object_object_add(p, key, value) < 0) {
		json_object_put(p);
		json_object_put(value);
		return NULL;
	}
	return p;
}

static int command_detach(vfiod_client *client, const Options *o _unused_, int argc, char *argv[]) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *parameters;
	char *end = NULL;
	long long id;

	if (argc != 1) {
		fprintf(stderr, "vfioctl: detach takes one attachment id\n");
		return -EINVAL;
	}
	errno = 0;
	id = strtoll(argv[0], &end, 10);
	if (errno != 0 || end == argv[0] || *end || id < 0) {
		fprintf(stderr, "vfioctl: not an attachment id: %s\n", argv[0]);
		return -EINVAL;
	}
	parameters = parameters_one("id", json_object_new_int64(id));
	if (!parameters)
		return -ENOMEM;
	return call_simple(client, VFIOD_METHOD_DETACH, parameters, &reply);
}

/* bind and unbind: method on one address; prints the device as the daemon left it. */
static int change_driver(vfiod_client *client, const Options *o, const char *method, int argc,
                         char *argv[]) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *parameters, *device = NULL;
	int r;

	if (argc != 1) {
		fprintf(stderr, "vfioctl: bind and unbind take one PCI address\n");
		return -EINVAL;
	}
	parameters = parameters_one("address", json_object_new_string(argv[0]));
	if (!parameters)
		return -ENOMEM;
	r = call_simple(client, method, parameters, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	if (!json_object_object_get_ex(reply, "device", &device) ||
	    !json_object_is_type(device, json_type_object)) {
		fprintf(stderr, "vfioctl: reply of %s has no device\n", method);
		return -EBADMSG;
	}
	print_device_header();
	print_device(device);
	return 0;
}

static int command_bind(vfiod_client *client, const Options *o, int argc, char *argv[]) {
	return change_driver(client, o, VFIOD_METHOD_BIND, argc, argv);
}

static int command_unbind(vfiod_client *client, const Options *o, int argc, char *argv[]) {
	return change_driver(client, o, VFIOD_METHOD_UNBIND, argc, argv);
}

/* One line per event: time, kind, attachment id (or "-") and address, reason. */
static int print_event(json_object *event, void *userdata) {
	const Options *o = userdata;
	json_object *a = NULL;
	char attachment[64] = "-";

	if (o->json) {
		puts(json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN |
		                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		if (json_object_object_get_ex(event, "attachment", &a) &&
		    json_object_is_type(a, json_type_object))
			(void) snprintf(attachment, sizeof(attachment), "%" PRId64 " %s",
			                json_int_or(a, "id", -1), json_string_or(a, "address", "?"));
		else if (json_object_object_get_ex(event, "device", &a) &&
		         json_object_is_type(a, json_type_object))
			(void) snprintf(attachment, sizeof(attachment), "- %s",
			                json_string_or(a, "address", "?"));
		printf("%s %-7s %s %s\n", json_string_or(event, "time", "?"),
		       json_string_or(event, "kind", "?"), attachment, json_string_or(event, "reason", ""));
	}
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int command_monitor(vfiod_client *client, const Options *o, int argc _unused_,
                           char *argv[] _unused_) {
	int r = vfiod_monitor(client, print_event, (void *) o);

	if (r < 0)
		fprintf(stderr, "vfioctl: %s failed: %s\n", VFIOD_METHOD_MONITOR, vfiod_error_text(client));
	return r;
}

static const struct {
	const char *name;
	CommandFunc func;
} commands[] = {
	{ "info", command_info },     { "devices", command_devices }, { "attachments", command_attachments },
	{ "detach", command_detach }, { "monitor", command_monitor }, { "bind", command_bind },
	{ "unbind", command_unbind },
};

static int parse_arguments(int argc, char *argv[], Options *o) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+s:jhV", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o->socket_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("vfioctl " VFIOD_VERSION);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 1;
}

int main(int argc, char *argv[]) {
	Options o = {};
	vfiod_client *client = NULL;
	CommandFunc func = NULL;
	int r;

	r = parse_arguments(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(commands[i].name, argv[optind]) == 0)
			func = commands[i].func;
	if (strcmp(argv[optind], "check-policy") == 0)
		return check_policy(argc - optind - 1, argv + optind + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (!func) {
		fprintf(stderr, "vfioctl: unknown command '%s' (see vfioctl --help)\n", argv[optind]);
		return EXIT_FAILURE;
	}
	r = vfiod_connect(o.socket_path, &client);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot connect to %s: %s\n",
		        o.socket_path ? o.socket_path : (getenv("VFIOD_SOCKET") ?: VFIOD_SOCKET_PATH),
		        strerror(-r));
		return EXIT_FAILURE;
	}
	r = func(client, &o, argc - optind - 1, argv + optind + 1);
	vfiod_disconnect(client);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
