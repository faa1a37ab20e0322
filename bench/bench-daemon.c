/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Figures for the daemon's hot paths, printed, never asserted (tests assert no timing):
 *   - the policy: parsing a file of many rules, and one group verdict against it;
 *   - calls through a real connection: pipelined GetInfo and ListDevices round trips;
 *   - fairness: root's GetInfo round trip while another uid pipelines ListDevices on every
 *     connection its connections-per-user allows;
 *   - the memory an open connection costs.
 * The real modules run against the fake sysfs tree of the unit tests; no kernel needed.
 *
 *   build/bench/bench-daemon [RULES [CALLS [CONNECTIONS [PROBES]]]]
 *   (defaults 1000 20000 200 200) */

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/fakes/fake-sysfs.h"
#include "log.h"
#include "manager.h"
#include "policy.h"

#define GET_INFO     "{\"method\":\"org.varlink.service.GetInfo\"}"
#define LIST_DEVICES "{\"method\":\"io.vfiod.ListDevices\"}"
#define N_DEVICES    64 /* in groups of 4 */
#define BATCH        32
#define FLOOD_UID    65534 /* nobody: the other user of the fairness figure */
#define FLOOD_DEPTH  16    /* calls each of its connections keeps pipelined */

static double now_sec(void) {
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		perror("bench: clock_gettime");
		exit(1);
	}
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long vmrss_kib(void) {
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void die(const char *what, int r) {
	fprintf(stderr, "bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* A policy of n allow rules for other users, then the caller's, for a group of 8 devices. */
static void bench_policy(unsigned n_rules, unsigned n_verdicts) {
	char path[] = "/tmp/bench-policy-XXXXXX";
	SysfsDevice members[8] = {};
	Caller caller = { .uid = 4242, .gid = 4242 };
	PolicyError error = {};
	Policy policy = {};
	double t0, t1, t2;
	unsigned allowed = 0;
	int fd = mkstemp(path), r;
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "w")))
		die("policy file", errno);
	for (unsigned i = 0; i < n_rules; i++)
		fprintf(f, "allow user:%u id:8086:%04x # rule %u\n", 10000 + i, i % 0xffff, i);
	for (unsigned i = 0; i < 8; i++)
		fprintf(f, "allow user:4242 device:0000:03:%02x.0\n", i);
	if (fclose(f) != 0)
		die("policy file", errno);
	policy_limits_default(&policy.limits);
	t0 = now_sec();
	r = policy_parse_file(path, &policy, &error);
	t1 = now_sec();
	(void) unlink(path);
	if (r < 0)
		die(error.reason[0] ? error.reason : "parse", r);
	for (unsigned i = 0; i < 8; i++) {
		members[i].address = (PciAddress){ .bus = 3, .device = (uint8_t) i };
		members[i].group = 7;
		members[i].vendor = 0x8086;
		members[i].device = 0x10d3;
	}
	for (unsigned i = 0; i < n_verdicts; i++)
		allowed += policy_allows_group(&policy, &caller, members, 8);
	t2 = now_sec();
	if (allowed != n_verdicts)
		die("the caller's group was not allowed", EINVAL);
	printf("policy: %zu rules parsed in %.2f ms (%.0f ns/rule)\n", policy.n_rules, (t1 - t0) * 1e3,
	       (t1 - t0) * 1e9 / (double) policy.n_rules);
	printf("policy: group of 8 against %zu rules: %.0f ns/verdict\n", policy.n_rules,
	       (t2 - t1) * 1e9 / n_verdicts);
	policy_done(&policy);
}

static int connect_to(const char *path) {
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket", errno);
	(void) snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
		die("connect", errno);
	return fd;
}

static void send_all(int fd, const char *data, size_t size) {
	while (size > 0) {
		ssize_t k = send(fd, data, size, MSG_NOSIGNAL);
		if (k < 0)
			die("send", errno);
		data += k;
		size -= (size_t) k;
	}
}

/* Reads what came on fd without waiting: adds the bytes to *bytes, returns the replies
 * (NUL-terminated) among them. */
