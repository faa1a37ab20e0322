/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A hostile client for the real-kernel rig: it sends vfiod what no library would and
 * prints what came back, for t-hostile.sh to check. Each mode but connections uses one
 * connection and prints the reply ("OK", or "ERROR <name> <parameters>") and then "CLOSED"
 * when the daemon closed the connection after it, "OPEN" otherwise.
 *
 *   hostile connections N     open N connections one after the other, a GetInfo on each;
 *                             print "<i> OK" or "<i> ERROR ..." for each, then "HOLDING",
 *                             and keep them open until killed
 *   hostile garbage           4 KiB of pseudo-random bytes, NULs among them
 *   hostile oversized         70000 bytes without a NUL
 *   hostile invalid-json      a call cut short, NUL-terminated
 *   hostile half              the start of a call and never the rest (waits for the reply)
 *   hostile fd-flood N        a GetInfo with N memfds attached (at most 253)
 *   hostile monitor-fds N     open N connections, on each a Monitor call and then the start
 *                             of another with 16 memfds; print "HOLDING" and keep them open
 *                             until killed
 *   hostile pid-reuse PID     (root) with vfiod (PID) stopped, a child connects a socket it
 *                             shares with its parent and exits, and another process is given its
 *                             pid; then vfiod runs on and a GetInfo is sent on the socket:
 *                             prints "REUSED <pid>" and the reply ("NONE" when the daemon
 *                             closed the connection unanswered) */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "message.h"
#include "protocol.h"
#include "wire.h"

#define GET_INFO    "{\"method\":\"org.varlink.service.GetInfo\"}"
#define WAIT_MSEC   30000
#define MAX_FLOOD   253 /* SCM_MAX_FD */
#define MAX_HOLDING 256

/* The daemon's socket address. */
static void daemon_address(struct sockaddr_un *ret) {
	const char *path = getenv("VFIOD_SOCKET") ?: VFIOD_SOCKET_PATH;

	*ret = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(ret->sun_path)) {
		fprintf(stderr, "hostile: socket path too long\n");
		exit(1);
	}
	strcpy(ret->sun_path, path);
}

static int connect_daemon(void) {
	struct sockaddr_un address;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("hostile: socket");
		exit(1);
	}
	daemon_address(&address);
	if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0) {
		perror("hostile: connect");
		exit(1);
	}
	return fd;
}

/* One sendmsg() of data with fds attached; a daemon that closed already is no failure. Not
 * through wire.c: its writer refuses more fds than the protocol allows, which is the point. */
static void send_with_fds(int fd, const void *data, size_t size, const int *fds, size_t n_fds) {
	char control[CMSG_SPACE(sizeof(int) * MAX_FLOOD)] = {};
	struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n_fds > 0) {
		struct cmsghdr *c;
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		perror("hostile: sendmsg");
}

static void send_bytes(int fd, const void *data, size_t size) {
	for (size_t sent = 0; sent < size;) {
		ssize_t n = send(fd, (const char *) data + sent, size - sent, MSG_NOSIGNAL);
		if (n < 0) {
			/* The daemon gave up on us midway: its reply says why. */
			if (errno != EPIPE && errno != ECONNRESET)
				perror("hostile: send");
			return;
		}
		sent += (size_t) n;
	}
}

/* Waits up to WAIT_MSEC for fd to be readable; reads once into r. Returns what
 * wire_reader_fill returns, or -ETIMEDOUT. */
static int fill(WireReader *r, int fd) {
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, WAIT_MSEC) <= 0)
		return -ETIMEDOUT;
	return wire_reader_fill(r, fd);
}

/* Prints the first reply on fd, with prefix; returns 0, or -1 when none came. */
static int print_reply(int fd, WireReader *reader, const char *prefix) {
	char *text = NULL;
	int fds[PROTOCOL_MAX_FDS];
	size_t length, n_fds = 0;
	VarlinkReply reply = {};
	int r;

	while ((r = wire_reader_next(reader, &text, &length, fds, &n_fds)) == 0)
		if (fill(reader, fd) <= 0) {
			printf("%sNONE\n", prefix);
			return -1;
		}
	if (r < 0 || message_parse_reply(text, length, &reply) < 0) {
		printf("%sUNPARSABLE\n", prefix);
		free(text);
		return -1;
	}
	close_many(fds, n_fds);
	if (reply.error)
		printf("%sERROR %s %s\n", prefix, reply.error,
		       reply.parameters
		               ? json_object_to_json_string_ext(reply.parameters, JSON_C_TO_STRING_PLAIN)
		               : "{}");
	else
		printf("%sOK\n", prefix);
	varlink_reply_done(&reply);
	free(text);
	return 0;
}

