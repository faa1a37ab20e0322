/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Figures from the real kernel, printed by `make bench`, never asserted: tests/vm/bench.sh runs
 * this inside the rig (tests/vm/run.sh --bench), as root, with vfiod running and the rig's
 * devices bound to vfio-pci.
 *   1. attach and detach through vfiod (an unprivileged VMM using libvfiod) against the same
 *      kernel steps issued in process by root, on the same device;
 *   2. ListAttachments latency on a connection of its own, the daemon idle and while a VMM
 *      attaches and detaches in a loop;
 *   3. two VMMs attaching devices of two IOMMU groups at the same time, against each alone;
 *   4. GetInfo latency from root while another user keeps its whole share of connections
 *      busy with pipelined ListDevices;
 *   5. figure 1 in the cdev mode (a kernel with /dev/iommu and the vfio cdev): AttachDevice
 *      and the bind to the iommufd through libvfiod against the same kernel steps by root.
 * Times are CLOCK_MONOTONIC; percentiles are nearest-rank. A failed check prints the
 * expression and errno and exits 1.
 *
 * As root, one figure each:
 *   bench-rig attach N ADDRESS...                        N cycles each way per device
 *   bench-rig attach-device N ADDRESS...                 the same in the cdev mode
 *   bench-rig list-attachments IDLE_S BUSY_S ADDRESS
 *   bench-rig concurrent SECONDS ADDRESS_A ADDRESS_B
 *   bench-rig getinfo IDLE_S BUSY_S CONNECTIONS DEPTH...   a busy run per DEPTH
 * Started by those through `runas 1000 1000`; each prints "READY", waits for "go" on stdin:
 *   bench-rig vmm N ADDRESS           N attach/detach cycles through libvfiod (0: until stdin
 *                                     is closed), then "attach NS" and "detach NS" per cycle
 *   bench-rig vmm-device N ADDRESS    the same in the cdev mode
 *   bench-rig flood CONNECTIONS DEPTH  CONNECTIONS connections (one more must be refused:
 *                                     the user's whole share), DEPTH ListDevices in flight on
 *                                     each until stdin is closed, then "calls N" */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/vm/rig.h"
#include "libvfiod.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"
#include "vfio-cdev.h" /* the iommufd and cdev ABI, KVM_DEV_VFIO_FILE*, that Linux 6.1 lacks */
#include "wire.h"

#define VMM_UID         "1000"
#define LIST_DEVICES    "{\"method\":\"" VFIOD_METHOD_LIST_DEVICES "\"}"
#define MAX_CONNECTIONS 1024
#define MAX_CONCURRENT  2

extern char **environ;

static char self_path[PATH_MAX];

/* ---- Samples ---- */

typedef struct Samples {
	uint64_t *ns;
	size_t n, allocated;
} Samples;

static uint64_t now_ns(void) {
	struct timespec ts;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void samples_add(Samples *s, uint64_t ns) {
	if (s->n == s->allocated) {
		size_t allocated = s->allocated ? 2 * s->allocated : 256;
		uint64_t *p = reallocarray(s->ns, allocated, sizeof(*p));
		CHECK(p);
		s->ns = p;
		s->allocated = allocated;
	}
	s->ns[s->n++] = ns;
}

/* Adds a[i] + b[i] for each i to ret: a cycle's two times, in the order they were added. */
static void samples_add_sums(Samples *ret, const Samples *a, const Samples *b) {
	CHECK_EQ(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		samples_add(ret, a->ns[i] + b->ns[i]);
}

static void samples_done(Samples *s) {
	free(s->ns);
	*s = (Samples){};
}

static int compare_ns(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank; 100 is the maximum), in milliseconds. */
static double samples_ms(Samples *s, unsigned p) {
	size_t rank;

	CHECK(s->n > 0);
	qsort(s->ns, s->n, sizeof(*s->ns), compare_ns);
	rank = (s->n * p + 99) / 100;
	return (double) s->ns[rank > 0 ? rank - 1 : 0] / 1e6;
}

static void print_header(const char *title, const char *what) {
	printf("\n== %s\n%s\n", title, what);
}

/* Latency tables: a row of n, p50, p99 and max in ms, and one of ratios to a baseline row. */
static void print_latency_title(const char *what) {
	printf("  %-36s %6s %9s %9s %9s  (ms)\n", what, "n", "p50", "p99", "max");
}

static void print_latency(const char *label, Samples *s) {
	printf("  %-36s %6zu %9.3f %9.3f %9.3f\n", label, s->n, samples_ms(s, 50), samples_ms(s, 99),
	       samples_ms(s, 100));
}

static void print_latency_ratio(const char *label, Samples *s, Samples *base) {
	printf("  %-36s %6s %8.1fx %8.1fx %8.1fx\n", label, "", samples_ms(s, 50) / samples_ms(base, 50),
	       samples_ms(s, 99) / samples_ms(base, 99), samples_ms(s, 100) / samples_ms(base, 100));
}

/* Attach/detach tables: p50, p90 and max of attach and detach, in ms, and ratios to a baseline. */
static const unsigned cycle_percentiles[] = { 50, 90, 100 };

static void print_cycle_title(const char *what) {
	printf("  %-30s %5s %10s %8s %8s %10s %8s %8s  (ms)\n", what, "n", "attach p50", "p90", "max",
	       "detach p50", "p90", "max");
}

static void print_cycle_columns(Samples *s, Samples *base) {
	for (size_t i = 0; i < ELEMENTSOF(cycle_percentiles); i++) {
		unsigned p = cycle_percentiles[i];
		int width = i == 0 ? 10 : 8;
		if (base)
			printf(" %*.2fx", width - 1, samples_ms(s, p) / samples_ms(base, p));
		else
			printf(" %*.2f", width, samples_ms(s, p));
	}
}

static void print_cycle(const char *device, const char *label, Samples *attach, Samples *detach) {
	printf("  %-12s %-17s %5zu", device, label, attach->n);
	print_cycle_columns(attach, NULL);
	print_cycle_columns(detach, NULL);
	putchar('\n');
}

/* A cycle's attach and detach together, vfiod's against the raw way's: what stays whole when a
 * way moves work from one to the other (vfiod's release of a cdev, which the next attach of
 * the device waits for). */
static void print_cycle_sums(const char *device, Samples *vfiod, Samples *raw) {
	printf("  %-12s %-23s p50 %.2f / %.2f ms = %.2fx, p90 %.2fx, max %.2fx (vfiod / raw)\n", device,
	       "attach + detach", samples_ms(vfiod, 50), samples_ms(raw, 50),
	       samples_ms(vfiod, 50) / samples_ms(raw, 50), samples_ms(vfiod, 90) / samples_ms(raw, 90),
	       samples_ms(vfiod, 100) / samples_ms(raw, 100));
}

static void print_cycle_ratio(const char *device, const char *label, Samples *attach, Samples *base_attach,
                              Samples *detach, Samples *base_detach) {
	printf("  %-12s %-17s %5s", device, label, "");
	print_cycle_columns(attach, base_attach);
	print_cycle_columns(detach, base_detach);
	putchar('\n');
}

/* ---- Small helpers ---- */

static unsigned parse_unsigned(const char *text) {
	char *end = NULL;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	CHECK(errno == 0 && end != text && *end == '\0' && value <= UINT_MAX);
	return (unsigned) value;
}

static void sleep_seconds(unsigned seconds) {
	struct timespec ts = { .tv_sec = seconds };
	int r;

	while ((r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)) == EINTR)
		;
	CHECK_EQ(r, 0);
}

/* The IOMMU group of a PCI device, from sysfs. */
static int group_of(const char *address) {
	char path[128], target[256], *slash;
	ssize_t n;

	CHECK((size_t) snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", address) <
	      sizeof(path));
	n = readlink(path, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n] = '\0';
	slash = strrchr(target, '/');
	CHECK(slash);
	return (int) parse_unsigned(slash + 1);
}

/* ---- The programs figures start as uid 1000: the parent's side ---- */

typedef struct Child {
	pid_t pid;
	int to_child;     /* its stdin: "go", then closed to stop it */
	FILE *from_child; /* its stdout */
} Child;

typedef struct ChildResult {
	Samples attach, detach;
	unsigned long long calls;
} ChildResult;

static void child_result_done(ChildResult *r) {
	samples_done(&r->attach);
	samples_done(&r->detach);
}

/* Starts `runas 1000 1000 bench-rig COMMAND ARG1 ARG2` and waits for its "READY". */
static void child_start(Child *c, const char *command, const char *arg1, const char *arg2) {
	char *argv[] = { "runas",          VMM_UID,       VMM_UID,       self_path,
		         (char *) command, (char *) arg1, (char *) arg2, NULL };
	posix_spawn_file_actions_t actions;
	int in[2], out[2];
	char line[64];

	CHECK(pipe2(in, O_CLOEXEC) == 0);
	CHECK(pipe2(out, O_CLOEXEC) == 0);
	CHECK_EQ(posix_spawn_file_actions_init(&actions), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO), 0);
	CHECK_EQ(posix_spawnp(&c->pid, "runas", &actions, NULL, argv, environ), 0);
	CHECK_EQ(posix_spawn_file_actions_destroy(&actions), 0);
	CHECK(close(in[0]) == 0);
	CHECK(close(out[1]) == 0);
	c->to_child = in[1];
	c->from_child = fdopen(out[0], "re");
	CHECK(c->from_child);
	CHECK(fgets(line, sizeof(line), c->from_child));
	CHECK(strcmp(line, "READY\n") == 0);
}

static void child_go(Child *c) {
	CHECK(write(c->to_child, "go\n", 3) == 3);
}

static void child_stop(Child *c) {
	if (c->to_child >= 0)
		CHECK(close(c->to_child) == 0);
	c->to_child = -EBADF;
}

/* Stops the child, reads what it printed into *ret and checks that it exited with 0. */
static void child_finish(Child *c, ChildResult *ret) {
	char line[128];
	unsigned long long value;
	int status;

	child_stop(c);
	while (fgets(line, sizeof(line), c->from_child)) {
		if (sscanf(line, "attach %llu", &value) == 1)
			samples_add(&ret->attach, value);
		else if (sscanf(line, "detach %llu", &value) == 1)
			samples_add(&ret->detach, value);
		else if (sscanf(line, "calls %llu", &value) == 1)
			ret->calls = value;
		else {
			fprintf(stderr, "bench-rig: unexpected line from a child: %s", line);
			exit(1);
		}
	}
	CHECK(!ferror(c->from_child));
	CHECK(fclose(c->from_child) == 0);
	CHECK(waitpid(c->pid, &status, 0) == c->pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs one VMM per address, all at once, each cycling for `seconds`. */
static void run_vmms(unsigned seconds, size_t n, char *const *addresses, ChildResult *results) {
	Child children[MAX_CONCURRENT];

	CHECK(n <= MAX_CONCURRENT);
	for (size_t i = 0; i < n; i++)
		child_start(&children[i], "vmm", "0", addresses[i]);
	for (size_t i = 0; i < n; i++)
		child_go(&children[i]);
	sleep_seconds(seconds);
	for (size_t i = 0; i < n; i++)
		child_stop(&children[i]);
	for (size_t i = 0; i < n; i++)
		child_finish(&children[i], &results[i]);
}

/* ---- The programs figures start as uid 1000: their side ---- */

static void child_ready(void) {
	char go[3];

	CHECK(printf("READY\n") > 0 && fflush(stdout) == 0);
	CHECK(read(STDIN_FILENO, go, sizeof(go)) == sizeof(go) && memcmp(go, "go\n", 3) == 0);
}

/* Whether the parent closed our stdin (or wrote more): time to stop. */
static bool child_told_to_stop(void) {
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	int r = poll(&p, 1, 0);

	CHECK(r >= 0);
	return r > 0;
}

/* One raw connection of the flood, read through the protocol's own reader. */
typedef struct FloodConnection {
	int fd;
	WireReader reader;
} FloodConnection;

static int connect_socket(void) {
	const char *path = getenv("VFIOD_SOCKET") ?: VFIOD_SOCKET_PATH;
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(strlen(path) < sizeof(address.sun_path));
	strcpy(address.sun_path, path);
	CHECK(connect(fd, (struct sockaddr *) &address, sizeof(address)) == 0);
	return fd;
}

static void send_calls(int fd, unsigned n) {
	for (unsigned i = 0; i < n; i++)
		CHECK(send(fd, LIST_DEVICES, sizeof(LIST_DEVICES), MSG_NOSIGNAL) == sizeof(LIST_DEVICES));
}

/* The reply is a success (expected_error NULL) or that Varlink error. Takes text. */
static void check_reply(char *text, size_t length, const char *expected_error) {
	VarlinkReply reply = {};

	CHECK(message_parse_reply(text, length, &reply) == 0);
	if (!expected_error && reply.error)
		fprintf(stderr, "bench-rig: ListDevices failed: %s\n", reply.error);
	CHECK(expected_error ? reply.error && strcmp(reply.error, expected_error) == 0 : !reply.error);
	varlink_reply_done(&reply);
	free(text);
}

/* Reads what is there on c; returns the number of whole replies, each checked. */
static unsigned flood_receive(FloodConnection *c, const char *expected_error) {
	int fds[PROTOCOL_MAX_FDS];
	size_t length, n_fds = 0;
	unsigned n = 0;
	char *text;
	int r = wire_reader_fill(&c->reader, c->fd);

	if (r == -EAGAIN)
		return 0;
	CHECK(r > 0);
	while ((r = wire_reader_next(&c->reader, &text, &length, fds, &n_fds)) == 1) {
		CHECK_EQ(n_fds, 0);
		check_reply(text, length, expected_error);
		n++;
	}
	CHECK_EQ(r, 0);
	return n;
}

/* Opens a connection and waits for the answer to a first call. A connection over a limit is
 * answered the limit's error at its first call, not before (doc/protocol.md). */
static void flood_open(FloodConnection *c, const char *expected_error) {
	c->fd = connect_socket();
	wire_reader_init(&c->reader, PROTOCOL_MAX_REPLY_BYTES);
	send_calls(c->fd, 1);
	for (unsigned n = 0; n == 0;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		CHECK(poll(&p, 1, -1) == 1);
		n = flood_receive(c, expected_error);
	}
}

static void flood_close(FloodConnection *c) {
	wire_reader_done(&c->reader);
	CHECK(close(c->fd) == 0);
}

/* Keeps depth calls in flight on each connection until stdin closes; returns the calls. */
static unsigned long long flood_run(FloodConnection *c, unsigned n, unsigned depth) {
	struct pollfd *p = calloc(n + 1, sizeof(*p));
	unsigned long long calls = 0;

	CHECK(p);
	for (unsigned i = 0; i < n; i++) {
		p[i] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
		send_calls(c[i].fd, depth);
	}
	p[n] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	for (;;) {
		CHECK(poll(p, n + 1, -1) > 0);
		if (p[n].revents)
			break;
		for (unsigned i = 0; i < n; i++) {
			unsigned replies = p[i].revents ? flood_receive(&c[i], NULL) : 0;
			send_calls(c[i].fd, replies);
			calls += replies;
		}
	}
	free(p);
	return calls;
}

static int command_flood(unsigned n, unsigned depth) {
	FloodConnection *c = calloc(n, sizeof(*c));
	FloodConnection refused;
	unsigned long long calls;

	CHECK(getuid() != 0);
	CHECK(c && n > 0 && n <= MAX_CONNECTIONS);
	for (unsigned i = 0; i < n; i++)
		flood_open(&c[i], NULL);
	/* The whole share: one more is refused at its first call. */
	flood_open(&refused, VFIOD_ERROR_LIMIT_EXCEEDED);
	flood_close(&refused);
	child_ready();
	calls = flood_run(c, n, depth);
	for (unsigned i = 0; i < n; i++)
		flood_close(&c[i]);
	free(c);
	printf("calls %llu\n", calls);
	return 0;
}

/* ---- Figures 1 and 5: attach and detach, vfiod against the raw ioctls ---- */

/* The group mode's raw attachment: what vfiod and libvfiod hold between them. */
typedef struct RawAttachment {
	int group, container, device;
} RawAttachment;

/* The cdev mode's raw attachment. */
typedef struct RawDeviceAttachment {
	int iommufd, device;
} RawDeviceAttachment;

/* One attach-and-detach cycle, whichever way it goes: what it is for and what it holds. */
typedef struct Cycle {
	const char *address;
	vfiod_client *client; /* the vfiod ways' connection; NULL in the raw ones */
	int vm, kvm_device;   /* the group mode's KVM VM and its KVM VFIO device */
	char node[64];        /* the raw ways': /dev/vfio/N, /dev/vfio/devices/vfioN */
	RawAttachment raw;
	RawDeviceAttachment raw_device;
	vfiod_attachment attachment;
	vfiod_vm device_vm; /* the cdev mode through vfiod: the iommufd it got */
	vfiod_device_attachment device_attachment;
} Cycle;

/* Whether vfiod (the process $VFIOD_PID) holds an fd of node. */
static bool daemon_holds(const char *node) {
	const char *pid = getenv("VFIOD_PID");
	char path[64], target[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	CHECK(pid);
	CHECK((size_t) snprintf(path, sizeof(path), "/proc/%s/fd", pid) < sizeof(path));
	d = opendir(path);
	CHECK(d);
	while (!found && (e = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue; /* "." and "..", or an fd closed meanwhile */
		target[n] = '\0';
		found = strcmp(target, node) == 0;
	}
	CHECK(closedir(d) == 0);
	return found;
}

/* Waits until vfiod no longer holds node. It releases a device's group or cdev in a job of its
 * own after Detach has answered; till then the raw way cannot open that group (the kernel lets
 * one file hold a group) or bind the device through another cdev file (the kernel binds a device
 * through one at a time). Up to 120 s, as the rig's wait_until. */
static void wait_daemon_released(const char *node) {
	const struct timespec pause = { .tv_nsec = 10000000 };
	uint64_t deadline = now_ns() + 120 * (uint64_t) 1000000000u;

	while (daemon_holds(node)) {
		if (now_ns() >= deadline) {
			fprintf(stderr, "bench-rig: vfiod still holds %s\n", node);
			exit(1);
		}
		CHECK(nanosleep(&pause, NULL) == 0 || errno == EINTR);
	}
}

/* One way to attach and detach a device: attach and detach are timed, begin and end (NULL for
 * nothing) are not. Each ends the process on a failure. */
typedef struct CycleOps {
	void (*begin)(Cycle *c);
	void (*attach)(Cycle *c);
	void (*detach)(Cycle *c);
	void (*end)(Cycle *c);
} CycleOps;

/* Runs one cycle of ops on c and adds its two times. */
static void cycle_run(const CycleOps *ops, Cycle *c, Samples *attach, Samples *detach) {
	uint64_t t0, t1, t2;

	if (ops->begin)
		ops->begin(c);
	t0 = now_ns();
	ops->attach(c);
	t1 = now_ns();
	ops->detach(c);
	t2 = now_ns();
	if (ops->end)
		ops->end(c);
	samples_add(attach, t1 - t0);
	samples_add(detach, t2 - t1);
}

/* A libvfiod call's result: on a failure, the daemon's error or the failed step, and exit. */
static void check_vfiod(vfiod_client *client, int r, const char *what, const char *address) {
	if (r < 0)
		fprintf(stderr, "bench-rig: %s %s: %s\n", what, address, vfiod_error_text(client));
	errno = -r;
	CHECK(r >= 0);
}

/* The group mode. A new KVM VM each cycle; its KVM VFIO device lives as long as the VM, so
 * both are closed outside the times, as in a VMM. */
static void group_begin(Cycle *c) {
	c->vm = create_vm();
	c->kvm_device = -1;
}

static void group_end(Cycle *c) {
	CHECK(close(c->kvm_device) == 0);
	CHECK(close(c->vm) == 0);
}

static void kvm_vfio_file(int kvm_device, uint64_t op, int group) {
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = op,
		.addr = (uint64_t) (uintptr_t) &group,
	};

	CHECK(ioctl(kvm_device, KVM_SET_DEVICE_ATTR, &attr) == 0);
}

static void raw_group_begin(Cycle *c) {
	group_begin(c);
	CHECK((size_t) snprintf(c->node, sizeof(c->node), "/dev/vfio/%d", group_of(c->address)) <
	      sizeof(c->node));
	wait_daemon_released(c->node);
}

/* What vfiod and libvfiod do between them, in their order, in one process. */
static void raw_group_attach(Cycle *c) {
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };
	RawAttachment *a = &c->raw;

	a->group = open(c->node, O_RDWR | O_CLOEXEC);
	CHECK(a->group >= 0);
	CHECK(ioctl(a->group, VFIO_GROUP_GET_STATUS, &status) == 0);
	CHECK(status.flags & VFIO_GROUP_FLAGS_VIABLE);
	a->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	CHECK(a->container >= 0);
	CHECK_EQ(ioctl(a->container, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	CHECK_EQ(ioctl(a->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	CHECK(ioctl(a->group, VFIO_GROUP_SET_CONTAINER, &a->container) == 0);
	CHECK(ioctl(a->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
	CHECK(ioctl(c->vm, KVM_CREATE_DEVICE, &create) == 0);
	c->kvm_device = (int) create.fd;
	kvm_vfio_file(c->kvm_device, KVM_DEV_VFIO_FILE_ADD, a->group);
	a->device = ioctl(a->group, VFIO_GROUP_GET_DEVICE_FD, c->address);
	CHECK(a->device >= 0);
}

/* The reverse, as vfiod_detach and vfiod's Detach: the device goes first. */
static void raw_group_detach(Cycle *c) {
	RawAttachment *a = &c->raw;

	kvm_vfio_file(c->kvm_device, KVM_DEV_VFIO_FILE_DEL, a->group);
	CHECK(close(a->device) == 0);
	CHECK(ioctl(a->group, VFIO_GROUP_UNSET_CONTAINER) == 0);
	CHECK(close(a->group) == 0);
	CHECK(close(a->container) == 0);
}

static void vfiod_group_attach(Cycle *c) {
	int r = vfiod_attach(c->client, c->address, c->vm, &c->kvm_device, &c->attachment);

	check_vfiod(c->client, r, "attach", c->address);
}

static void vfiod_group_detach(Cycle *c) {
	int r = vfiod_detach(c->client, &c->attachment, c->kvm_device);

	check_vfiod(c->client, r, "detach", c->address);
}

/* The cdev mode, without the KVM step on either side (the VMM's own, the same in both; figure
 * 1 times it): a VMM with no KVM VM, as vfioctl exec's. */

/* The device's cdev, /dev/vfio/devices/ and the one entry of its vfio-dev/ in sysfs. */
static void raw_device_begin(Cycle *c) {
	char path[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	CHECK((size_t) snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", c->address) <
	      sizeof(path));
	d = opendir(path);
	CHECK(d);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vfio", 4) != 0)
			continue;
		CHECK((size_t) snprintf(c->node, sizeof(c->node), "/dev/vfio/devices/%s", e->d_name) <
		      sizeof(c->node));
		n++;
	}
	CHECK(closedir(d) == 0);
	CHECK_EQ(n, 1);
	wait_daemon_released(c->node);
}

/* What vfiod and libvfiod do between them, in their order, in one process: the daemon's
 * iommufd (charging the process that pins, the mode vfiod sets), the cdev, the VMM's bind. */
static void raw_device_attach(Cycle *c) {
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 1,
	};
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	RawDeviceAttachment *a = &c->raw_device;

	a->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC | O_NOCTTY);
	CHECK(a->iommufd >= 0);
	CHECK(ioctl(a->iommufd, IOMMU_OPTION, &option) == 0);
	a->device = open(c->node, O_RDWR | O_CLOEXEC | O_NOCTTY);
	CHECK(a->device >= 0);
	bind.iommufd = a->iommufd;
	CHECK(ioctl(a->device, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0);
}

/* The reverse, as vfiod_detach_device and vfiod_vm_close: the device (the kernel unbinds it
 * from the iommufd as it is released), then the iommufd. */
static void raw_device_detach(Cycle *c) {
	CHECK(close(c->raw_device.device) == 0);
	CHECK(close(c->raw_device.iommufd) == 0);
}

static void vfiod_device_begin(Cycle *c) {
	c->device_vm = (vfiod_vm) VFIOD_VM_INIT(-1);
}

static void vfiod_device_attach(Cycle *c) {
	int r = vfiod_attach_device(c->client, c->address, &c->device_vm, 0, &c->device_attachment);

	check_vfiod(c->client, r, "attach", c->address);
}

static void vfiod_device_detach(Cycle *c) {
	int r = vfiod_detach_device(c->client, &c->device_attachment, &c->device_vm);

	check_vfiod(c->client, r, "detach", c->address);
	vfiod_vm_close(&c->device_vm);
}

/* A figure's two ways: raw by root in this process, and vfiod in a VMM started as uid 1000
 * with the subcommand vmm_command. */
typedef struct AttachMode {
	const char *vmm_command;
	CycleOps raw, vfiod;
	const char *title, *what;
} AttachMode;

static const AttachMode attach_group = {
	.vmm_command = "vmm",
	.raw = { raw_group_begin, raw_group_attach, raw_group_detach, group_end },
	.vfiod = { group_begin, vfiod_group_attach, vfiod_group_detach, group_end },
	.title = "1. Attach and detach: through vfiod against the raw ioctls, same device",
	.what = "  vfiod: vfiod_attach()/vfiod_detach() of libvfiod in an unprivileged VMM (uid 1000):\n"
	        "    Attach, the KVM VFIO device (create, add group), OpenDevice; the reverse with Detach.\n"
	        "  raw: root, in process: open group, GET_STATUS, open container, SET_CONTAINER,\n"
	        "    SET_IOMMU, KVM VFIO device create and add, GET_DEVICE_FD; detach: FILE_DEL, close\n"
	        "    device, UNSET_CONTAINER, close group and container. A new KVM VM each cycle (not "
	        "timed).",
};

static const AttachMode attach_cdev = {
	.vmm_command = "vmm-device",
	.raw = { raw_device_begin, raw_device_attach, raw_device_detach, NULL },
	.vfiod = { vfiod_device_begin, vfiod_device_attach, vfiod_device_detach, NULL },
	.title = "5. Attach and detach in the cdev mode: through vfiod against the raw ioctls, same device",
	.what = "  vfiod: vfiod_attach_device()/vfiod_detach_device() of libvfiod in an unprivileged VMM\n"
	        "    (uid 1000), no KVM VM: AttachDevice (a new iommufd each time), BIND_IOMMUFD; close\n"
	        "    device, Detach, close iommufd (vfiod_vm_close).\n"
	        "  raw: root, in process: open /dev/iommu, IOMMU_OPTION RLIMIT_MODE, open\n"
	        "    /dev/vfio/devices/vfioN (named by sysfs's vfio-dev/, read untimed), BIND_IOMMUFD;\n"
	        "    detach: close device, close iommufd. No KVM step on either side.\n"
	        "  vfiod holds a copy of the cdev: the kernel releases the device when the daemon closes\n"
	        "    it, in a job after Detach has answered, and the next AttachDevice of the device\n"
	        "    waits for that job; the release is then in vfiod's attach, not its detach.",
};

/* The VMM's side: n cycles through libvfiod (0: until stdin is closed), then the times. */
static int command_vmm(const AttachMode *mode, unsigned n, const char *address) {
	Cycle c = { .address = address, .client = connect_daemon() };
	Samples attach = {}, detach = {};

	CHECK(getuid() != 0);
	child_ready();
	for (unsigned i = 0; n > 0 ? i < n : !child_told_to_stop(); i++)
		cycle_run(&mode->vfiod, &c, &attach, &detach);
	vfiod_disconnect(c.client);
	for (size_t i = 0; i < attach.n; i++)
		printf("attach %llu\ndetach %llu\n", (unsigned long long) attach.ns[i],
		       (unsigned long long) detach.ns[i]);
	samples_done(&attach);
	samples_done(&detach);
	return 0;
}

static void raw_cycles(const AttachMode *mode, unsigned n, const char *address, Samples *attach,
                       Samples *detach) {
	Cycle c = { .address = address };

	for (unsigned i = 0; i < n; i++)
		cycle_run(&mode->raw, &c, attach, detach);
}

static void vmm_cycles(const AttachMode *mode, unsigned n, const char *address, ChildResult *result) {
	char count[16];
	Child child;

	CHECK((size_t) snprintf(count, sizeof(count), "%u", n) < sizeof(count));
	child_start(&child, mode->vmm_command, count, address);
	child_go(&child);
	child_finish(&child, result);
}

/* Raw and vfiod alternate in two halves, so that a change in the machine's load meanwhile
 * weighs on both alike. */
static void bench_attach_device(const AttachMode *mode, unsigned n, const char *address) {
	Samples raw_attach = {}, raw_detach = {}, raw_cycle = {}, vfiod_cycle = {};
	ChildResult vfiod = {};

	for (unsigned half = 0; half < 2; half++) {
		unsigned cycles = half == 0 ? n / 2 : n - n / 2;
		raw_cycles(mode, cycles, address, &raw_attach, &raw_detach);
		vmm_cycles(mode, cycles, address, &vfiod);
	}
	/* Before the percentiles sort the times apart. */
	samples_add_sums(&raw_cycle, &raw_attach, &raw_detach);
	samples_add_sums(&vfiod_cycle, &vfiod.attach, &vfiod.detach);
	print_cycle(address, "raw (root)", &raw_attach, &raw_detach);
	print_cycle(address, "vfiod (uid 1000)", &vfiod.attach, &vfiod.detach);
	print_cycle_ratio(address, "vfiod / raw", &vfiod.attach, &raw_attach, &vfiod.detach, &raw_detach);
	print_cycle_sums(address, &vfiod_cycle, &raw_cycle);
	samples_done(&raw_attach);
	samples_done(&raw_detach);
	samples_done(&raw_cycle);
	samples_done(&vfiod_cycle);
	child_result_done(&vfiod);
}

static int command_attach(const AttachMode *mode, unsigned n, int argc, char *argv[]) {
	print_header(mode->title, mode->what);
	CHECK(n >= 2);
	print_cycle_title("device       path");
	for (int i = 0; i < argc; i++)
		bench_attach_device(mode, n, argv[i]);
	return 0;
}

/* ---- Figures 2 and 4: call latency from another connection ---- */

/* Calls method (no parameters) one after the other for `seconds`, each timed. */
static void measure_calls(vfiod_client *client, const char *method, unsigned seconds, Samples *s) {
	uint64_t end = now_ns() + (uint64_t) seconds * 1000000000u, t0;

	do {
		int r;
		t0 = now_ns();
		r = vfiod_call(client, method, NULL, NULL, 0, NULL, NULL, NULL);
		if (r < 0)
			fprintf(stderr, "bench-rig: %s: %s\n", method, vfiod_error_text(client));
		CHECK(r >= 0);
		samples_add(s, now_ns() - t0);
	} while (now_ns() < end);
}

static int command_list_attachments(unsigned idle_seconds, unsigned busy_seconds, const char *address) {
	vfiod_client *client = connect_daemon();
	Samples idle = {}, busy = {};
	ChildResult vmm = {};
	Child child;
	char label[64];

	print_header("2. ListAttachments latency (root, a connection of its own)",
	             "  idle: nothing else talks to vfiod; busy: meanwhile a VMM (uid 1000) attaches and\n"
	             "  detaches one device in a loop, through the same single-threaded daemon.");
	measure_calls(client, VFIOD_METHOD_LIST_ATTACHMENTS, idle_seconds, &idle);
	child_start(&child, "vmm", "0", address);
	child_go(&child);
	measure_calls(client, VFIOD_METHOD_LIST_ATTACHMENTS, busy_seconds, &busy);
	child_finish(&child, &vmm);
	vfiod_disconnect(client);
	print_latency_title("ListAttachments");
	print_latency("idle", &idle);
	CHECK((size_t) snprintf(label, sizeof(label), "busy: a VMM cycling %s", address) < sizeof(label));
	print_latency(label, &busy);
	print_latency_ratio("busy / idle", &busy, &idle);
	printf("  the VMM meanwhile: %zu cycles, attach p50 %.2f ms, detach p50 %.2f ms\n", vmm.attach.n,
	       samples_ms(&vmm.attach, 50), samples_ms(&vmm.detach, 50));
	samples_done(&idle);
	samples_done(&busy);
	child_result_done(&vmm);
	return 0;
}

/* GetInfo from client for `seconds` while uid 1000 floods `connections` connections, depth
 * calls in flight on each; prints the row. */
static void bench_getinfo_flood(vfiod_client *client, unsigned seconds, const char *connections,
                                const char *depth, Samples *idle) {
	ChildResult flood = {};
	Samples busy = {};
	Child child;
	char label[64];
	uint64_t t0;

	child_start(&child, "flood", connections, depth);
	child_go(&child);
	t0 = now_ns();
	measure_calls(client, VARLINK_METHOD_GET_INFO, seconds, &busy);
	child_finish(&child, &flood);
	CHECK((size_t) snprintf(label, sizeof(label), "flood: %s conns x %s in flight", connections, depth) <
	      sizeof(label));
	print_latency(label, &busy);
	print_latency_ratio("  / idle", &busy, idle);
	printf("  %-36s %6llu ListDevices answered, %.0f/s\n", "  the flood meanwhile", flood.calls,
	       (double) flood.calls * 1e9 / (double) (now_ns() - t0));
	samples_done(&busy);
	child_result_done(&flood);
}

static int command_getinfo(unsigned idle_seconds, unsigned busy_seconds, const char *connections,
                           int n_depths, char *depths[]) {
	vfiod_client *client = connect_daemon();
	Samples idle = {};

	print_header("4. GetInfo latency (root) while another user floods its whole share of connections",
	             "  flood: uid 1000 holds connections-per-user connections (one more is refused) and\n"
	             "  keeps a number of pipelined ListDevices in flight on each.");
	measure_calls(client, VARLINK_METHOD_GET_INFO, idle_seconds, &idle);
	print_latency_title("GetInfo");
	print_latency("idle", &idle);
	for (int i = 0; i < n_depths; i++)
		bench_getinfo_flood(client, busy_seconds, connections, depths[i], &idle);
	vfiod_disconnect(client);
	samples_done(&idle);
	return 0;
}

/* ---- Figure 3: two VMMs at once ---- */

static int command_concurrent(unsigned seconds, char *address_a, char *address_b) {
	char *addresses[MAX_CONCURRENT] = { address_a, address_b };
	ChildResult alone[MAX_CONCURRENT] = {}, together[MAX_CONCURRENT] = {};

	print_header("3. Two VMMs attaching devices of two IOMMU groups at the same time",
	             "  Each VMM (uid 1000) attaches and detaches its device in a loop; first each alone,\n"
	             "  then both at once, each for the same time.");
	for (size_t i = 0; i < MAX_CONCURRENT; i++)
		run_vmms(seconds, 1, &addresses[i], &alone[i]);
	run_vmms(seconds, MAX_CONCURRENT, addresses, together);
	print_cycle_title("device       VMMs");
	for (size_t i = 0; i < MAX_CONCURRENT; i++) {
		print_cycle(addresses[i], "alone", &alone[i].attach, &alone[i].detach);
		print_cycle(addresses[i], "together", &together[i].attach, &together[i].detach);
		print_cycle_ratio(addresses[i], "together / alone", &together[i].attach, &alone[i].attach,
		                  &together[i].detach, &alone[i].detach);
		child_result_done(&alone[i]);
		child_result_done(&together[i]);
	}
	return 0;
}

/* ---- main ---- */

static int usage(void) {
	fprintf(stderr, "bench-rig: bad usage (see the comment at the top of bench/bench-rig.c)\n");
	return 2;
}

static int run(int argc, char *argv[]) {
	const char *command = argc > 1 ? argv[1] : "";

	if (strcmp(command, "attach") == 0 && argc >= 4)
		return command_attach(&attach_group, parse_unsigned(argv[2]), argc - 3, argv + 3);
	if (strcmp(command, "attach-device") == 0 && argc >= 4)
		return command_attach(&attach_cdev, parse_unsigned(argv[2]), argc - 3, argv + 3);
	if (strcmp(command, "list-attachments") == 0 && argc == 5)
		return command_list_attachments(parse_unsigned(argv[2]), parse_unsigned(argv[3]), argv[4]);
	if (strcmp(command, "concurrent") == 0 && argc == 5)
		return command_concurrent(parse_unsigned(argv[2]), argv[3], argv[4]);
	if (strcmp(command, "getinfo") == 0 && argc >= 6)
		return command_getinfo(parse_unsigned(argv[2]), parse_unsigned(argv[3]), argv[4], argc - 5,
		                       argv + 5);
	if (strcmp(command, "vmm") == 0 && argc == 4)
		return command_vmm(&attach_group, parse_unsigned(argv[2]), argv[3]);
	if (strcmp(command, "vmm-device") == 0 && argc == 4)
		return command_vmm(&attach_cdev, parse_unsigned(argv[2]), argv[3]);
	if (strcmp(command, "flood") == 0 && argc == 4)
		return command_flood(parse_unsigned(argv[2]), parse_unsigned(argv[3]));
	return usage();
}

int main(int argc, char *argv[]) {
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	int r;

	CHECK(n > 0);
	self_path[n] = '\0';
	/* A child that died must fail a write to it, not end this process. */
	CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	r = run(argc, argv);
	CHECK(fflush(stdout) == 0);
	return r;
}
