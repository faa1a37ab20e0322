/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "message.h"
#include "persist.h"
#include "process.h"
#include "sysfs.h"
#include "vfio.h"

#define STATE_NAME "state"
/* The description is small: a few hundred bytes per attachment. */
#define STATE_MAX_BYTES (1024u * 1024u)
#define NAME_MAX_LENGTH 32

void persist_init(Persist *p) {
	assert(p);
	*p = (Persist){ .enabled = getenv("NOTIFY_SOCKET") != NULL };
}

void persist_done(Persist *p) {
	assert(p);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	*p = (Persist){};
}

static bool persist_has(const Persist *p, const char *name) {
	for (size_t i = 0; i < p->n_names; i++)
		if (strcmp(p->names[i], name) == 0)
			return true;
	return false;
}

/* Room for one more name in p->names. */
static int persist_grow(Persist *p) {
	char **names = reallocarray(p->names, p->n_names + 1, sizeof(char *));

	if (!names)
		return -ENOMEM;
	p->names = names;
	return 0;
}

static int persist_remove_at(Persist *p, size_t i) {
	char message[64 + NAME_MAX_LENGTH];

	(void) snprintf(message, sizeof(message), "FDSTOREREMOVE=1\nFDNAME=%s", p->names[i]);
	free(p->names[i]);
	p->names[i] = p->names[--p->n_names];
	return sd_notify(false, message);
}

/* Hands systemd a copy of fd under name; with replace, whatever the store held under name goes
 * first (systemd would keep both: names need not be unique in its store). Everything that
 * can fail for lack of memory is done before that removal, so that a failure leaves the old
 * entry. FDPOLL=0: a pidfd turns readable when its process exits, and the store must keep it
 * for the next instance to see that. */