/* Whether another message comes on fd before the end of the stream (or WAIT_MSEC). */
static bool next_reply_arrives(int fd, WireReader *reader) {
	char *text = NULL;
	int fds[PROTOCOL_MAX_FDS];
	size_t length, n_fds = 0;
	int r;

	while ((r = wire_reader_next(reader, &text, &length, fds, &n_fds)) == 0)
		if (fill(reader, fd) <= 0)
			return false;
	if (r < 0)
		return false;
	close_many(fds, n_fds);
	free(text);
	return true;
}

/* Sends data with fds on a new connection, prints the reply and whether the daemon closed. */
static int exchange(const void *data, size_t size, const int *fds, size_t n_fds) {
	WireReader reader;
	int fd = connect_daemon(), r;

	wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
	send_with_fds(fd, data, size > 4096 ? 4096 : size, fds, n_fds);
	if (size > 4096)
		send_bytes(fd, (const char *) data + 4096, size - 4096);
	r = print_reply(fd, &reader, "");
	/* Open or not is what a further call gets: a reply, or the end of the stream. */
	if (r == 0) {
		send_bytes(fd, GET_INFO, sizeof(GET_INFO));
		printf("%s\n", next_reply_arrives(fd, &reader) ? "OPEN" : "CLOSED");
	}
	wire_reader_done(&reader);
	close(fd);
	return r < 0;
}

