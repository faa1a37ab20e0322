/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* qmp SOCKET COMMAND: runs one QMP command (query-pci, say) on the QEMU whose monitor listens
 * on the UNIX socket SOCKET, after the capabilities handshake, and prints the command's reply
 * line. Exits 0 when the reply is a "return", 1 otherwise. For rig tests, which have no
 * socat or python. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads one line (QMP sends one JSON object per line) into buf; 0 at its end, -1 on error. */
static int read_line(FILE *f, char **buf, size_t *size) {
	return getline(buf, size, f) > 0 ? 0 : -1;
}

/* The next line that is a reply, skipping asynchronous events; NULL at the end. */
static char *next_reply(FILE *f, char **buf, size_t *size) {
	while (read_line(f, buf, size) == 0)
		if (!strstr(*buf, "\"event\""))
			return *buf;
	return NULL;
}

int main(int argc, char *argv[]) {
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *line = NULL;
	size_t size = 0;
	FILE *f;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "Usage: qmp SOCKET COMMAND\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		perror("qmp: connect");
		return 1;
	}
	f = fdopen(fd, "r+");
	if (!f) {
		perror("qmp: fdopen");
		close(fd);
		return 1;
	}
	/* The greeting, then the handshake, then the command. */
	if (!next_reply(f, &line, &size) || fputs("{\"execute\":\"qmp_capabilities\"}\n", f) < 0 ||
	    fflush(f) != 0 || !next_reply(f, &line, &size) || !strstr(line, "\"return\"") ||
	    fprintf(f, "{\"execute\":\"%s\"}\n", argv[2]) < 0 || fflush(f) != 0 ||
	    !next_reply(f, &line, &size)) {
		fprintf(stderr, "qmp: no reply from %s\n", argv[1]);
		fclose(f);
		free(line);
		return 1;
	}
	fputs(line, stdout);
	int ok = strstr(line, "\"return\"") != NULL;
	fclose(f);
	free(line);
	return ok ? 0 : 1;
}
