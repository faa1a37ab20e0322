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

#include "idl.h"
#include "launch.h"
#include "libvfiod.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"
#include "reply.h"

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
	           "  bind [--force] [--driver NAME] ADDRESS\n"
	           "              hand an assignable device to vfio-pci (admins); --force even\n"
	           "              one the host visibly uses (boot VGA, mounted disk, interface up);\n"
	           "              --driver a vfio-pci variant driver instead (mlx5_vfio_pci, ...)\n"
	           "  unbind ADDRESS\n"
	           "              give an assignable device back to its host driver (admins)\n"
	           "  monitor     print attach, detach, bind and unbind events as they happen\n"
	           "  exec [--device ADDRESS]... -- VMM [ARGUMENTS]...\n"
	           "              attach each device in the cdev mode and run VMM in this process\n"
	           "              with their fds, named in ARGUMENTS by {iommufd} and {ADDRESS}\n"
	           "  check-policy FILE\n"
	           "              validate a vfiod.conf(5) and its drop-ins, offline\n\n"
	           "Options:\n"
	           "  -s, --socket=PATH  talk to the daemon at PATH (default $VFIOD_SOCKET "
	           "or " VFIOD_SOCKET_PATH ")\n"
	           "  -j, --json         print the daemon's reply as JSON\n"
	           "  -h, --help         show this help\n"
	           "  -V, --version      show the version\n");
}

/* ---- Replies, decoded as the interfaces declare them (IDL_PARAMS, idl.h; the io.vfiod types
 * through reply.h): the names, types and optionality of their fields come from the .varlink files,
 * and each field has a line below with the member it is decoded into. ---- */

typedef struct InfoReply {
	const char *vendor, *product, *version, *url;
	json_object *interfaces;
} InfoReply;
#define INFO_vendor     InfoReply, vendor
#define INFO_product    InfoReply, product
#define INFO_version    InfoReply, version
#define INFO_url        InfoReply, url
#define INFO_interfaces InfoReply, interfaces
static const ParamSpec info_reply[] = { IDL_PARAMS(IDL_OUT_org_varlink_service_GetInfo, INFO) };

/* The one member of the replies of ListDevices and ListAttachments (an array), and of Bind and
 * Unbind (a Device). */
typedef struct OneReply {
	json_object *value;
} OneReply;
#define DEVICES_devices         OneReply, value
#define ATTACHMENTS_attachments OneReply, value
#define BIND_device             OneReply, value
#define UNBIND_device           OneReply, value
static const ParamSpec devices_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_ListDevices, DEVICES) };
static const ParamSpec attachments_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_ListAttachments, ATTACHMENTS) };
static const ParamSpec bind_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_Bind, BIND) };
static const ParamSpec unbind_reply[] = { IDL_PARAMS(IDL_OUT_io_vfiod_Unbind, UNBIND) };

/* Says that what the daemon sent is not as the interface declares it; returns -EBADMSG. */
static int not_as_declared(const char *what, const char *bad) {
	fprintf(stderr, "vfioctl: %s from the daemon: '%s' is missing or not as declared\n", what, bad);
	return -EBADMSG;
}

