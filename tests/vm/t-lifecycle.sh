#!/bin/sh
# Lifecycle on the real kernel: detach, attachments released when their VMM dies (at any
# point), the VM not kept alive by the daemon, and Monitor seeing every event in order.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
chmod 0666 /dev/kvm
for a in $RIG_DEVICES; do bind_vfio "$a"; done
start_vfiod
vfioctl monitor >/tmp/monitor.out 2>&1 &
monitor=$!
# vfioctl info was connection 1; the monitor is connection 2.
wait_until grep -q "Connection 2 from" /tmp/vfiod.log || fail "the monitor did not connect"
# From here on the monitor is the one connection an idle daemon has.
base=$(daemon_fds 1)

# The daemon holds no VM fd once no attachment is left.
vm_fds() {
	ls -l "/proc/$VFIOD_PID/fd" | grep -c 'anon_inode:kvm-vm'
}
no_attachments() {
	[ -z "$(vfioctl attachments | sed 1d)" ]
}
# killed WHAT PID: the VMM PID, killed with SIGKILL, loses its attachments; the daemon lets
# go of its VM and the group is attachable again, by another VM.
killed() {
	check_exit "$1" "$2" 137
	wait_until no_attachments || fail "$1: attachments still listed: $(vfioctl attachments)"
	check_eq "$1: daemon VM fds" 0 "$(vm_fds)"
	$VMM attach "$RIG_SOLO" >/dev/null || fail "$1: $RIG_SOLO not attachable again"
}

# attach -> detach, 200 times: no fd growth, the group reusable every time.
$VMM cycle 200 "$RIG_SOLO" || fail "200 attach/detach cycles"
check_fds "after 200 cycles" "$base" 1

# SIGKILL right after Attach (before the KVM step and OpenDevice).
$VMM attach-only "$RIG_SOLO" >/tmp/a.out &
pid=$!
wait_for_line /tmp/a.out ATTACHED || fail "attach-only did not attach"
check_eq "VM fds while attached" 1 "$(vm_fds)"
kill -KILL "$pid"
killed "killed after Attach" "$pid"

# SIGKILL after OpenDevice, device fd open.
$VMM hold "$RIG_SOLO" >/tmp/h.out &
pid=$!
wait_for_line /tmp/h.out HELD || fail "hold did not attach"
kill -KILL "$pid"
killed "killed after OpenDevice" "$pid"

# Two VMs, three devices, one VMM killed: only its attachments go.
$VMM hold "$RIG_SOLO" >/tmp/h1.out &
one=$!
wait_for_line /tmp/h1.out HELD || fail "first VMM did not attach"
$VMM hold "$RIG_PAIR_A" "$RIG_PAIR_B" >/tmp/h2.out &
two=$!
attachment_count() {
	vfioctl attachments | sed 1d | wc -l
}
held_twice() {
	[ "$(grep -c HELD /tmp/h2.out)" -eq 2 ]
}
only_one_left() {
	[ "$(attachment_count)" -eq 1 ]
}
wait_until held_twice || fail "second VMM did not attach both"
check_eq "attachments of two VMs" 3 "$(attachment_count)"
check_eq "VM fds of two VMs" 2 "$(vm_fds)"
kill -KILL "$two"
check_exit "the killed VMM" "$two" 137
wait_until only_one_left || fail "the killed VMM's attachments stayed: $(vfioctl attachments)"
vfioctl attachments | grep -q " $RIG_SOLO " || fail "the surviving VMM lost its attachment"
check_eq "VM fds after one VMM died" 1 "$(vm_fds)"
# Detach by request, from the VMM itself.
kill -TERM "$one"
check_exit "the surviving VMM" "$one"
wait_until no_attachments || fail "attachments left after the detach"

# An admin detaches someone else's attachment.
$VMM attach-only "$RIG_SOLO" >/tmp/a2.out &
pid=$!
wait_for_line /tmp/a2.out ATTACHED || fail "attach-only did not attach"
id=$(sed -n 's/^ATTACHED //p' /tmp/a2.out)
vfioctl detach "$id" || fail "root could not detach $id"
wait_until no_attachments || fail "attachment $id left after the admin detach"
# The VMM still holds its group fd, which no detach can revoke: the group cannot be opened
# again until the VMM lets go (vfiod(8), LIFECYCLE).
$VMM expect io.vfiod.KernelError "$RIG_SOLO" >/tmp/ebusy.out || fail "attach while the old VMM holds the group"
grep -q '"errno":16' /tmp/ebusy.out || fail "not EBUSY: $(cat /tmp/ebusy.out)"
kill -KILL "$pid"
check_exit "the VMM whose attachment the admin took" "$pid" 137
wait_until $VMM attach "$RIG_SOLO" || fail "$RIG_SOLO not attachable once the old VMM died"
if runas 1000 1000 vfioctl detach 99 2>/tmp/err.out; then fail "detach of an unknown id succeeded"; fi
grep -q NoSuchAttachment /tmp/err.out || fail "no NoSuchAttachment: $(cat /tmp/err.out)"

check_fds "at the end" "$base" 1
check_eq "daemon VM fds at the end" 0 "$(vm_fds)"

# The monitor saw it all, in order (skipping the 200 cycles' attach/detach pairs). Every
# event was sent before the call that caused it was answered, but the monitor may not have
# printed the last ones yet: wait for them before stopping it.
events_printed() {
	[ "$(grep -c -E '^[^ ]+ +(attach|detach) ' /tmp/monitor.out)" -ge 418 ]
}
wait_until events_printed || fail "the monitor printed $(wc -l </tmp/monitor.out) lines, not 418 events"
kill -TERM "$monitor"
check_exit "vfioctl monitor" "$monitor" 143
# Each line: time, kind, id, address, mode, reason; the kind and reason kept.
sed -n 's/^[^ ]* \([a-z]*\) *[0-9]* [0-9a-f:.]* [a-z-]* *\(.*\)$/\1 \2/p' /tmp/monitor.out | sed 's/ *$//' >/tmp/events
check_eq "events" 418 "$(wc -l </tmp/events)"
check_eq "events after the cycles" "attach
detach process-exit
attach
detach request
attach
detach process-exit
attach
detach request
attach
attach
attach
detach process-exit
detach process-exit
detach request
attach
detach admin
attach
detach request" "$(sed -n '401,$p' /tmp/events)"
# A VMM that goes away right after sending its Attach: the daemon meets its end before,
# while or after the kernel work (which runs on a worker), and in every case nothing stays
# and the group is attachable again. (After the monitor: whether an abandoned attach was
# first granted, and so heard of, depends on where the daemon met the VMM's end.)
base=$(daemon_fds)
for i in 1 2 3 4 5; do
	$VMM attach-abandon "$RIG_SOLO" >/dev/null || fail "attach-abandon $i"
	wait_until no_attachments || fail "abandoned attach $i left: $(vfioctl attachments)"
	$VMM attach "$RIG_SOLO" >/dev/null || fail "$RIG_SOLO not attachable after abandoned attach $i"
done
check_fds "after abandoned attaches" "$base"
check_eq "daemon VM fds after abandoned attaches" 0 "$(vm_fds)"
stop_vfiod
