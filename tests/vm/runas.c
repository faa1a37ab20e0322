/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* runas UID GID[,GID...] PROGRAM [ARGS...]: drop every privilege (gid, uid, hence every
 * capability) and exec PROGRAM, for rig tests that must run unprivileged. The first GID is
 * the primary group, the others the only supplementary groups. */

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
	gid_t groups[16];
	size_t n = 0;
	char *p, *end;
	uid_t uid;

	if (argc < 4) {
		fprintf(stderr, "Usage: runas UID GID[,GID...] PROGRAM [ARGS...]\n");
		return 2;
	}
	uid = (uid_t) strtoul(argv[1], NULL, 10);
	for (p = argv[2]; n < sizeof(groups) / sizeof(groups[0]); p = end + 1) {
		groups[n++] = (gid_t) strtoul(p, &end, 10);
		if (*end != ',')
			break;
	}
	if (uid == 0 || setgroups(n - 1, groups + 1) < 0 || setresgid(groups[0], groups[0], groups[0]) < 0 ||
	    setresuid(uid, uid, uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("runas: dropping privileges");
		return 1;
	}
	/* Dropping must stick: getting root back has to fail. */
	if (setuid(0) == 0) {
		fprintf(stderr, "runas: still able to become root\n");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror("runas: exec");
	return 127;
}
