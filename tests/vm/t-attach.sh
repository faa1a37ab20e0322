#!/bin/sh
# The attach path on the real kernel: an unprivileged VMM gets working VFIO fds through
# vfiod, and every refusal answers the right error while the daemon leaks nothing.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
# Debian's udev rule makes /dev/kvm 0666; the initramfs has no udev.
chmod 0666 /dev/kvm

bind_vfio "$RIG_SOLO"
bind_vfio "$RIG_PAIR_A"
bind_vfio "$RIG_PAIR_B"
SOLO_GROUP=$(group_of "$RIG_SOLO")
PAIR_GROUP=$(group_of "$RIG_PAIR_A")

start_vfiod
base=$(daemon_fds)

# Unprivileged for real: no root, no capabilities, no access to the group nodes.
$VMM unprivileged "$SOLO_GROUP" "$PAIR_GROUP" || fail "vmm-test is not unprivileged"

# One device: config IDs, DMA map, reset, regions and IRQs through the fds.
$VMM attach "$RIG_SOLO" || fail "attaching $RIG_SOLO"
# Two devices of one group and the solo device on one VM: one container, one KVM VFIO device.
$VMM attach "$RIG_PAIR_A" "$RIG_PAIR_B" "$RIG_SOLO" || fail "attaching three devices to one VM"
check_fds "after attach and detach" "$base"

# A group held by one VM is busy for another.
$VMM hold "$RIG_SOLO" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the holder did not attach"
id=$(sed -n 's/^HELD //p' /tmp/hold.out)
$VMM expect io.vfiod.DeviceBusy "$RIG_SOLO" >/tmp/busy.out || fail "second VM was not refused"
grep -q "\"attachment\":$id" /tmp/busy.out || fail "DeviceBusy does not name attachment $id: $(cat /tmp/busy.out)"
vfioctl attachments | grep -q "^ *$id $RIG_SOLO .* yes *group$" ||
	fail "vfioctl attachments does not list $id, device open, in the group mode: $(vfioctl attachments)"
vfioctl devices | awk -v a="$RIG_SOLO" -v id="$id" '$1 == a && $6 == id { found = 1 } END { exit !found }' ||
	fail "vfioctl devices does not show $RIG_SOLO held by $id"
# OpenDevice belongs to the process that attached.
$VMM expect-open io.vfiod.PermissionDenied "$id" || fail "OpenDevice from another process was not refused"
kill -TERM "$holder"
check_exit "the holder" "$holder"
check_eq "attachments after the holder detached" "" "$(vfioctl attachments | sed 1d)"

# A VM fd held by a process that did not create it: KVM answers it EIO, and vfiod refuses it
# the VM's container (which maps the creator's memory) before any kernel work.
$VMM foreign-vm "$RIG_SOLO" "$RIG_PAIR_A" >/tmp/foreign.out 2>&1 || fail "foreign VM fd: $(cat /tmp/foreign.out)"
grep -q "^EIO$" /tmp/foreign.out || fail "KVM did not answer EIO to the other process: $(cat /tmp/foreign.out)"
grep -q "denied to pid [0-9]* uid 1000: its VM is attached by pid" /tmp/vfiod.log ||
	fail "the foreign VM fd was not refused in the audit trail"
check_eq "attachments after the foreign VM test" "" "$(vfioctl attachments | sed 1d)"

# Refusals, each with its error; after each the daemon still serves and holds no stray fd.
refused() {
	$VMM "$@" || fail "not refused as expected: $*"
	check_fds "after: $*" "$base"
	vfioctl info >/dev/null || fail "the daemon stopped answering after: $*"
}
refused expect io.vfiod.NoSuchDevice 0000:0f:1f.7
for bad in ../.. 0000:00:02.0/../../x %s "" 0000:00:02.0x 0000:00:02.8 0000:00:20.0; do
	refused expect io.vfiod.InvalidAddress "$bad"
done
for kind in pipe null kvm-system; do
	refused expect io.vfiod.NotAVirtualMachine "$RIG_SOLO" "$kind"
done
refused expect-open io.vfiod.NoSuchAttachment 4242

# A group with a member on a host driver is not viable, and names it.
unbind_vfio "$RIG_PAIR_B"
refused expect io.vfiod.GroupNotViable "$RIG_PAIR_A" >/tmp/viable.out
grep -q "$RIG_PAIR_B" /tmp/viable.out || fail "GroupNotViable does not name $RIG_PAIR_B: $(cat /tmp/viable.out)"

check_fds "after the refusals" "$base"

# All of the above ran with no capability but CAP_SYS_RESOURCE (bit 24, for prlimit) and
# no_new_privs (vfiod(8), PRIVILEGES), in every thread: capabilities are per thread, and the
# workers that did the kernel work started after the daemon dropped them.
threads=$(ls "/proc/$VFIOD_PID/task" | wc -l)
[ "$threads" -gt 1 ] || fail "vfiod has no worker thread after the attaches"
for task in /proc/$VFIOD_PID/task/*; do
	for set in CapEff CapPrm CapBnd; do
		check_eq "$set of vfiod's thread $(basename "$task")" 0000000001000000 \
			"$(awk -v s="$set:" '$1 == s { print $2 }' "$task/status")"
	done
	for set in CapInh CapAmb; do
		check_eq "$set of vfiod's thread $(basename "$task")" 0000000000000000 \
			"$(awk -v s="$set:" '$1 == s { print $2 }' "$task/status")"
	done
	check_eq "NoNewPrivs of vfiod's thread $(basename "$task")" 1 \
		"$(awk '$1 == "NoNewPrivs:" { print $2 }' "$task/status")"
done
# A kernel without IOMMUFD and the vfio cdev (Debian's): AttachDevice names the missing node.
if [ ! -e /dev/iommu ]; then
	$VMM expect --cdev io.vfiod.KernelError "$RIG_SOLO" >/tmp/cdev.out || fail "AttachDevice without /dev/iommu"
	grep -q '/dev/iommu' /tmp/cdev.out || fail "KernelError does not name /dev/iommu: $(cat /tmp/cdev.out)"
fi
vfioctl info >/dev/null || fail "the daemon stopped answering"
stop_vfiod