static unsigned take_replies(int fd, size_t *bytes) {
	static char buffer[1 << 16];
	unsigned n = 0;
	ssize_t k;

	while ((k = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0) {
		*bytes += (size_t) k;
		for (ssize_t i = 0; i < k; i++)
			n += buffer[i] == '\0';
	}
	if (k == 0)
		die("the daemon closed the connection", EPIPE);
	return n;
}

/* The other user's connections, each keeping FLOOD_DEPTH ListDevices calls pipelined. */
typedef struct Flood {
	int *fds;
	unsigned n;
	unsigned answered;
} Flood;

/* Sends a call for each reply that came, so that every connection keeps its depth. */
static void flood_pump(Flood *flood) {
	size_t bytes = 0;

	for (unsigned i = 0; i < flood->n; i++) {
		unsigned replies = take_replies(flood->fds[i], &bytes);
		flood->answered += replies;
		while (replies-- > 0)
			send_all(flood->fds[i], LIST_DEVICES, sizeof(LIST_DEVICES));
	}
}

/* Runs the daemon's loop, and the flood when there is one, until n replies arrived on fd;
 * returns their bytes. */
static size_t pump_replies(Manager *m, int fd, unsigned n, Flood *flood) {
	size_t bytes = 0;

	while (n > 0) {
		(void) sd_event_run(m->event, 1000);
		if (flood)
			flood_pump(flood);
		n -= take_replies(fd, &bytes);
	}
	return bytes;
}

/* calls round trips of request, BATCH pipelined at a time, on one connection. */
static void bench_calls(Manager *m, const char *socket_path, const char *name, const char *request,
                        unsigned calls) {
	int fd = connect_to(socket_path);
	size_t size = strlen(request) + 1, bytes = 0;
	double t0 = now_sec(), t;

	for (unsigned done = 0; done < calls; done += BATCH) {
		for (unsigned i = 0; i < BATCH; i++)
			send_all(fd, request, size);
		bytes += pump_replies(m, fd, BATCH, NULL);
	}
	t = now_sec() - t0;
	printf("calls: %-12s %u in %.2f s: %.0f calls/s, %.1f us/call, %zu bytes/reply\n", name, calls, t,
	       calls / t, t * 1e6 / calls, bytes / calls);
	close(fd);
}

/* Hands n fds over a UNIX socket in one message. */
static void send_fds(int sock, const int *fds, unsigned n) {
	char control[CMSG_SPACE(sizeof(int) * 253)] = {};
	struct iovec iov = { .iov_base = "F", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control };
	struct cmsghdr *c;

	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&mh);
	*c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int) * n),
		               .cmsg_level = SOL_SOCKET,
		               .cmsg_type = SCM_RIGHTS };
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	if (sendmsg(sock, &mh, 0) != 1)
		die("sendmsg", errno);
}

static void receive_fds(int sock, int *fds, unsigned n) {
	char control[CMSG_SPACE(sizeof(int) * 253)], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov,
		             .msg_iovlen = 1,
		             .msg_control = control,
		             .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || !(c = CMSG_FIRSTHDR(&mh)) ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * n))
		die("receiving the other user's connections", EPROTO);
	memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
}

/* n connections of FLOOD_UID: a child gives up root, connects (SO_PEERCRED is what connect
 * saw) and hands them over, then stays, so that the daemon finds each peer alive, until the
 * returned socket is closed. Without root, the connections are our own. */
static int connect_as_other_user(const char *socket_path, int *fds, unsigned n, pid_t *ret_pid) {
	int sv[2];
	char byte;

	*ret_pid = 0;
	if (n > 253) /* SCM_MAX_FD */
		die("more connections than one message carries", E2BIG);
	if (geteuid() != 0) {
		for (unsigned i = 0; i < n; i++)
			fds[i] = connect_to(socket_path);
		return -EBADF;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", errno);
	(void) fflush(stdout); /* not printed twice if the child dies */
	*ret_pid = fork();
	if (*ret_pid < 0)
		die("fork", errno);
	if (*ret_pid == 0) {
		close(sv[0]);
		if (setgroups(0, NULL) < 0 || setgid(FLOOD_UID) < 0 || setuid(FLOOD_UID) < 0)
			die("dropping root", errno);
		for (unsigned i = 0; i < n; i++)
			fds[i] = connect_to(socket_path);
		send_fds(sv[1], fds, n);
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
		(void) read(sv[1], &byte, 1);
		_exit(0);
	}
	close(sv[1]);
	receive_fds(sv[0], fds, n);
	return sv[0];
}

static int compare_doubles(const void *a, const void *b) {
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* n round trips of root's GetInfo, one at a time, with the flood (if any) going meanwhile. */
static void bench_probes(Manager *m, int fd, Flood *flood, double *samples, unsigned n, const char *what) {
	for (unsigned i = 0; i < n; i++) {
		double t0 = now_sec();
		send_all(fd, GET_INFO, sizeof(GET_INFO));
		(void) pump_replies(m, fd, 1, flood);
		samples[i] = now_sec() - t0;
	}
	qsort(samples, n, sizeof(double), compare_doubles);
	printf("fairness: root's GetInfo %s: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%u calls)\n", what,
	       samples[n / 2] * 1e3, samples[n * 99 / 100] * 1e3, samples[n - 1] * 1e3, n);
}

/* Root's GetInfo latency, idle and while FLOOD_UID pipelines ListDevices on n connections. */
static void bench_fairness(Manager *m, const char *socket_path, unsigned n, unsigned probes) {
	Flood flood = { .fds = calloc(n, sizeof(int)), .n = n };
	double *samples = calloc(probes, sizeof(double)), t0;
	size_t open_before;
	int root = connect_to(socket_path), hold;
	pid_t child;

	if (!flood.fds || !samples || probes == 0)
		die("fairness", ENOMEM);
	bench_probes(m, root, NULL, samples, probes, "idle");
	open_before = m->n_connections;
	hold = connect_as_other_user(socket_path, flood.fds, n, &child);
	/* The flood starts once the daemon has accepted every connection of it. */
	for (int i = 0; i < 10000 && m->n_connections < open_before + n; i++)
		(void) sd_event_run(m->event, 1000);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < FLOOD_DEPTH; k++)
			send_all(flood.fds[i], LIST_DEVICES, sizeof(LIST_DEVICES));
	t0 = now_sec();
	bench_probes(m, root, &flood, samples, probes, "during the flood");
	printf("fairness: the flood: uid %u, %u connections %u calls deep, %.0f ListDevices/s answered\n",
	       child ? FLOOD_UID : (unsigned) getuid(), n, FLOOD_DEPTH, flood.answered / (now_sec() - t0));
	for (unsigned i = 0; i < n; i++)
		close(flood.fds[i]);
	close(root);
	safe_close(hold);
	if (child > 0)
		(void) waitpid(child, NULL, 0);
	for (int i = 0; i < 10000 && m->n_connections >= open_before; i++)
		(void) sd_event_run(m->event, 1000);
	free(flood.fds);
	free(samples);
}

/* The memory n open connections cost, each after one GetInfo. */
static void bench_connections(Manager *m, const char *socket_path, unsigned n) {
	int *fds = calloc(n, sizeof(int));
	long before, after;

	if (!fds)
		die("calloc", ENOMEM);
	before = vmrss_kib();
	for (unsigned i = 0; i < n; i++) {
		fds[i] = connect_to(socket_path);
		send_all(fds[i], GET_INFO, sizeof(GET_INFO));
		(void) pump_replies(m, fds[i], 1, NULL);
	}
	after = vmrss_kib();
	printf("connections: %u open: VmRSS +%ld KiB, %.1f KiB/connection\n", n, after - before,
	       (double) (after - before) / n);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 0; i < 16; i++)
		(void) sd_event_run(m->event, 1000);
	free(fds);
}