/* Decodes reply, a reply of method, following the n rows of spec into ret. */
static int decode_reply(json_object *reply, const char *method, const ParamSpec *spec, size_t n, void *ret) {
	const char *bad = NULL;

	return reply_decode(reply, spec, n, ret, &bad) < 0 ? not_as_declared(method, bad) : 0;
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
	InfoReply info = {};
	int r;

	r = call_simple(client, VARLINK_METHOD_GET_INFO, NULL, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	r = decode_reply(reply, VARLINK_METHOD_GET_INFO, info_reply, ELEMENTSOF(info_reply), &info);
	if (r < 0)
		return r;
	printf("Vendor:     %s\n", info.vendor);
	printf("Product:    %s\n", info.product);
	printf("Version:    %s\n", info.version);
	printf("URL:        %s\n", info.url);
	for (size_t i = 0; i < json_object_array_length(info.interfaces); i++)
		printf("%s %s\n", i == 0 ? "Interfaces:" : "           ",
		       json_object_get_string(json_object_array_get_idx(info.interfaces, i)));
	return 0;
}

static int print_device(json_object *o) {
	ReplyDevice d = { .driver = "-", .attachment = -1 };
	char id[16], attachment[24] = "-";
	const char *bad = NULL;

	if (reply_decode_device(o, &d, &bad) < 0)
		return not_as_declared("a Device", bad);
	(void) snprintf(id, sizeof(id), "%s:%s", d.vendor, d.device);
	if (d.attachment >= 0)
		(void) snprintf(attachment, sizeof(attachment), "%" PRId64, d.attachment);
	printf("%-13s %5" PRId64 " %-9s %-12s %-6s %s\n", d.address, d.group, id, d.driver,
	       d.viable ? "yes" : "no", attachment);
	return 0;
}

/* A listing: calls method, and prints the array its reply holds (decoded following the n_reply
 * rows of reply) as a table (header, one row per element) or the whole reply as JSON. */
typedef struct Listing {
	const char *method;
	const ParamSpec *reply;
	size_t n_reply;
	void (*print_header)(void);
	int (*print_row)(json_object *row);
} Listing;

static int print_listing(vfiod_client *client, const Options *o, const Listing *l) {
	_cleanup_json_ json_object *reply = NULL;
	OneReply rows = {};
	int r;

	r = call_simple(client, l->method, NULL, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	r = decode_reply(reply, l->method, l->reply, l->n_reply, &rows);
	if (r < 0)
		return r;
	l->print_header();
	for (size_t i = 0; r >= 0 && i < json_object_array_length(rows.value); i++)
		r = l->print_row(json_object_array_get_idx(rows.value, i));
	return r;
}

static void print_device_header(void) {
	printf("%-13s %5s %-9s %-12s %-6s %s\n", "ADDRESS", "GROUP", "ID", "DRIVER", "VIABLE", "ATTACHMENT");
}

static int command_devices(vfiod_client *client, const Options *o, int argc _unused_,
                           char *argv[] _unused_) {
	static const Listing listing = { VFIOD_METHOD_LIST_DEVICES, devices_reply, ELEMENTSOF(devices_reply),
		                         print_device_header, print_device };
	return print_listing(client, o, &listing);
}

static int print_attachment(json_object *o) {
	ReplyAttachment a = { .mode = "group" };
	const char *bad = NULL;

	if (reply_decode_attachment(o, &a, &bad) < 0)
		return not_as_declared("an Attachment", bad);
	printf("%5" PRId64 " %-13s %5" PRId64 " %4" PRId64 " %7" PRId64 " %6" PRId64 " %-20s %-11s %s\n",
	       a.id, a.address, a.group, a.vm, a.pid, a.uid, a.since, a.device_open ? "yes" : "no", a.mode);
	return 0;
}

static void print_attachment_header(void) {
	printf("%5s %-13s %5s %4s %7s %6s %-20s %-11s %s\n", "ID", "ADDRESS", "GROUP", "VM", "PID", "UID",
	       "SINCE", "DEVICE-OPEN", "MODE");
}

static int command_attachments(vfiod_client *client, const Options *o, int argc _unused_,
                               char *argv[] _unused_) {
	static const Listing listing = { VFIOD_METHOD_LIST_ATTACHMENTS, attachments_reply,
		                         ELEMENTSOF(attachments_reply), print_attachment_header,
		                         print_attachment };
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

/* What bind takes besides the address; unbind takes none of it. */
typedef struct BindOptions {
	bool force;
	const char *driver; /* NULL: the daemon's choice, vfio-pci */
} BindOptions;

/* bind's options before its address: --force, --driver NAME or --driver=NAME. Returns the
 * number of arguments they took, or -EINVAL. */
static int parse_bind_options(int argc, char *argv[], BindOptions *ret) {
	int i = 0;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--force") == 0)
			ret->force = true;
		else if (strncmp(argv[i], "--driver=", 9) == 0)
			ret->driver = argv[i] + 9;
		else if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc)
			ret->driver = argv[++i];
		else {
			fprintf(stderr, "vfioctl: bind: unknown option or missing value: %s\n", argv[i]);
			return -EINVAL;
		}
	}
	return i;
}

/* The parameters of a bind or unbind of address: {"address"}, with bind's options. */
static json_object *driver_change_parameters(const char *address, const BindOptions *options) {
	_cleanup_json_ json_object *parameters = parameters_one("address", json_object_new_string(address));

	if (!parameters)
		return NULL;
	if (options->force && json_object_object_add(parameters, "force", json_object_new_boolean(1)) < 0)
		return NULL;
	if (options->driver &&
	    json_object_object_add(parameters, "driver", json_object_new_string(options->driver)) < 0)
		return NULL;
	return TAKE_PTR(parameters);
}

/* bind and unbind: method on one address; prints the device as the daemon left it (its reply
 * decoded following the n_reply rows of reply_spec). */
static int change_driver(vfiod_client *client, const Options *o, const char *method,
                         const ParamSpec *reply_spec, size_t n_reply, const BindOptions *options, int argc,
                         char *argv[]) {
	_cleanup_json_ json_object *reply = NULL;
	json_object *parameters;
	OneReply device = {};
	int r;

	if (argc != 1) {
		fprintf(stderr, "vfioctl: bind and unbind take one PCI address\n");
		return -EINVAL;
	}
	parameters = driver_change_parameters(argv[0], options);
	if (!parameters)
		return -ENOMEM;
	r = call_simple(client, method, parameters, &reply);
	if (r < 0)
		return r;
	if (o->json) {
		print_json(reply);
		return 0;
	}
	r = decode_reply(reply, method, reply_spec, n_reply, &device);
	if (r < 0)
		return r;
	print_device_header();
	return print_device(device.value);
}

static int command_bind(vfiod_client *client, const Options *o, int argc, char *argv[]) {
	BindOptions options = {};
	int n = parse_bind_options(argc, argv, &options);

	if (n < 0)
		return n;
	return change_driver(client, o, VFIOD_METHOD_BIND, bind_reply, ELEMENTSOF(bind_reply), &options,
	                     argc - n, argv + n);
}

static int command_unbind(vfiod_client *client, const Options *o, int argc, char *argv[]) {
	return change_driver(client, o, VFIOD_METHOD_UNBIND, unbind_reply, ELEMENTSOF(unbind_reply),
	                     &(BindOptions){}, argc, argv);
}

/* One line for an event: time, kind, attachment id (or "-"), address and mode (or "-"),
 * reason. */
static int print_event_line(json_object *event) {
	ReplyEvent e = { .reason = "" };
	ReplyAttachment a = { .mode = "group" };
	ReplyDevice d = {};
	char subject[64] = "-";
	const char *bad = NULL;

	if (reply_decode_event(event, &e, &bad) < 0 ||
	    (e.attachment && reply_decode_attachment(e.attachment, &a, &bad) < 0) ||
	    (e.device && reply_decode_device(e.device, &d, &bad) < 0))
		return not_as_declared("an Event", bad);
	if (e.attachment)
		(void) snprintf(subject, sizeof(subject), "%" PRId64 " %s", a.id, a.address);
	else if (e.device)
		(void) snprintf(subject, sizeof(subject), "- %s", d.address);
	printf("%s %-7s %s %s %s\n", e.time, e.kind, subject, e.attachment ? a.mode : "-", e.reason);
	return 0;
}

typedef struct Monitoring {
	const Options *options;
	bool complained; /* about an event: the failure is ours to report, not the connection's */
} Monitoring;

/* vfiod_monitor()'s callback: each event as a line, or as JSON. */
static int print_event(json_object *event, void *userdata) {
	Monitoring *m = userdata;

	if (m->options->json)
		puts(json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN |
		                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (print_event_line(event) < 0) {
		m->complained = true;
		return -EBADMSG;
	}
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int command_monitor(vfiod_client *client, const Options *o, int argc _unused_,
                           char *argv[] _unused_) {
	Monitoring m = { .options = o };
	int r = vfiod_monitor(client, print_event, &m);

	if (r < 0 && !m.complained)
		fprintf(stderr, "vfioctl: %s failed: %s\n", VFIOD_METHOD_MONITOR, vfiod_error_text(client));
	return r;
}

/* Connects to the daemon, or says why not. */
static int connect_daemon(const Options *o, vfiod_client **ret) {
	int r = vfiod_connect(o->socket_path, ret);

	if (r < 0)
		fprintf(stderr, "vfioctl: cannot connect to %s: %s\n",
		        o->socket_path ? o->socket_path : (getenv("VFIOD_SOCKET") ?: VFIOD_SOCKET_PATH),
		        strerror(-r));
	return r;
}

/* ---- exec: a launcher for VMMs that take pre-opened iommufd and cdev fds ---- */

typedef struct Exec {
	Launch launch;
	vfiod_vm vm;
	vfiod_device_attachment attachments[LAUNCH_MAX_DEVICES];
	char *const *vmm; /* the VMM's name and arguments as given, placeholders and all */
	size_t n_vmm;
	char **arguments; /* the same expanded: what the VMM runs with */
} Exec;

static void exec_done(Exec *e) {
	launch_free_arguments(e->arguments);
}

/* exec's options (argv starts with "exec"): each --device into the launch, then the VMM. */
static int exec_parse(int argc, char *argv[], Exec *e) {
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{},
	};
	int c, r;

	optind = 0; /* GNU getopt: start afresh, on exec's arguments */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:", options, NULL)) >= 0) {
		if (c != 'd') {
			fprintf(stderr, "vfioctl: exec: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
		r = launch_add_device(&e->launch, optarg);
		if (r < 0) {
			fprintf(stderr, "vfioctl: exec: --device %s: %s\n", optarg,
			        r == -EEXIST  ? "named twice"
			        : r == -E2BIG ? "too many devices"
			                      : "not a PCI address (0000:01:00.0 or 01:00.0)");
			return r;
		}
	}
	if (e->launch.n_devices == 0 || optind >= argc) {
		fprintf(stderr, "vfioctl: exec needs at least one --device and a VMM: "
		                "exec --device ADDRESS... -- VMM [ARGUMENTS]...\n");
		return -EINVAL;
	}
	e->vmm = argv + optind;
	e->n_vmm = (size_t) (argc - optind);
	return 0;
}

/* The VMM's arguments with the launch's fds in place of their placeholders into e->arguments;
 * says which placeholder is bad. */
static int exec_expand(Exec *e) {
	const char *bad = NULL;
	size_t index = 0;
	int r;

	launch_free_arguments(TAKE_PTR(e->arguments));
	r = launch_expand_all(&e->launch, e->vmm, e->n_vmm, &e->arguments, &index, &bad);
	if (r == -EINVAL)
		fprintf(stderr,
		        "vfioctl: exec: argument '%s': '%s' is not {iommufd}, {ADDRESS} of a --device, "
		        "{{ or }}\n",
		        e->vmm[index], bad);
	else if (r < 0)
		fprintf(stderr, "vfioctl: exec: %s\n", strerror(-r));
	return r;
}

/* Detaches the first n attachments, the last first, and closes the VM's iommufd. */
static void exec_detach(vfiod_client *client, Exec *e, size_t n) {
	while (n-- > 0)
		if (vfiod_detach_device(client, &e->attachments[n], &e->vm) < 0)
			fprintf(stderr, "vfioctl: detaching %s: %s\n", e->attachments[n].address,
			        vfiod_error_text(client));
	vfiod_vm_close(&e->vm);
}

/* Attaches the devices in order to one VM, without the KVM step and without binding (the VMM
 * does both), and notes their fds in the launch. The first AttachDevice opens the VM's
 * iommufd; the rest pass it. On failure the devices attached are detached again. */
static int exec_attach(vfiod_client *client, Exec *e) {
	Launch *l = &e->launch;

	for (size_t i = 0; i < l->n_devices; i++) {
		const char *address = PCI_ADDRESS_TEXT(l->devices[i].address);
		int r = vfiod_attach_device(client, address, &e->vm, VFIOD_ATTACH_DEVICE_NO_BIND,
		                            &e->attachments[i]);
		if (r < 0) {
			fprintf(stderr, "vfioctl: %s of %s failed: %s\n", VFIOD_METHOD_ATTACH_DEVICE,
			        address, vfiod_error_text(client));
			exec_detach(client, e, i);
			return r;
		}
		l->devices[i].fd = e->attachments[i].device_fd;
	}
	l->iommufd = e->vm.iommufd;
	return 0;
}

/* Lets fd survive execve(). */
static int fd_inherit(int fd) {
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* The iommufd and the device fds, and no other, survive execve(). */
static int exec_inherit(const Launch *l) {
	int r = fd_inherit(l->iommufd);

	for (size_t i = 0; r >= 0 && i < l->n_devices; i++)
		r = fd_inherit(l->devices[i].fd);
	if (r < 0)
		fprintf(stderr, "vfioctl: exec: clearing FD_CLOEXEC: %s\n", strerror(-r));
	return r;
}

/* Attaches and expands the VMM's arguments with the fds. The connection is closed either way:
 * the socket is the one other fd opened here. */
static int exec_prepare(const Options *o, Exec *e) {
	vfiod_client *client = NULL;
	int r;

	r = connect_daemon(o, &client);
	if (r < 0)
		return r;
	r = exec_attach(client, e);
	if (r < 0) {
		vfiod_disconnect(client);
		return r;
	}
	r = exec_expand(e);
	if (r >= 0)
		r = exec_inherit(&e->launch);
	if (r < 0)
		exec_detach(client, e, e->launch.n_devices);
	vfiod_disconnect(client);
	return r;
}

/* Runs the VMM in this process, so that the attachments (owned by this pid) and the memlock
 * limit the daemon raised stay with it. Returns only on failure: env(1)'s exit statuses. */
static int exec_vmm(const Exec *e) {
	int error;

	execvp(e->arguments[0], e->arguments);
	error = errno;
	fprintf(stderr, "vfioctl: exec: cannot run %s: %s\n", e->arguments[0], strerror(error));
	return error == ENOENT ? 127 : 126;
}

/* vfioctl exec: returns an exit status when the VMM could not be started. Every placeholder is
 * checked before anything is attached. */
static int command_exec(const Options *o, int argc, char *argv[]) {
	_cleanup_(exec_done) Exec e = { .launch = LAUNCH_INIT, .vm = VFIOD_VM_INIT(-1) };
	int status;

	if (exec_parse(argc, argv, &e) < 0 || exec_expand(&e) < 0)
		return EXIT_FAILURE;
	if (exec_prepare(o, &e) < 0)
		return EXIT_FAILURE;
	status = exec_vmm(&e);
	/* Not run: the attachments end with this process, as with any VMM that exits. */
	for (size_t i = 0; i < e.launch.n_devices; i++)
		e.attachments[i].device_fd = safe_close(e.attachments[i].device_fd);
	vfiod_vm_close(&e.vm);
	return status;
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
	if (strcmp(argv[optind], "exec") == 0)
		return command_exec(&o, argc - optind, argv + optind);
	if (!func) {
		fprintf(stderr, "vfioctl: unknown command '%s' (see vfioctl --help)\n", argv[optind]);
		return EXIT_FAILURE;
	}
	if (connect_daemon(&o, &client) < 0)
		return EXIT_FAILURE;
	r = func(client, &o, argc - optind - 1, argv + optind + 1);
	vfiod_disconnect(client);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
