/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the unit tests. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "message.h"
#include "pci.h"
#include "wire.h"

/* Entries in /proc/self/fd: compared before and after a case to catch fd leaks. */
int test_count_fds(void);

/* Writes size bytes of data (NULs included) to path, replacing what it held. */
void test_write_file(const char *path, const void *data, size_t size);

/* A new directory /tmp/vfiod-NAME-XXXXXX in buffer (at least 64 bytes), and its removal with
 * everything in it. */
void test_make_dir(char *buffer, size_t size, const char *name);
void test_remove_tree(const char *dir);

/* One sendmsg() of size raw bytes (no NUL added) with n_fds fds (at most 32) attached. */
void test_send_raw(int sock, const void *data, size_t size, const int *fds, size_t n_fds);

/* Makes test_run_loop() wait for the jobs of w whenever some are pending (NULL: never). */
typedef struct Workers Workers;
void test_wait_for_workers(Workers *w);

/* Runs the event loop: one iteration waiting up to wait_usec for an event (as long as it
 * takes while a worker job is pending, see test_wait_for_workers()), then the work that is
 * ready at once. */
void test_run_loop(sd_event *event, uint64_t wait_usec);

/* The next message on sock, parsed as a reply, with the fds that came with it (at most
 * PROTOCOL_MAX_FDS, the caller's) in fds and their number in *ret_n_fds; as below. */
VarlinkReply test_receive_reply_fds(sd_event *event, WireReader *reader, int sock, uint64_t wait_usec,
                                    int *fds, size_t *ret_n_fds);

/* The next message on sock, parsed as a reply (its fds closed). Runs the daemon's event loop
 * between reads, first waiting up to wait_usec for an event (0 when the daemon's work is
 * ready at once); fails the test when nothing comes after 100 rounds. */
VarlinkReply test_receive_reply(sd_event *event, WireReader *reader, int sock, uint64_t wait_usec);

/* Whether sock reached end of stream (or was reset) after running the event loop a while. */
int test_is_closed(sd_event *event, int sock);

/* A manager as main() makes one, whose worker jobs test_run_loop() waits for; the caller frees
 * it with manager_free(). */
typedef struct Manager Manager;
Manager *test_manager_new(void);

/* A new fake sysfs tree holding 0000:00:02.0 (8086:10d3, IOMMU group 2, on vfio-pci), which m
 * reads through a copy of the tree's root fd (m closes the copy). The caller frees the tree
 * with fake_sysfs_free(), after m. */
typedef struct FakeSysfs FakeSysfs;
FakeSysfs *test_manager_fake_sysfs(Manager *m);

/* A client of manager m over a socketpair, as accepted: the daemon's end is added to m, the
 * client's (non-blocking) returned. */
int test_add_pair_client(Manager *m);

/* As test_add_pair_client(), with the daemon's end's send buffer set to sndbuf bytes (0: left
 * as it is): small, so that a client that does not read fills it soon. */
int test_add_pair_client_sndbuf(Manager *m, int sndbuf);

/* A connected socketpair whose peer, as SO_PEERCRED and SO_PEERPIDFD tell, is a child process
 * that made it and handed both ends over: *ret_daemon_end for the daemon (manager_add_client()),
 * the return value for the test to talk on. The child lives until *ret_hold is closed; the
 * caller then reaps *ret_child. */
int test_socketpair_from_child(pid_t *ret_child, int *ret_hold, int *ret_daemon_end);

/* A new memfd named name, standing in for an fd of the kernel's (the test fails when none
 * can be made). The caller closes it, or passes it on. */
int test_memfd(const char *name);

/* Restores into s, as from the fd store, group-mode VM vm_id with IOMMU group `group`, memfds
 * standing in for the VM, container and group fds (s owns them). */
typedef struct State State;
void test_restore_group(State *s, unsigned vm_id, int group);

/* Restores into s an attachment made from *template on VM vm_id's group `group` (both restored
 * before), a memfd standing in for its owner's pidfd (s owns it). */
typedef struct Attachment Attachment;
void test_restore_attachment(State *s, const Attachment *template, unsigned vm_id, int group);

/* The PCI address of a valid text (the test fails on an invalid one). */
PciAddress test_pci(const char *text);
