#!/bin/sh
# Under Debian's systemd as PID 1: vfiod socket-activated by vfiod.socket keeps its state in
# the fd store, so a crash (SIGKILL) or `systemctl restart` loses no attachment and the VMM's
# device keeps working; a VMM that dies while vfiod is down is released on the next start.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
bind_vfio "$RIG_SOLO"
bind_vfio "$RIG_PAIR_A"
bind_vfio "$RIG_PAIR_B"

main_pid() {
	systemctl show -P MainPID vfiod.service
}
stored_fds() {
	systemctl show -P NFileDescriptorStore vfiod.service
}
listed() {
	vfioctl attachments | grep -q "^ *$1 $2 "
}
# Waits for systemd to have restarted vfiod under a new pid.
restarted_from() {
	pid=$(main_pid)
	[ "$pid" != 0 ] && [ "$pid" != "$1" ] && systemctl is-active -q vfiod.service
}

systemctl is-active -q vfiod.socket || fail "vfiod.socket is not listening"
vfioctl info >/dev/null || fail "socket activation did not start vfiod"
check_eq "vfiod.service after the first call" active "$(systemctl is-active vfiod.service)"
# The shipped unit's sandbox is in force: seccomp filter, CAP_SYS_RESOURCE alone (bit 24),
# no_new_privs.
status=/proc/$(main_pid)/status
check_eq "vfiod's seccomp mode" 2 "$(awk '$1 == "Seccomp:" { print $2 }' "$status")"
check_eq "vfiod's bounding set" 0000000001000000 "$(awk '$1 == "CapBnd:" { print $2 }' "$status")"
check_eq "vfiod's effective set" 0000000001000000 "$(awk '$1 == "CapEff:" { print $2 }' "$status")"
check_eq "vfiod's NoNewPrivs" 1 "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$status")"

$VMM hold "$RIG_SOLO" >/tmp/h.out &
vmm=$!
wait_for_line /tmp/h.out HELD || fail "the VMM did not attach"
id=$(sed -n 's/^HELD //p' /tmp/h.out)
# The sandboxed daemon raised the VMM's locked-memory limit to the rig policy's 64 MiB.
check_eq "the VMM's memlock" "67108864 67108864" "$(awk '/^Max locked memory/ { print $4, $5 }' "/proc/$vmm/limits")"
listed "$id" "$RIG_SOLO" || fail "attachment $id not listed"
# VM, container, group, owner pidfd and the description.
check_eq "fds in the store" 5 "$(stored_fds)"

# A crash: SIGKILL. systemd restarts vfiod (Restart=on-failure) with the stored fds.
old=$(main_pid)
kill -KILL "$old"
wait_until restarted_from "$old" || fail "systemd did not restart vfiod"
listed "$id" "$RIG_SOLO" || fail "attachment $id lost in the crash: $(vfioctl attachments)"
vfioctl -j attachments | tr -d ' \n' | grep -q '"memlock":67108864' ||
	fail "the restored attachment lost its memlock: $(vfioctl -j attachments)"
grep -q "Restored 1 attachment" /tmp/vfiod.log || fail "vfiod did not say it restored the attachment"
vfioctl devices | awk -v a="$RIG_SOLO" -v id="$id" '$1 == a && $6 == id { f = 1 } END { exit !f }' ||
	fail "vfioctl devices does not show $RIG_SOLO held by $id after the crash"
# The VMM's fds still work: config read, DMA map, reset.
: >/tmp/h.out
kill -USR1 "$vmm"
wait_for_line /tmp/h.out RECHECKED || fail "the VMM's device does not work after the crash"
# Still exclusive: another VM is refused.
$VMM expect io.vfiod.DeviceBusy "$RIG_SOLO" >/dev/null || fail "the restored attachment is not exclusive"

# An orderly restart keeps it too.
old=$(main_pid)
systemctl restart vfiod.service || fail "systemctl restart failed"
wait_until restarted_from "$old" || fail "vfiod did not come back after systemctl restart"
listed "$id" "$RIG_SOLO" || fail "attachment $id lost in systemctl restart"

# The VMM detaches from the new instance; the store empties but for the description.
kill -TERM "$vmm"
check_exit "the VMM that detached after the restarts" "$vmm"
wait_until test -z "$(vfioctl attachments | sed 1d)" || fail "attachments left after the detach"
check_eq "fds in the store after the detach" 1 "$(stored_fds)"

# A VMM that dies while vfiod is down: released when vfiod comes back. vfiod is stopped
# (SIGSTOP) first, so that it cannot see the VMM die however slow the machine, and killed only
# once the VMM is gone.
$VMM hold "$RIG_SOLO" >/tmp/h2.out &
vmm=$!
wait_for_line /tmp/h2.out HELD || fail "the second VMM did not attach"
old=$(main_pid)
kill -STOP "$old"
kill -KILL "$vmm"
check_exit "the VMM killed while vfiod was stopped" "$vmm" 137
kill -KILL "$old"
wait_until restarted_from "$old" || fail "systemd did not restart vfiod"
check_eq "attachments after the VMM died with vfiod down" "" "$(vfioctl attachments | sed 1d)"
check_eq "fds in the store" 1 "$(stored_fds)"
$VMM attach "$RIG_SOLO" >/dev/null || fail "$RIG_SOLO not attachable after its VMM died"

# `systemctl stop` discards the store: said so in vfiod(8).
systemctl stop vfiod.service
check_eq "fds in the store after stop" 0 "$(stored_fds)"
