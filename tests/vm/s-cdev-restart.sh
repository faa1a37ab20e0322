#!/bin/sh
# Under Debian's systemd as PID 1, the cdev mode across restarts: an unprivileged QEMU 10
# started by `vfioctl exec` holds the e1000e through the iommufd and cdev vfiod handed out;
# vfiod crashes (SIGKILL) and is restarted by systemd, then restarted by `systemctl restart`,
# and each time the attachment is listed again in the cdev mode, the device stays QEMU's and
# no other VMM's, and QEMU's exit still releases it.
. "$(dirname "$0")/lib.sh"

[ -c /dev/iommu ] || fail "this kernel has no /dev/iommu"
bind_vfio "$RIG_SOLO"

main_pid() {
	systemctl show -P MainPID vfiod.service
}
restarted_from() {
	pid=$(main_pid)
	[ "$pid" != 0 ] && [ "$pid" != "$1" ] && systemctl is-active -q vfiod.service
}

vfioctl info >/dev/null || fail "socket activation did not start vfiod"
# The shipped unit's device list lets the sandboxed daemon open /dev/iommu and the cdevs.
rm -f /tmp/q.qmp
(exec runas 1000 1000 vfioctl exec --device "$RIG_SOLO" -- qemu-system-x86_64 -machine q35 -m 32 \
	-nodefaults -display none -accel kvm -cpu host -S -qmp unix:/tmp/q.qmp,server=on,wait=off \
	-object 'iommufd,id=i0,fd={iommufd}' -device "vfio-pci,iommufd=i0,fd={$RIG_SOLO}" >/tmp/q.out 2>&1) &
q=$!
wait_until test -S /tmp/q.qmp || fail "QEMU did not start: $(cat /tmp/q.out)"
ids=$(printf '"id": \\{"device": %d, "subsystem-vendor": [0-9]+, "vendor": %d' "$(cat "/sys/bus/pci/devices/$RIG_SOLO/device")" \
	"$(cat "/sys/bus/pci/devices/$RIG_SOLO/vendor")")

check_held() {
	when=$1
	vfioctl attachments >/tmp/list.out
	grep "$RIG_SOLO" /tmp/list.out | grep -w "$q" | grep -q cdev ||
		fail "QEMU's cdev attachment is not listed $when: $(cat /tmp/list.out)"
	qmp /tmp/q.qmp query-pci | grep -Eq "$ids" || fail "QEMU lost its device $when"
	runas 1000 1000 vfioctl exec --device "$RIG_SOLO" -- true >/tmp/busy.out 2>&1 &&
		fail "another VMM got the device $when"
	grep -q io.vfiod.DeviceBusy /tmp/busy.out || fail "another VMM was not answered DeviceBusy $when: $(cat /tmp/busy.out)"
}
check_held "at first"

old=$(main_pid)
kill -KILL "$old"
wait_until restarted_from "$old" || fail "systemd did not restart vfiod"
check_held "after the crash"

old=$(main_pid)
systemctl restart vfiod.service || fail "systemctl restart failed"
wait_until restarted_from "$old" || fail "vfiod did not come back after systemctl restart"
check_held "after systemctl restart"

# QEMU's exit, seen by the restored instance, releases the device.
kill -KILL "$q"
wait "$q"
no_attachments() { [ -z "$(vfioctl attachments | sed 1d)" ]; }
wait_until no_attachments || fail "the attachment outlived QEMU: $(vfioctl attachments)"
runas 1000 1000 vfioctl exec --device "$RIG_SOLO" -- true || fail "the device is not free after QEMU's exit"
