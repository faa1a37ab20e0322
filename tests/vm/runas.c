/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* runas UID GID PROGRAM [ARGS...]: drop every privilege (supplementary groups, gid, uid,
 * hence every capability) and exec PROGRAM, for rig tests that must run unprivileged. */

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
	uid_t uid;
	gid_t gid;

	if (argc < 4) {
		fprintf(stderr, "Usage: runas UID GID PROGRAM [ARGS...]\n");
		return 2;
	}
	uid = (uid_t) strtoul(argv[1], NULL, 10);
	gid = (gid_t) strtoul(argv[2], NULL, 10);
	if (uid == 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
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
