#!/bin/sh
# The demo: vfiod socket-activated on a real kernel under a policy, an admin binding a device
# to vfio-pci through it, an unprivileged VMM attaching that device (its locked-memory limit
# raised by the policy), another user refused, and vfioctl showing it all; then Debian's
# unmodified QEMU 10, unprivileged, started by `vfioctl exec` with the iommufd and device cdev
# vfiod hands out, realizing the device and booting a guest that drives it.
. "$(dirname "$0")/lib.sh"

step() { printf '\n### %s\n' "$*"; }

chmod 0666 /dev/kvm
step "the policy (vfiod.conf(5)): vmm may attach $RIG_SOLO with 256 MiB of locked memory"
cat >/tmp/demo.conf <<CONF
allow user:vmm device:$RIG_SOLO
memlock user:vmm 256M
assignable device:$RIG_SOLO
CONF
cat /tmp/demo.conf
vfioctl check-policy /tmp/demo.conf
step "vfiod, socket-activated; vfioctl info"
start_vfiod -c /tmp/demo.conf
vfioctl info
step "vfioctl devices (host drivers bound)"
vfioctl devices
step "vfioctl bind $RIG_SOLO (root is an admin)"
vfioctl bind "$RIG_SOLO" || fail "bind failed"
wait_until test -e "/dev/vfio/$(group_of "$RIG_SOLO")" || fail "no group node after bind"
step "an unprivileged VMM (uid 1000, no access to /dev/vfio/$(group_of "$RIG_SOLO")) attaches $RIG_SOLO"
ls -l /dev/vfio
runas 1000 1000 vfiod-example-vmm "$RIG_SOLO" >/tmp/vmm.out 2>&1 &
vmm=$!
wait_for_line /tmp/vmm.out '^device:' || { cat /tmp/vmm.out; fail "the VMM did not attach"; }
cat /tmp/vmm.out
grep '^Max locked memory' "/proc/$vmm/limits"
step "a user the policy does not name (uid 1001) is refused"
runas 1001 1001 vfiod-example-vmm "$RIG_SOLO" 2>&1 && fail "uid 1001 was given the device"
step "vfioctl attachments (root sees all)"
vfioctl attachments
vfioctl devices
step "the VMM detaches and exits"
kill -TERM "$vmm"
wait "$vmm" || fail "the VMM failed"
tail -n 1 /tmp/vmm.out
vfioctl attachments
step "unmodified QEMU 10 (uid 1000) through the launcher: vfioctl exec hands it an iommufd and the device's cdev"
cat <<'CMD'
runas 1000 1000 vfioctl exec --device 0000:00:02.0 -- qemu-system-x86_64 -machine q35 -accel kvm -cpu host \
    -m 64 -nodefaults -display none -S -qmp unix:/tmp/qemu.qmp,server=on,wait=off \
    -object iommufd,id=iommufd0,fd={iommufd} -device vfio-pci,iommufd=iommufd0,fd={0000:00:02.0}
CMD
vfioctl monitor >/tmp/monitor.out 2>&1 &
monitor=$!
runas 1000 1000 vfioctl exec --device "$RIG_SOLO" -- qemu-system-x86_64 -machine q35 -accel kvm -cpu host \
	-m 64 -nodefaults -display none -S -qmp unix:/tmp/qemu.qmp,server=on,wait=off \
	-object 'iommufd,id=iommufd0,fd={iommufd}' -device "vfio-pci,iommufd=iommufd0,fd={$RIG_SOLO}" \
	>/tmp/qemu.out 2>&1 &
qemu=$!
wait_until test -S /tmp/qemu.qmp || fail "QEMU did not start: $(cat /tmp/qemu.out)"
wait_until qmp /tmp/qemu.qmp query-pci >/tmp/pci.out || fail "QEMU does not answer: $(cat /tmp/qemu.out)"
step "QEMU's own view (QMP query-pci): the device it realized from the cdev, with its real IDs"
grep -o '"desc": "Ethernet controller"}, "id": {"device": [0-9]*, "subsystem-vendor": [0-9]*, "vendor": [0-9]*' /tmp/pci.out |
	awk -F'[:,{}]+' '{ printf "Ethernet controller, vendor 0x%04x device 0x%04x\n", $(NF), $(NF - 4) }'
grep -q '"device": 4307, "subsystem-vendor": [0-9]*, "vendor": 32902' /tmp/pci.out || fail "QEMU does not show 8086:10d3"
step "vfioctl attachments: QEMU's process holds it, in the cdev mode"
vfioctl attachments
grep -q "Max locked memory" "/proc/$qemu/limits" && grep '^Max locked memory' "/proc/$qemu/limits"
step "QEMU exits; vfioctl monitor saw the attachment made, and released with the process"
kill -KILL "$qemu"
wait "$qemu"
wait_until grep -q detach /tmp/monitor.out || fail "no detach event"
kill "$monitor"
cat /tmp/monitor.out
step "QEMU 10 again, now running a guest (KVM on the rig's nested SVM) whose own e1000e driver takes the device"
runas 1000 1000 vfioctl exec --device "$RIG_SOLO" -- qemu-system-x86_64 -machine q35 -accel kvm -cpu host \
	-m 128 -nodefaults -display none -serial file:/tmp/guest.out -no-reboot \
	-kernel /nested/bzImage -initrd /nested/initramfs.gz -append "console=ttyS0 panic=-1 quiet" \
	-object 'iommufd,id=iommufd0,fd={iommufd}' -device "vfio-pci,iommufd=iommufd0,fd={$RIG_SOLO}" ||
	fail "QEMU with a guest failed"
grep -E '^NESTED-(PCI|LOG|NET)' /tmp/guest.out | sed 's/^NESTED-[A-Z]* /guest: /'
grep -q "0x8086:0x10d3 driver=e1000e" /tmp/guest.out || fail "the guest's e1000e driver did not take the device"
step "vfioctl unbind $RIG_SOLO: back to its host driver"
vfioctl unbind "$RIG_SOLO" || fail "unbind failed"
step "the audit trail (in the journal with VFIOD_* fields when journald runs)"
grep -E "denied|Attachment [0-9]+:|Bind of|Unbind of" /tmp/vfiod.log | sed 's/^<[0-9]>//'
stop_vfiod
echo DEMO-OK
