/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer harness for a restart's restore (persist_restore()): arbitrary bytes as the fd
 * store's description "state", with memfds standing in for the stored fds. The first input
 * byte picks which named fds come back, the second which of them pass the kernel's checks
 * (the harness is linked with --wrap for them: no /dev/vfio is needed, and the restore goes
 * all the way into the state model); a live owner is a pidfd of this process. Whatever the
 * description says, a restore must not crash, leak memory (LSan) or keep an fd: every fd
 * passed is taken, and once the state is freed, the fd count is what it was. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "log.h"
#include "persist.h"
#include "state.h"
#include "vfio.h"

typedef enum Role { ROLE_VM, ROLE_CONTAINER, ROLE_GROUP, ROLE_OWNER } Role;

/* What the store may hand back, besides "state": two VMs of one group each, with an owner. */
static const struct {
	const char *name;
	Role role;
	int group;
} entries[] = {
	{ "vm-1", ROLE_VM, 0 },         { "container-1", ROLE_CONTAINER, 0 },
	{ "group-12", ROLE_GROUP, 12 }, { "owner-7", ROLE_OWNER, 0 },
	{ "vm-2", ROLE_VM, 0 },         { "container-2", ROLE_CONTAINER, 0 },
	{ "group-5", ROLE_GROUP, 5 },   { "owner-8", ROLE_OWNER, 0 },
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* The fds of this input that pass the kernel's checks, by role. */
static struct {
	int fd;
	Role role;
	int group;
} valid[N_ENTRIES];
static size_t n_valid;

static bool is_valid(int fd, Role role, int group) {
	for (size_t i = 0; i < n_valid; i++)
		if (valid[i].fd == fd && valid[i].role == role &&
		    (role != ROLE_GROUP || valid[i].group == group))
			return true;
	return false;
}

int __wrap_vm_fd_is_kvm(int fd);
bool __wrap_vfio_container_check(int fd);
bool __wrap_vfio_group_check(int fd, int group);

int __wrap_vm_fd_is_kvm(int fd) {
	return is_valid(fd, ROLE_VM, 0);
}

bool __wrap_vfio_container_check(int fd) {
	return is_valid(fd, ROLE_CONTAINER, 0);
}

bool __wrap_vfio_group_check(int fd, int group) {
	return is_valid(fd, ROLE_GROUP, group);
}

/* Releasing a restored group would issue VFIO_GROUP_UNSET_CONTAINER: nothing to undo here. */
static int fake_group_unset_container(int group_fd, const char **ret_operation) {
	(void) group_fd;
	(void) ret_operation;
	return 0;
}

static VfioOps fake_vfio;

static int new_memfd(const char *name) {
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		abort();
	return fd;
}

/* An owner that lives (a pidfd of this process), or one that has exited (a memfd polls
 * readable, as the pidfd of a dead process does). */
static int new_owner(bool alive) {
	int fd = alive ? (int) syscall(SYS_pidfd_open, getpid(), 0) : new_memfd("owner");

	if (fd < 0)
		abort();
	return fd;
}

/* The fds passed back: "state" holding the description first, then the entries chosen. */
static size_t pass_fds(uint8_t chosen, uint8_t passing, const uint8_t *text, size_t size, int *fds,
                       char **names) {
	size_t n = 0;

	fds[n] = new_memfd("state");
	if (size > 0 && write(fds[n], text, size) != (ssize_t) size)
		abort();
	names[n++] = strdup("state");
	n_valid = 0;
	for (size_t i = 0; i < N_ENTRIES; i++) {
		bool passes = passing & (1u << i);

		if (!(chosen & (1u << i)))
			continue;
		fds[n] = entries[i].role == ROLE_OWNER ? new_owner(passes) : new_memfd(entries[i].name);
		names[n] = strdup(entries[i].name);
		if (!names[n])
			abort();
		if (passes && entries[i].role != ROLE_OWNER)
			valid[n_valid++] = (typeof(valid[0])){ fds[n], entries[i].role, entries[i].group };
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	int fds[N_ENTRIES + 1];
	char *names[N_ENTRIES + 1];
	Persist p = {};
	State s;
	size_t n;
	int before, r;

	if (size < 2)
		return 0;
	if (!fake_vfio.group_unset_container) {
		log_set_max_level(LOG_CRIT);
		fake_vfio = vfio_kernel;
		fake_vfio.group_unset_container = fake_group_unset_container;
	}
	before = fuzz_count_fds();
	n = pass_fds(data[0], data[1], data + 2, size - 2, fds, names);
	state_init(&s);
	s.vfio = &fake_vfio;
	r = persist_restore(&p, &s, -EBADF, fds, names, n);
	/* Every fd passed is taken: kept by the state or closed. */
	for (size_t i = 0; i < n; i++)
		if (fds[i] != -EBADF)
			abort();
	if (r < 0 || p.n_names > n)
		abort();
	for (Attachment *a = s.attachments; a; a = a->next)
		r--;
	if (r != 0)
		abort();
	state_done(&s);
	persist_done(&p);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (fuzz_count_fds() != before)
		abort();
	return 0;
}