_Noreturn static void hold_connections(unsigned n) {
	int fds[MAX_HOLDING];

	if (n > MAX_HOLDING)
		n = MAX_HOLDING;
	for (unsigned i = 0; i < n; i++) {
		WireReader reader;
		char prefix[16];

		fds[i] = connect_daemon();
		wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
		send_with_fds(fds[i], GET_INFO, sizeof(GET_INFO), NULL, 0);
		snprintf(prefix, sizeof(prefix), "%u ", i);
		(void) print_reply(fds[i], &reader, prefix);
		wire_reader_done(&reader);
	}
	printf("HOLDING\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Waits until the daemon has read everything sent on fd (SIOCOUTQ: bytes the peer has not
 * read yet), for at most WAIT_MSEC. */
static void wait_sent(int fd) {
	int queued = 0;

	for (int waited = 0; waited < WAIT_MSEC; waited++) {
		if (ioctl(fd, SIOCOUTQ, &queued) < 0) {
			perror("hostile: SIOCOUTQ");
			exit(1);
		}
		if (queued == 0)
			return;
		(void) poll(NULL, 0, 1);
	}
	fprintf(stderr, "hostile: the daemon does not read\n");
	exit(1);
}

/* Monitors that then send fds: a daemon that read on after Monitor would park them. */
_Noreturn static void monitors_with_fds(unsigned n) {
	static const char monitor[] = "{\"method\":\"io.vfiod.Monitor\",\"more\":true}";
	int fds[PROTOCOL_MAX_FDS];

	if (n > MAX_HOLDING)
		n = MAX_HOLDING;
	for (size_t i = 0; i < PROTOCOL_MAX_FDS; i++)
		if ((fds[i] = memfd_create("hostile", MFD_CLOEXEC)) < 0) {
			perror("hostile: memfd_create");
			exit(1);
		}
	for (unsigned i = 0; i < n; i++) {
		int fd = connect_daemon();
		send_bytes(fd, monitor, sizeof(monitor));
		/* The fds go in a chunk of their own, after the daemon read the call (else one read
		 * would take both, and the fds not at a message boundary close the connection). */
		wait_sent(fd);
		send_with_fds(fd, "{", 1, fds, PROTOCOL_MAX_FDS);
	}
	printf("HOLDING\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int garbage(void) {
	unsigned char data[4096];
	unsigned state = 12345;

	for (size_t i = 0; i < sizeof(data); i++) {
		state = state * 1103515245u + 12345u;
		data[i] = (unsigned char) (state >> 16);
	}
	data[100] = '\0';
	return exchange(data, sizeof(data), NULL, 0);
}

static int oversized(void) {
	size_t size = 70000;
	char *data = malloc(size);
	int r;

	if (!data)
		return 1;
	memset(data, ' ', size);
	memcpy(data, GET_INFO, strlen(GET_INFO) - 1); /* an object never closed */
	r = exchange(data, size, NULL, 0);
	free(data);
	return r;
}

static int fd_flood(unsigned n) {
	int fds[MAX_FLOOD] = {};
	int r;

	if (n > MAX_FLOOD)
		n = MAX_FLOOD;
	for (unsigned i = 0; i < n; i++) {
		fds[i] = memfd_create("hostile", MFD_CLOEXEC);
		if (fds[i] < 0) {
			perror("hostile: memfd_create");
			return 1;
		}
	}
	r = exchange(GET_INFO, sizeof(GET_INFO), fds, n);
	close_many(fds, n);
	return r;
}

/* Waits until process pid is stopped (state T in /proc/pid/stat), for at most WAIT_MSEC. */
static void wait_stopped(pid_t pid) {
	char path[64], text[256];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	for (int waited = 0; waited < WAIT_MSEC; waited++) {
		FILE *f = fopen(path, "re");
		char *p = f && fgets(text, sizeof(text), f) ? strrchr(text, ')') : NULL;
		if (f)
			fclose(f);
		if (p && p[1] == ' ' && p[2] == 'T')
			return;
		(void) poll(NULL, 0, 1);
	}
	fprintf(stderr, "hostile: vfiod (%d) did not stop\n", (int) pid);
	exit(1);
}

/* A process that gets pid (clone3's set_tid, as checkpoint/restore tools make one), waiting to
 * be killed. Returns its pid, -1 when the kernel would not give that pid. */
static pid_t fork_with_pid(pid_t pid) {
	struct clone_args args = { .exit_signal = SIGCHLD,
		                   .set_tid = (uint64_t) (uintptr_t) &pid,
		                   .set_tid_size = 1 };
	long child = syscall(SYS_clone3, &args, sizeof(args));

	if (child == 0) {
		for (;;)
			pause();
	}
	if (child < 0)
		perror("hostile: clone3 with set_tid");
	return child == pid ? pid : -1;
}

/* The peer of a connection exits before the daemon accepts it, leaving the socket to its parent
 * (it connected a socket they share); its pid goes to another process meanwhile. The daemon
 * must not take that process for the peer (it would bind attachments to it and raise its
 * memlock): on kernels that have SO_PEERPIDFD but refuse it for an exited peer (EINVAL, 6.5
 * to 6.15) it closes the connection unanswered. */
static int pid_reuse(pid_t daemon) {
	struct sockaddr_un address;
	WireReader reader;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
	pid_t peer, impostor;

	if (fd < 0 || kill(daemon, SIGSTOP) < 0) {
		perror("hostile: pid-reuse");
		return 1;
	}
	wait_stopped(daemon);
	daemon_address(&address);
	peer = fork();
	if (peer == 0)
		_exit(connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0);
	if (peer < 0 || waitpid(peer, &status, 0) != peer || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hostile: the peer did not connect\n");
		return 1;
	}
	impostor = fork_with_pid(peer);
	if (kill(daemon, SIGCONT) < 0 || impostor < 0) {
		fprintf(stderr, "hostile: could not give pid %d to another process\n", (int) peer);
		return 1;
	}
	printf("REUSED %d\n", (int) impostor);
	wire_reader_init(&reader, PROTOCOL_MAX_REPLY_BYTES);
	send_bytes(fd, GET_INFO, sizeof(GET_INFO));
	(void) print_reply(fd, &reader, "");
	wire_reader_done(&reader);
	close(fd);
	kill(impostor, SIGKILL);
	(void) waitpid(impostor, NULL, 0);
	return 0;
}

int main(int argc, char *argv[]) {
	static const char invalid_json[] = "{\"method\":";
	static const char half[] = "{\"method\":\"org.varlink.service.Get";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "connections") == 0)
		hold_connections((unsigned) strtoul(argv[2], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "monitor-fds") == 0)
		monitors_with_fds((unsigned) strtoul(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "garbage") == 0)
		return garbage();
	if (argc == 2 && strcmp(argv[1], "oversized") == 0)
		return oversized();
	if (argc == 2 && strcmp(argv[1], "invalid-json") == 0)
		return exchange(invalid_json, sizeof(invalid_json), NULL, 0);
	if (argc == 2 && strcmp(argv[1], "half") == 0)
		return exchange(half, sizeof(half) - 1, NULL, 0);
	if (argc == 3 && strcmp(argv[1], "fd-flood") == 0)
		return fd_flood((unsigned) strtoul(argv[2], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "pid-reuse") == 0)
		return pid_reuse((pid_t) strtol(argv[2], NULL, 10));
	fprintf(stderr,
	        "Usage: hostile connections N | monitor-fds N | garbage | oversized | invalid-json | half | "
	        "fd-flood N | pid-reuse PID\n");
	return 2;
}