static int persist_put(Persist *p, const char *name, int fd, bool replace) {
	_cleanup_free_ char *copy = strdup(name);
	char message[64 + NAME_MAX_LENGTH];
	int r;

	if (!copy)
		return -ENOMEM;
	r = persist_grow(p);
	if (r < 0)
		return r;
	for (size_t i = 0; replace && i < p->n_names;)
		if (strcmp(p->names[i], name) == 0)
			(void) persist_remove_at(p, i);
		else
			i++;
	(void) snprintf(message, sizeof(message), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	r = sd_pid_notify_with_fds(0, false, message, &fd, 1);
	if (r <= 0)
		return r < 0 ? r : -EOPNOTSUPP;
	p->names[p->n_names++] = TAKE_PTR(copy);
	return 0;
}

/* One entry the store should hold. */
typedef struct Wanted {
	char name[NAME_MAX_LENGTH];
	int fd;
} Wanted;

/* Records a job is working on (reserved) are not stored: they hold no settled fds yet, or no
 * longer; the next sync after the job ended stores what came of it. */
static bool record_is_settled(bool busy, int fd) {
	return !busy && fd >= 0;
}

/* The fd a VM holds once it is settled: its container, or in the cdev mode its iommufd. */
static int vm_settled_fd(const Vm *vm) {
	return vm->mode == ATTACH_MODE_CDEV ? vm->iommu_fd : vm->container_fd;
}

/* Whether an attachment before a in the list has a's owner: its entry is wanted already. */
static bool attachment_owner_listed(State *s, const Attachment *a) {
	for (Attachment *other = s->attachments; other != a; other = other->next)
		if (other->owner == a->owner && other->owner_pidfd >= 0)
			return true;
	return false;
}

static size_t state_wanted(State *s, Wanted *w, size_t max) {
	size_t n = 0;

	for (Vm *vm = s->vms; vm && n + 2 <= max; vm = vm->next) {
		if (!record_is_settled(vm->busy, vm_settled_fd(vm)))
			continue;
		if (vm->mode == ATTACH_MODE_CDEV) {
			w[n] = (Wanted){ .fd = vm->iommu_fd };
			(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "iommufd-%u", vm->id);
			continue;
		}
		w[n] = (Wanted){ .fd = vm->vm_fd };
		(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "vm-%u", vm->id);
		w[n] = (Wanted){ .fd = vm->container_fd };
		(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "container-%u", vm->id);
	}
	for (Group *g = s->groups; g && n < max; g = g->next) {
		if (!record_is_settled(g->busy, g->fd))
			continue;
		w[n] = (Wanted){ .fd = g->fd };
		(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "group-%d", g->number);
	}
	for (Attachment *a = s->attachments; a && n + 2 <= max; a = a->next) {
		if (a->device_fd >= 0) {
			w[n] = (Wanted){ .fd = a->device_fd };
			(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "device-%u", a->id);
		}
		if (a->owner == 0 || a->owner_pidfd < 0 || attachment_owner_listed(s, a))
			continue;
		w[n] = (Wanted){ .fd = a->owner_pidfd };
		(void) snprintf(w[n++].name, NAME_MAX_LENGTH, "owner-%u", a->owner);
	}
	return n;
}

static size_t state_count_fds(State *s) {
	size_t n = 0;

	for (Vm *vm = s->vms; vm; vm = vm->next)
		n += 2;
	for (Group *g = s->groups; g; g = g->next)
		n++;
	for (Attachment *a = s->attachments; a; a = a->next)
		n += 2;
	return n;
}

static json_object *state_describe(State *s) {
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *vms = json_object_new_array(), *groups = json_object_new_array(),
	            *attachments = json_object_new_array();
	int r = 0;

	r |= json_add(o, "vms", vms);
	r |= json_add(o, "groups", groups);
	r |= json_add(o, "attachments", attachments);
	/* The ids handed out so far: the next instance never hands them out again, whatever it
	 * restores. */
	r |= json_add(o, "nextVm", json_object_new_int64(s->next_vm_id));
	r |= json_add(o, "nextAttachment", json_object_new_int64(s->next_attachment_id));
	r |= json_add(o, "nextOwner", json_object_new_int64(s->next_owner_id));
	if (!o || r < 0)
		return NULL;
	for (Vm *vm = s->vms; vm; vm = vm->next) {
		if (!record_is_settled(vm->busy, vm_settled_fd(vm)))
			continue;
		json_object *v = json_object_new_object();
		r |= json_add(v, "id", json_object_new_int64(vm->id));
		/* A VM without "mode" is a group-mode VM, as every VM was before the cdev mode. */
		if (vm->mode == ATTACH_MODE_CDEV)
			r |= json_add(v, "mode", json_object_new_string(attach_mode_name(vm->mode)));
		else
			r |= json_add(v, "iommuType", json_object_new_int(vm->iommu_type));
		r |= json_append(vms, v);
	}
	for (Group *g = s->groups; g; g = g->next) {
		if (!record_is_settled(g->busy, g->fd))
			continue;
		json_object *v = json_object_new_object();
		r |= json_add(v, "number", json_object_new_int(g->number));
		r |= json_add(v, "vm", json_object_new_int64(g->vm->id));
		r |= json_append(groups, v);
	}
	for (Attachment *a = s->attachments; a; a = a->next) {
		json_object *v = attachment_to_json(a);
		r |= json_add(v, "sinceEpoch", json_object_new_int64(a->since));
		r |= json_add(v, "owner", json_object_new_int64(a->owner));
		r |= json_append(attachments, v);
	}
	return r < 0 ? NULL : TAKE_PTR(o);
}

/* The description as a sealed memfd. */
static int state_description_fd(State *s, int *ret) {
	_cleanup_json_ json_object *o = state_describe(s);
	_cleanup_close_ int fd = -EBADF;
	const char *text;
	size_t length;

	if (!o)
		return -ENOMEM;
	text = message_to_string(o, &length);
	if (!text)
		return -ENOMEM;
	fd = memfd_create("vfiod-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return negative_errno();
	if (write(fd, text, length) != (ssize_t) length ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return negative_errno();
	*ret = TAKE_FD(fd);
	return 0;
}

/* Makes the store hold wanted[0..n) and a fresh description of s. */
static int persist_update(Persist *p, State *s, const Wanted *wanted, size_t n) {
	_cleanup_close_ int description = -EBADF;
	int r;

	/* Released objects leave the store: a stored copy would keep them alive. */
	for (size_t i = 0; i < p->n_names;) {
		bool keep = strcmp(p->names[i], STATE_NAME) == 0;
		for (size_t j = 0; j < n && !keep; j++)
			keep = strcmp(p->names[i], wanted[j].name) == 0;
		if (keep)
			i++;
		else
			(void) persist_remove_at(p, i);
	}
	for (size_t j = 0; j < n; j++) {
		if (persist_has(p, wanted[j].name))
			continue;
		r = persist_put(p, wanted[j].name, wanted[j].fd, false);
		if (r < 0)
			return r;
	}
	r = state_description_fd(s, &description);
	if (r < 0)
		return r;
	return persist_put(p, STATE_NAME, description, true);
}

int persist_sync(Persist *p, State *s) {
	_cleanup_free_ Wanted *wanted = NULL;
	size_t max;
	int r;

	assert(p);
	assert(s);

	if (!p->enabled)
		return 0;
	max = state_count_fds(s);
	wanted = calloc(max + 1, sizeof(Wanted));
	if (!wanted)
		return log_oom();
	r = persist_update(p, s, wanted, state_wanted(s, wanted, max));
	if (r < 0)
		return log_warning_errno(
		        r, "Failed to update systemd's fd store, a restart would lose state: %m");
	return 0;
}

/* ---- Restore ---- */

typedef struct Passed {
	int *fds;
	char **names;
	size_t n;
	int sysfs_fd; /* what a device's cdev is checked against */
} Passed;

/* The index of the fd passed under name, -1 when there is none (or it was taken). */
static ssize_t passed_find(const Passed *passed, const char *name) {
	for (size_t i = 0; i < passed->n; i++)
		if (passed->fds[i] >= 0 && passed->names[i] && strcmp(passed->names[i], name) == 0)
			return (ssize_t) i;
	return -1;
}

/* Takes the fd passed under the formatted name, -EBADF when there is none. */
_printf_(2, 3) static int passed_take(Passed *passed, const char *format, ...) {
	char name[NAME_MAX_LENGTH];
	va_list ap;
	ssize_t i;

	va_start(ap, format);
	(void) vsnprintf(name, sizeof(name), format, ap);
	va_end(ap);
	i = passed_find(passed, name);
	return i < 0 ? -EBADF : TAKE_FD(passed->fds[i]);
}

/* A copy of the fd passed as owner-<owner>, which several attachments may name; the passed
 * fd itself is closed with the rest. -EBADF when there is none. */
static int passed_dup_owner(Passed *passed, unsigned owner) {
	char name[NAME_MAX_LENGTH];
	ssize_t i;
	int fd;

	(void) snprintf(name, sizeof(name), "owner-%u", owner);
	i = passed_find(passed, name);
	if (i < 0)
		return -EBADF;
	fd = fcntl(passed->fds[i], F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? negative_errno() : fd;
}

static int64_t member_int(json_object *o, const char *key) {
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* The mode a VM or an attachment was made in: a description written before the cdev mode names
 * none, and anything but "cdev" is the group mode. */
static AttachMode described_mode(json_object *o) {
	json_object *v = NULL;

	return json_object_object_get_ex(o, "mode", &v) && json_object_is_type(v, json_type_string) &&
	                       strcmp(json_object_get_string(v), attach_mode_name(ATTACH_MODE_CDEV)) == 0
	               ? ATTACH_MODE_CDEV
	               : ATTACH_MODE_GROUP;
}

/* A cdev-mode VM: its iommufd, still /dev/iommu's. */
static void restore_iommufd_vm(State *s, unsigned id, Passed *passed) {
	_cleanup_close_ int fd = passed_take(passed, "iommufd-%u", id);

	if (fd < 0 || !vfio_iommufd_check(fd)) {
		log_warning("Dropping VM %u from the fd store: its iommufd is missing or not what it was.",
		            id);
		return;
	}
	(void) state_restore_iommufd_vm(s, id, TAKE_FD(fd));
}

static void restore_vm(State *s, json_object *o, Passed *passed) {
	int64_t id = member_int(o, "id"), type = member_int(o, "iommuType");
	_cleanup_close_ int vm_fd = -EBADF, container_fd = -EBADF;

	if (id <= 0 || id >= UINT32_MAX)
		return;
	state_reserve_ids(s, (unsigned) id + 1, 0, 0);
	if (described_mode(o) == ATTACH_MODE_CDEV) {
		restore_iommufd_vm(s, (unsigned) id, passed);
		return;
	}
	vm_fd = passed_take(passed, "vm-%u", (unsigned) id);
	container_fd = passed_take(passed, "container-%u", (unsigned) id);
	if (vm_fd < 0 || container_fd < 0 || vm_fd_is_kvm(vm_fd) <= 0 ||
	    !vfio_container_check(container_fd)) {
		log_warning("Dropping VM %u from the fd store: its fds are missing or not what they were.",
		            (unsigned) id);
		return;
	}
	(void) state_restore_vm(s, (unsigned) id, TAKE_FD(vm_fd), TAKE_FD(container_fd),
	                        (VfioIommuType) type);
}

static void restore_group(State *s, json_object *o, Passed *passed) {
	int64_t number = member_int(o, "number"), vm_id = member_int(o, "vm");
	_cleanup_close_ int fd = -EBADF;
	Vm *vm;

	if (number < 0 || number > INT32_MAX || vm_id <= 0 || vm_id > UINT32_MAX)
		return;
	fd = passed_take(passed, "group-%d", (int) number);
	vm = state_find_vm_by_id(s, (unsigned) vm_id);
	/* Only a group-mode VM's group holds an fd (state.h): a cdev-mode VM's is never described,
	 * its record comes back with its first attachment, and the kernel never has a group's file
	 * and its devices' cdevs open at once. A description saying otherwise is not ours. */
	if (fd < 0 || !vm || vm->mode != ATTACH_MODE_GROUP || !vfio_group_check(fd, (int) number)) {
		log_warning("Dropping group %d from the fd store: not what it was.", (int) number);
		return;
	}
	(void) state_restore_group(s, (int) number, TAKE_FD(fd), vm);
}

/* The owner entry an attachment names; a description written before owners were shared
 * has none, and named the entry by the attachment's id. */
static int64_t described_owner_id(json_object *o, int64_t id) {
	json_object *v = NULL;

	return json_object_object_get_ex(o, "owner", &v) ? member_int(o, "owner") : id;
}

/* The memlock an attachment records: null when the policy granted no allowance (0 here), -1
 * for unlimited (UINT64_MAX). */
static uint64_t described_memlock(json_object *o) {
	json_object *limit = NULL;
	int64_t memlock =
	        json_object_object_get_ex(o, "memlock", &limit) && json_object_is_type(limit, json_type_int)
	                ? json_object_get_int64(limit)
	                : 0;

	return memlock == -1 ? UINT64_MAX : memlock > 0 ? (uint64_t) memlock : 0;
}

/* The group and VM an attachment of mode names, restored and of that mode, into *ret_g and
 * *ret_vm. A cdev-mode VM's group holds no fd, so it has no entry of its own: its record is
 * made again from its first attachment. */
static bool restore_attachment_records(State *s, AttachMode mode, int group, unsigned vm_id, Group **ret_g,
                                       Vm **ret_vm) {
	Vm *vm = state_find_vm_by_id(s, vm_id);
	Group *g = state_find_group(s, group);

	if (!vm || vm->mode != mode)
		return false;
	if (!g && mode == ATTACH_MODE_CDEV && state_restore_group(s, group, -EBADF, vm) >= 0)
		g = state_find_group(s, group);
	if (!g || g->vm != vm)
		return false;
	*ret_g = g;
	*ret_vm = vm;
	return true;
}

/* The cdev stored for attachment id, still the cdev of the device at address; -EBADF when
 * it is missing or not. */
static int restore_device_fd(Passed *passed, unsigned id, PciAddress address) {
	_cleanup_close_ int fd = passed_take(passed, "device-%u", id);

	if (fd < 0 || !vfio_device_cdev_check(fd, passed->sysfs_fd, address))
		return -EBADF;
	return TAKE_FD(fd);
}

static void restore_attachment(State *s, json_object *o, Passed *passed) {
	int64_t id = member_int(o, "id"), group = member_int(o, "group"), vm_id = member_int(o, "vm");
	int64_t owner_id = described_owner_id(o, id);
	AttachMode mode = described_mode(o);
	json_object *address_text = NULL, *open = NULL;
	_cleanup_close_ int owner = -EBADF, device = -EBADF;
	Attachment a = { .since = member_int(o, "sinceEpoch") };
	Group *g = NULL;
	Vm *vm = NULL;

	if (id <= 0 || id >= UINT32_MAX || owner_id <= 0 || owner_id >= UINT32_MAX)
		return;
	/* Its VMM may hold the id still, restored or not: it is never handed out again. */
	state_reserve_ids(s, 0, (unsigned) id + 1, (unsigned) owner_id + 1);
	if (group < 0 || group > INT32_MAX || vm_id <= 0 || vm_id > UINT32_MAX ||
	    !json_object_object_get_ex(o, "address", &address_text) ||
	    pci_address_parse(json_object_get_string(address_text), &a.address) < 0)
		return;
	/* A description vfiod wrote names each attachment, and each device, once. */
	if (state_find_attachment(s, (unsigned) id) || state_find_attachment_by_address(s, a.address)) {
		log_warning("Dropping attachment %u from the fd store: its id or its device %s is "
		            "restored already.",
		            (unsigned) id, PCI_ADDRESS_TEXT(a.address));
		return;
	}
	owner = passed_dup_owner(passed, (unsigned) owner_id);
	if (mode == ATTACH_MODE_CDEV)
		device = restore_device_fd(passed, (unsigned) id, a.address);
	/* The VMM died while we were away, or what it held is gone: its attachment ends here. */
	if (owner < 0 || (mode == ATTACH_MODE_CDEV && device < 0) || process_has_exited(owner) != 0 ||
	    !restore_attachment_records(s, mode, (int) group, (unsigned) vm_id, &g, &vm)) {
		log_info("Attachment %u ended while vfiod was not running.", (unsigned) id);
		return;
	}
	a.id = (unsigned) id;
	a.owner = (unsigned) owner_id;
	a.pid = (pid_t) member_int(o, "pid");
	a.uid = (uid_t) member_int(o, "uid");
	a.device_open = mode == ATTACH_MODE_CDEV ||
	                (json_object_object_get_ex(o, "deviceOpen", &open) && json_object_get_boolean(open));
	a.memlock = described_memlock(o);
	(void) state_restore_attachment(s, &a, g, vm, TAKE_FD(owner), TAKE_FD(device));
}

/* A counter of the description, 0 (no effect) when absent or out of range. */
static unsigned member_counter(json_object *o, const char *key) {
	int64_t v = member_int(o, key);

	return v > 0 && v <= UINT32_MAX ? (unsigned) v : 0;
}

static void restore_array(State *s, json_object *description, const char *key, Passed *passed,
                          void (*restore)(State *, json_object *, Passed *)) {
	json_object *array = NULL;

	if (!json_object_object_get_ex(description, key, &array) ||
	    !json_object_is_type(array, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(array); i++)
		restore(s, json_object_array_get_idx(array, i), passed);
}

static int read_description(Passed *passed, json_object **ret) {
	_cleanup_close_ int fd = passed_take(passed, STATE_NAME);
	_cleanup_free_ char *text = NULL;
	ssize_t n;

	if (fd < 0)
		return -ENOENT;
	text = malloc(STATE_MAX_BYTES + 1);
	if (!text)
		return -ENOMEM;
	n = pread(fd, text, STATE_MAX_BYTES, 0);
	if (n < 0)
		return negative_errno();
	text[n] = '\0';
	return message_parse_object(text, (size_t) n, ret);
}

/* Whatever we were given is in the store: the next sync removes what is not kept. */
static int persist_adopt_names(Persist *p, char **names, size_t n) {
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *copy = NULL;
		int r;

		if (!names[i] || persist_has(p, names[i]) || strlen(names[i]) >= NAME_MAX_LENGTH)
			continue;
		copy = strdup(names[i]);
		if (!copy)
			return -ENOMEM;
		r = persist_grow(p);
		if (r < 0)
			return r;
		p->names[p->n_names++] = TAKE_PTR(copy);
	}
	return 0;
}

/* Rebuilds s from the description passed back, taking the fds it names. */
static int restore_from_description(State *s, Passed *passed) {
	_cleanup_json_ json_object *description = NULL;
	int r;

	r = read_description(passed, &description);
	if (r < 0)
		return r;
	state_reserve_ids(s, member_counter(description, "nextVm"),
	                  member_counter(description, "nextAttachment"),
	                  member_counter(description, "nextOwner"));
	restore_array(s, description, "vms", passed, restore_vm);
	restore_array(s, description, "groups", passed, restore_group);
	restore_array(s, description, "attachments", passed, restore_attachment);
	state_prune(s);
	return 0;
}

int persist_restore(Persist *p, State *s, int sysfs_fd, int *fds, char **names, size_t n) {
	Passed passed = { .fds = fds, .names = names, .n = n, .sysfs_fd = sysfs_fd };
	size_t restored = 0;
	int r;

	assert(p);
	assert(s);
	assert(fds || n == 0);
	assert(names || n == 0);

	for (size_t i = 0; i < n; i++)
		log_debug("Passed back from the fd store: fd %d named %s.", fds[i], names[i] ?: "(none)");
	r = persist_adopt_names(p, names, n);
	if (r < 0) {
		close_many(fds, n);
		return log_oom();
	}
	r = restore_from_description(s, &passed);
	if (r < 0 && (r != -ENOENT || n > 0))
		log_warning_errno(r, "Cannot read the saved state, starting afresh: %m");
	close_many(fds, n);
	for (Attachment *a = s->attachments; a; a = a->next)
		restored++;
	return (int) restored;
}
