/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer harness for a restart's restore (persist_restore()): arbitrary bytes as the fd
 * store's description "state", with memfds standing in for the stored fds. The first input
 * byte picks which named fds come back, the second which of them pass the kernel's checks
 * (the harness is linked with --wrap for them: no /dev/vfio or /dev/iommu is needed, and the
 * restore goes all the way into the state model); a live owner is a pidfd of this process.
 * Whatever the description says, a restore must not crash, leak memory (LSan) or keep an fd:
 * every fd passed is taken, what is restored is consistent in its mode, and once the state is
 * freed, the fd count is what it was.
 *
 * The cdev mode's entries share the bits of group-mode ones (iommufd-1 with vm-1, device-7 with
 * container-1, ...; see entries): they came after the corpus, whose inputs keep the meaning they
 * had (a cdev entry their descriptions do not name is closed with the rest), and a VM or an
 * attachment is of one mode, so that a restore seldom uses both fds of a bit. */

#include <fcntl.h>
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

typedef enum Role { ROLE_VM, ROLE_CONTAINER, ROLE_GROUP, ROLE_OWNER, ROLE_IOMMUFD, ROLE_DEVICE } Role;

/* What the store may hand back, besides "state": two VMs of one group each with an owner, in
 * either mode; the cdev mode's attachments are numbered as the corpus numbers attachments (7, 8,
 * whose owners they were before owners were shared) and as a cdev description names one (9). */
static const struct {
	const char *name;
	Role role;
	int group;
	unsigned bit;
} entries[] = {
	{ "vm-1", ROLE_VM, 0, 0 },           { "container-1", ROLE_CONTAINER, 0, 1 },
	{ "group-12", ROLE_GROUP, 12, 2 },   { "owner-7", ROLE_OWNER, 0, 3 },
	{ "vm-2", ROLE_VM, 0, 4 },           { "container-2", ROLE_CONTAINER, 0, 5 },
	{ "group-5", ROLE_GROUP, 5, 6 },     { "owner-8", ROLE_OWNER, 0, 7 },
	{ "iommufd-1", ROLE_IOMMUFD, 0, 0 }, { "device-7", ROLE_DEVICE, 0, 1 },
	{ "iommufd-2", ROLE_IOMMUFD, 0, 4 }, { "device-8", ROLE_DEVICE, 0, 5 },
	{ "device-9", ROLE_DEVICE, 0, 6 },
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* The fds of this input that pass the kernel's checks, by role. */
static struct {
	int fd;
	Role role;
	int group;
} valid[N_ENTRIES];
static size_t n_valid;

/* What the harness passes as the sysfs root a cdev is checked against. */
static int sysfs_root = -EBADF;

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
bool __wrap_vfio_iommufd_check(int fd);
bool __wrap_vfio_device_cdev_check(int fd, int root_fd, PciAddress address);

int __wrap_vm_fd_is_kvm(int fd) {
	return is_valid(fd, ROLE_VM, 0);
}

bool __wrap_vfio_container_check(int fd) {
	return is_valid(fd, ROLE_CONTAINER, 0);
}

bool __wrap_vfio_group_check(int fd, int group) {
	return is_valid(fd, ROLE_GROUP, group);
}

bool __wrap_vfio_iommufd_check(int fd) {
	return is_valid(fd, ROLE_IOMMUFD, 0);
}

/* The address is not compared: a cdev of another device fails the check, as a cdev that is
 * not passing does. The root must be the one the restore was given. */
bool __wrap_vfio_device_cdev_check(int fd, int root_fd, PciAddress address) {
	(void) address;
	if (root_fd != sysfs_root)
		abort();
	return is_valid(fd, ROLE_DEVICE, 0);
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
		bool passes = passing & (1u << entries[i].bit);

		if (!(chosen & (1u << entries[i].bit)))
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

static bool vm_is_listed(State *s, const Vm *vm) {
	for (Vm *other = s->vms; other; other = other->next)
		if (other == vm)
			return true;
	return false;
}

/* The attachments of vm, or of g. */
static unsigned count_attachments(State *s, const Vm *vm, const Group *g) {
	unsigned n = 0;

	for (Attachment *a = s->attachments; a; a = a->next)
		n += a->vm == vm || a->group == g;
	return n;
}

/* A VM holds the fds of its mode only (a group-mode VM's fd too: it has attachments). */
static bool vm_is_consistent(State *s, const Vm *vm) {
	if (vm->mode == ATTACH_MODE_CDEV && (vm->iommu_fd < 0 || vm->container_fd >= 0 || vm->vm_fd >= 0))
		return false;
	if (vm->mode == ATTACH_MODE_GROUP && (vm->iommu_fd >= 0 || vm->container_fd < 0 || vm->vm_fd < 0))
		return false;
	return !vm->busy && vm->n_attachments > 0 && vm->n_attachments == count_attachments(s, vm, NULL);
}

/* A group sits in a restored VM and holds /dev/vfio/N in the group mode only (state.h). */
static bool group_is_consistent(State *s, const Group *g) {
	return g->vm && vm_is_listed(s, g->vm) && (g->vm->mode == ATTACH_MODE_CDEV) == (g->fd < 0) &&
	       !g->busy && g->n_attachments > 0 && g->n_attachments == count_attachments(s, NULL, g);
}

/* An attachment is of its VM's mode, its cdev held in the cdev mode, and has a live owner. */
static bool attachment_is_consistent(const Attachment *a) {
	bool cdev = a->vm->mode == ATTACH_MODE_CDEV;

	return a->group->vm == a->vm && cdev == (a->device_fd >= 0) && (!cdev || a->device_open) &&
	       a->owner > 0 && a->owner_pidfd >= 0;
}

/* What a restore leaves: only records of one mode each that refer to one another, none left
 * unused (pruned); returns the number of attachments, -1 when anything is amiss. */
static int state_check(State *s) {
	int n = 0;

	for (Vm *vm = s->vms; vm; vm = vm->next)
		if (!vm_is_consistent(s, vm))
			return -1;
	for (Group *g = s->groups; g; g = g->next)
		if (!group_is_consistent(s, g))
			return -1;
	for (Attachment *a = s->attachments; a; a = a->next, n++) {
		if (!attachment_is_consistent(a))
			return -1;
		/* Each id and each device once, whatever the description repeats. */
		for (Attachment *other = a->next; other; other = other->next)
			if (other->id == a->id || pci_address_equal(other->address, a->address))
				return -1;
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
		/* Any directory: the wrapped check only compares it. */
		sysfs_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sysfs_root < 0)
			abort();
	}
	before = fuzz_count_fds();
	n = pass_fds(data[0], data[1], data + 2, size - 2, fds, names);
	state_init(&s);
	s.vfio = &fake_vfio;
	r = persist_restore(&p, &s, sysfs_root, fds, names, n);
	/* Every fd passed is taken: kept by the state or closed. */
	for (size_t i = 0; i < n; i++)
		if (fds[i] != -EBADF)
			abort();
	if (r < 0 || p.n_names > n || state_check(&s) != r)
		abort();
	state_done(&s);
	persist_done(&p);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (fuzz_count_fds() != before)
		abort();
	return 0;
}