int main(int argc, char *argv[]) {
	unsigned n_rules = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 1000;
	unsigned n_calls = argc > 2 ? (unsigned) strtoul(argv[2], NULL, 10) : 20000;
	unsigned n_connections = argc > 3 ? (unsigned) strtoul(argv[3], NULL, 10) : 200;
	unsigned n_probes = argc > 4 ? (unsigned) strtoul(argv[4], NULL, 10) : 200;
	char directory[] = "/tmp/bench-daemon-XXXXXX", socket_path[128], address[16];
	FakeSysfs *sysfs;
	Manager *m = NULL;
	unsigned n_flood;
	int r;

	log_set_max_level(LOG_WARNING);
	bench_policy(n_rules, 100000);

	if (!mkdtemp(directory))
		die("mkdtemp", errno);
	(void) snprintf(socket_path, sizeof(socket_path), "%s/io.vfiod", directory);
	r = manager_new(&m);
	if (r < 0)
		die("manager_new", r);
	sysfs = fake_sysfs_new();
	if (!sysfs)
		die("fake sysfs", ENOMEM);
	for (int i = 0; i < N_DEVICES; i++) {
		(void) snprintf(address, sizeof(address), "0000:%02x:00.0", i + 1);
		if (fake_sysfs_add_device(sysfs, address, 0x8086, 0x10d3, i / 4 + 1, "vfio-pci") < 0)
			die("fake sysfs device", ENOMEM);
	}
	m->sysfs_fd = dup(fake_sysfs_root_fd(sysfs));
	if (m->sysfs_fd < 0)
		die("dup", errno);
	/* The flood runs on a user's full share of connections, by default. */
	n_flood = m->policy.limits.connections_per_user;
	/* Root is an admin: ListDevices lists every device; so does FLOOD_UID, allowed them all.
	 * Room for the connections measured. */
	m->policy.rules = calloc(1, sizeof(PolicyRule));
	if (!m->policy.rules)
		die("calloc", ENOMEM);
	m->policy.rules[0] = (PolicyRule){
		.kind = RULE_ALLOW, .subject = SUBJECT_USER, .id = FLOOD_UID, .object = OBJECT_ANY
	};
	m->policy.n_rules = 1;
	m->policy.limits.connections = n_connections + n_flood + 8;
	m->policy.limits.connections_per_user = n_connections + 8;
	r = manager_listen(m, socket_path);
	/* The other user reaches the socket (mode 0666) through our directory. */
	if (r >= 0 && chmod(directory, 0755) < 0)
		r = -errno;
	if (r < 0)
		die("manager_listen", r);
	bench_calls(m, socket_path, "GetInfo", GET_INFO, n_calls);
	bench_calls(m, socket_path, "ListDevices", LIST_DEVICES, n_calls / 10);
	bench_fairness(m, socket_path, n_flood, n_probes);
	bench_connections(m, socket_path, n_connections);
	manager_free(m);
	fake_sysfs_free(sysfs);
	(void) rmdir(directory);
	return 0;
}
