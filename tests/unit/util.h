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

/* A client of manager m over a socketpair, as accepted: the daemon's end is added to m, the
 * client's (non-blocking) returned. */
typedef struct Manager Manager;
int test_add_pair_client(Manager *m);

/* A connected socketpair whose peer, as SO_PEERCRED and SO_PEERPIDFD tell, is a child process
 * that made it and handed both ends over: *ret_daemon_end for the daemon (manager_add_client()),
 * the return value for the test to talk on. The child lives until *ret_hold is closed; the
 * caller then reaps *ret_child. */
int test_socketpair_from_child(pid_t *ret_child, int *ret_hold, int *ret_daemon_end);

/* The PCI address of a valid text (the test fails on an invalid one). */
PciAddress test_pci(const char *text);
