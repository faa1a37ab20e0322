#!/bin/sh
# Under Debian's systemd as PID 1: vfiod socket-activated by vfiod.socket keeps its state in
# the fd store, so a crash (SIGKILL) or `systemctl restart` loses no attachment (three, of two
# VMMs, two of them made on one connection) and the VMMs' devices keep working; a VMM that
# dies while vfiod is down is released on the next start, and its id is not handed out again.
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

# Three attachments of two VMMs: one VMM holds both devices of the shared group (two
# attachments made on one connection, so both hold copies of one pidfd, which systemd's store
# keeps once), another the solo device.
$VMM hold "$RIG_PAIR_A" "$RIG_PAIR_B" >/tmp/h-pair.out &
vmm_pair=$!
$VMM hold "$RIG_SOLO" >/tmp/h-solo.out &
vmm_solo=$!
held_twice() {
	[ "$(grep -c '^HELD ' /tmp/h-pair.out)" = 2 ]
}
wait_until held_twice || fail "the VMM of the pair did not attach both"
wait_for_line /tmp/h-solo.out HELD || fail "the VMM of the solo device did not attach"
id_a=$(sed -n 's/^HELD //p' /tmp/h-pair.out | sed -n 1p)
id_b=$(sed -n 's/^HELD //p' /tmp/h-pair.out | sed -n 2p)
id_solo=$(sed -n 's/^HELD //p' /tmp/h-solo.out)
# The sandboxed daemon raised the VMMs' locked-memory limit to the rig policy's 64 MiB.
check_eq "the VMM's memlock" "67108864 67108864" "$(awk '/^Max locked memory/ { print $4, $5 }' "/proc/$vmm_solo/limits")"
all_listed() {
	listed "$id_a" "$RIG_PAIR_A" && listed "$id_b" "$RIG_PAIR_B" && listed "$id_solo" "$RIG_SOLO"
}
all_listed || fail "attachments not listed: $(vfioctl attachments)"
# Per VMM: VM, container, group and one owner pidfd; and the description.
check_eq "fds in the store" 9 "$(stored_fds)"

# Both VMMs' fds work: config read, DMA map, reset.
recheck() {
	for out in /tmp/h-pair.out /tmp/h-solo.out; do : >"$out"; done
	kill -USR1 "$vmm_pair" "$vmm_solo"
	wait_for_line /tmp/h-pair.out RECHECKED || fail "the pair's devices do not work $1"
	wait_for_line /tmp/h-solo.out RECHECKED || fail "the solo device does not work $1"
}
# Every attachment is there, exclusive, and shown as holding its device.
check_restored() {
	when=$1
	all_listed || fail "attachments lost $when: $(vfioctl attachments)"
	vfioctl -j attachments | tr -d ' \n' | grep -q '"memlock":67108864' ||
		fail "the restored attachments lost their memlock $when: $(vfioctl -j attachments)"
	# A device shows the attachment that holds its group: for the pair, either of the two.
	for held in "$RIG_SOLO $id_solo $id_solo" "$RIG_PAIR_A $id_a $id_b" "$RIG_PAIR_B $id_a $id_b"; do
		set -- $held
		vfioctl devices | awk -v a="$1" -v x="$2" -v y="$3" '$1 == a && ($6 == x || $6 == y) { f = 1 } END { exit !f }' ||
			fail "vfioctl devices does not show $1 held by $2 or $3 $when"
	done
	$VMM expect io.vfiod.DeviceBusy "$RIG_SOLO" >/dev/null || fail "the solo device is not exclusive $when"
	$VMM expect io.vfiod.DeviceBusy "$RIG_PAIR_B" >/dev/null || fail "the pair is not exclusive $when"
	recheck "$when"
}

# A crash: SIGKILL. systemd restarts vfiod (Restart=on-failure) with the stored fds.
old=$(main_pid)
kill -KILL "$old"
wait_until restarted_from "$old" || fail "systemd did not restart vfiod"
check_restored "after the crash"
grep -q "Restored 3 attachment" /tmp/vfiod.log || fail "vfiod did not say it restored the attachments"
check_eq "fds in the store after the crash" 9 "$(stored_fds)"

# An orderly restart keeps them too.
old=$(main_pid)
systemctl restart vfiod.service || fail "systemctl restart failed"
wait_until restarted_from "$old" || fail "vfiod did not come back after systemctl restart"
check_restored "after systemctl restart"

# The VMMs detach from the new instance; the store empties but for the description.
kill -TERM "$vmm_pair" "$vmm_solo"
check_exit "the VMM of the pair that detached after the restarts" "$vmm_pair"
check_exit "the VMM of the solo device that detached after the restarts" "$vmm_solo"
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
# That restore dropped the attachment with the highest id: no id is handed out twice anyway,
# since a VMM may still hold one and Detach by it.
id_dead=$(sed -n 's/^HELD //p' /tmp/h2.out)
$VMM attach-only "$RIG_SOLO" >/tmp/a.out &
vmm=$!
wait_for_line /tmp/a.out ATTACHED || fail "attach-only did not attach"
id_new=$(sed -n 's/^ATTACHED //p' /tmp/a.out)
[ "$id_new" -gt "$id_dead" ] || fail "attachment id $id_new handed out again after a restore (had $id_dead)"
kill -TERM "$vmm"
check_exit "the VMM that attached after the lossy restore" "$vmm"

# `systemctl stop` discards the store: said so in vfiod(8).
systemctl stop vfiod.service
check_eq "fds in the store after stop" 0 "$(stored_fds)"
# Ids are still never handed out again: VMMs outlive a stop and may Detach by their old ids.
# The next instance starts at the watermark in the state directory (StateDirectory=vfiod).
[ -s /var/lib/vfiod/ids ] || fail "no id watermark in /var/lib/vfiod"
$VMM attach-only "$RIG_SOLO" >/tmp/a.out &
vmm=$!
wait_for_line /tmp/a.out ATTACHED || fail "attach-only did not attach after the stop"
id_after_stop=$(sed -n 's/^ATTACHED //p' /tmp/a.out)
[ "$id_after_stop" -gt "$id_new" ] ||
	fail "attachment id $id_after_stop handed out again after a stop (had $id_new)"
kill -TERM "$vmm"
check_exit "the VMM that attached after the stop" "$vmm"
