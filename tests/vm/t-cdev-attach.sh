#!/bin/sh
# The cdev mode through libvfiod on the real kernel: an unprivileged VMM gets a device's vfio
# cdev and an iommufd from AttachDevice, binds the device to the iommufd itself, maps memory
# through an IOAS, reads the device's IDs and resets it; both devices of the shared group go to
# one VM on one iommufd, the switch's endpoint despite the port on pcieport in its group; a
# group is one VM's in either mode; a fd that is not the caller's iommufd is refused; the
# memlock grant bounds what the iommufd pins; and the daemon keeps nothing once it is over.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
chmod 0666 /dev/kvm
[ -c /dev/iommu ] || fail "this kernel has no /dev/iommu"
for d in $RIG_DEVICES; do bind_vfio "$d"; done

start_vfiod
base=$(daemon_fds)

# Which of the daemon's fds are the cdev mode's nodes.
cdev_fds() {
	ls -l "/proc/$VFIOD_PID/fd" | grep -c '/dev/iommu\|/dev/vfio/devices/' || true
}
# The daemon closes its copies of an attachment's cdev and iommufd in a job of its own, once
# the attachment has ended: wait for that before counting.
released() { [ "$(cdev_fds)" = 0 ]; }
wait_released() {
	wait_until released || fail "vfiod still holds $(cdev_fds) cdev or iommufd fd(s) $1"
}

# One device: mode cdev, bound (a devid), config IDs, reset, regions and IRQs, IOAS, DMA map,
# the KVM VFIO device.
$VMM attach --cdev "$RIG_SOLO" || fail "attaching $RIG_SOLO in the cdev mode"
# Both devices of the shared group and the solo device on one VM: one iommufd, one IOAS.
$VMM attach --cdev "$RIG_PAIR_A" "$RIG_PAIR_B" "$RIG_SOLO" || fail "attaching three devices to one VM"
# The endpoint behind the switch, whose group holds the downstream port on pcieport.
$VMM attach --cdev "$RIG_SWITCH_EP" || fail "attaching $RIG_SWITCH_EP behind the switch in the cdev mode"
wait_released "after the cdev attaches ended"
check_fds "after the cdev attaches ended" "$base"

# The example VMM of libvfiod(3), as a VMM author would start from it.
runas 1000 1000 vfiod-example-vmm --once --cdev --map=1M "$RIG_SOLO" >/tmp/example.out 2>&1 ||
	fail "the example VMM failed: $(cat /tmp/example.out)"
cat /tmp/example.out
for line in "mode cdev" "dma: mapped 1048576 bytes" "device: vendor 8086 device 10d3" "reset: ok"; do
	grep -q "$line" /tmp/example.out || fail "the example VMM did not print '$line'"
done
# The rig's policy grants 64 MiB of locked memory: the iommufd, charging the process, refuses
# to pin 128 MiB, with the kernel's own error.
runas 1000 1000 vfiod-example-vmm --once --cdev --map=128M "$RIG_SOLO" >/tmp/example.out 2>&1 &&
	fail "the example VMM pinned 128 MiB with 64 MiB granted"
grep -q "dma: mapping 134217728 bytes through the IOAS failed: Cannot allocate memory" /tmp/example.out ||
	fail "the 128 MiB map failed otherwise: $(cat /tmp/example.out)"

# A group held in the cdev mode is busy for another VM, in either mode, and the reverse.
$VMM hold --cdev "$RIG_SOLO" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the holder did not attach"
id=$(sed -n 's/^HELD //p' /tmp/hold.out)
check_eq "the daemon's cdev and iommufd copies while held" 2 "$(cdev_fds)"
vfioctl attachments | grep "^ *$id $RIG_SOLO" | grep -q cdev || fail "vfioctl attachments does not show $id in the cdev mode"
$VMM expect --cdev io.vfiod.DeviceBusy "$RIG_SOLO" >/tmp/busy.out || fail "a second VM got the device in the cdev mode"
grep -q "\"attachment\":$id" /tmp/busy.out || fail "DeviceBusy does not name $id: $(cat /tmp/busy.out)"
$VMM expect io.vfiod.DeviceBusy "$RIG_SOLO" >/dev/null || fail "Attach got a group held in the cdev mode"
kill -TERM "$holder"
check_exit "the cdev holder" "$holder"
wait_released "after the holder's detach"
$VMM hold "$RIG_PAIR_A" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the group-mode holder did not attach"
$VMM expect --cdev io.vfiod.DeviceBusy "$RIG_PAIR_B" >/dev/null || fail "AttachDevice got a group held in the group mode"
kill -TERM "$holder"
check_exit "the group-mode holder" "$holder"

# Only an iommufd this daemon gave the caller names a VM.
for fd in pipe null kvm-system vm; do
	$VMM expect --cdev io.vfiod.NotAnIommufd "$RIG_SOLO" "$fd" >/dev/null ||
		fail "a $fd fd passed as iommuFd was not refused NotAnIommufd"
done
check_eq "attachments at the end" "" "$(vfioctl attachments | sed 1d)"
wait_released "at the end"
check_fds "at the end" "$base"
stop_vfiod
