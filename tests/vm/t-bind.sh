#!/bin/sh
# Bind and Unbind on the real kernel: an admin hands an assignable device to vfio-pci and
# gives it back to its host driver through vfiod; other users, devices the policy does not
# name assignable, groups in use, a missing vfio-pci and a device the host uses (its
# interface up, unless forced) are refused, each with its error, and every outcome is
# audited.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
reset_devices
SOLO_GROUP=$(group_of "$RIG_SOLO")
PAIR_GROUP=$(group_of "$RIG_PAIR_A")
check_eq "driver of $RIG_SOLO at the start" e1000e "$(driver_of "$RIG_SOLO")"
check_eq "driver of $RIG_PAIR_B at the start" e1000 "$(driver_of "$RIG_PAIR_B")"

cat >/tmp/bind.conf <<CONF
# the rig's bind test: vmm may attach the solo device; two devices are assignable
allow user:vmm device:$RIG_SOLO
assignable device:$RIG_SOLO
assignable device:$RIG_PAIR_A
CONF
start_vfiod -c /tmp/bind.conf
base=$(daemon_fds)

# refused ERROR COMMAND...: the command fails and prints the Varlink error.
refused() {
	error=$1
	shift
	if "$@" >/tmp/refused.out 2>&1; then fail "not refused: $*"; fi
	grep -q "$error" /tmp/refused.out || fail "$*: expected $error, got: $(cat /tmp/refused.out)"
}
solo_on() { [ "$(driver_of "$RIG_SOLO")" = "$1" ]; }

# vfio-pci not loaded: refused before the device leaves its host driver, which keeps it, and
# no override is left behind (the device would get no driver at its next probe). A module on
# Debian's kernel; the cdev kernel has it built in, and there it cannot be missing.
module=/modules/$(uname -r)/vfio-pci.ko
if [ -f "$module" ]; then
	rmmod vfio_pci || fail "could not unload vfio-pci"
	refused io.vfiod.KernelError vfioctl bind "$RIG_SOLO"
	grep -q "find the vfio-pci driver" /tmp/refused.out || fail "not refused for the missing driver: $(cat /tmp/refused.out)"
	check_eq "driver of $RIG_SOLO with vfio-pci unloaded" e1000e "$(driver_of "$RIG_SOLO")"
	check_eq "driver_override of $RIG_SOLO with vfio-pci unloaded" "(null)" "$(cat "/sys/bus/pci/devices/$RIG_SOLO/driver_override")"
	insmod "$module" || fail "could not load vfio-pci again"
fi

# Root is an admin: the solo device goes to vfio-pci, its group node appears, and vmm can
# attach it.
vfioctl bind "$RIG_SOLO" >/tmp/bind.out || fail "vfioctl bind $RIG_SOLO: $(cat /tmp/bind.out)"
check_eq "driver of $RIG_SOLO after bind" vfio-pci "$(driver_of "$RIG_SOLO")"
check_eq "driver_override of $RIG_SOLO" vfio-pci "$(cat "/sys/bus/pci/devices/$RIG_SOLO/driver_override")"
awk -v a="$RIG_SOLO" '$1 == a && $4 == "vfio-pci" { f = 1 } END { exit !f }' /tmp/bind.out ||
	fail "vfioctl bind did not print $RIG_SOLO on vfio-pci: $(cat /tmp/bind.out)"
wait_until test -e "/dev/vfio/$SOLO_GROUP" || fail "no /dev/vfio/$SOLO_GROUP after bind"
grep -q "Bind of $RIG_SOLO by pid [0-9]* uid 0: done" /tmp/vfiod.log || fail "the bind was not audited"
$VMM attach "$RIG_SOLO" || fail "vmm could not attach $RIG_SOLO after the bind"

# Binding again is harmless, and monitors hear of each bind. A monitor hears only what
# happens after its call was read, so bind until it has heard one.
vfioctl -j monitor >/tmp/monitor.out &
monitor=$!
heard_bind() {
	vfioctl bind "$RIG_SOLO" >/dev/null || return 1
	grep -q "\"kind\":\"bind\".*\"address\":\"$RIG_SOLO\"" /tmp/monitor.out
}
wait_until heard_bind || fail "monitors were not told of the bind: $(cat /tmp/monitor.out)"
check_eq "driver of $RIG_SOLO after binding again" vfio-pci "$(driver_of "$RIG_SOLO")"

# Not an admin: refused, and audited as a denial.
refused io.vfiod.PermissionDenied runas 1000 1000 vfioctl unbind "$RIG_SOLO"
refused io.vfiod.PermissionDenied runas 1001 1001 vfioctl bind "$RIG_PAIR_A"
check_eq "driver of $RIG_SOLO after vmm's unbind" vfio-pci "$(driver_of "$RIG_SOLO")"
check_eq "driver of $RIG_PAIR_A after other's bind" e1000 "$(driver_of "$RIG_PAIR_A")"
grep -q "Unbind of $RIG_SOLO by pid [0-9]* uid 1000: denied, not an admin" /tmp/vfiod.log ||
	fail "the denial was not audited"

# Not named assignable, or not a device: refused.
refused io.vfiod.NotAssignable vfioctl bind "$RIG_PAIR_B"
check_eq "driver of $RIG_PAIR_B after a refused bind" e1000 "$(driver_of "$RIG_PAIR_B")"
refused io.vfiod.InvalidAddress vfioctl bind ../../devices
refused io.vfiod.NoSuchDevice vfioctl bind 0000:0f:1f.7

# Attached: refused while the attachment lasts.
$VMM hold "$RIG_SOLO" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the holder did not attach"
id=$(sed -n 's/^HELD //p' /tmp/hold.out)
refused io.vfiod.DeviceBusy vfioctl unbind "$RIG_SOLO"
grep -q "\"attachment\":$id" /tmp/refused.out || fail "DeviceBusy does not name attachment $id: $(cat /tmp/refused.out)"
check_eq "driver of $RIG_SOLO while attached" vfio-pci "$(driver_of "$RIG_SOLO")"
kill -TERM "$holder"
check_exit "the holder" "$holder"

# A group held open outside vfiod: unbinding would wait in the kernel, so it is refused.
sh -c "exec 3<>/dev/vfio/$SOLO_GROUP; echo OPEN; exec sleep 86400" >/tmp/open.out &
opener=$!
wait_for_line /tmp/open.out OPEN || fail "could not open /dev/vfio/$SOLO_GROUP"
refused io.vfiod.KernelError vfioctl unbind "$RIG_SOLO"
grep -q "Device or resource busy" /tmp/refused.out || fail "not refused for the open group: $(cat /tmp/refused.out)"
check_eq "driver of $RIG_SOLO while its group is open" vfio-pci "$(driver_of "$RIG_SOLO")"
# Bind too: whoever holds the group file reaches every member vfio-pci takes.
refused io.vfiod.KernelError vfioctl bind "$RIG_SOLO"
grep -q "Device or resource busy" /tmp/refused.out || fail "bind not refused for the open group: $(cat /tmp/refused.out)"
grep -q "Bind of $RIG_SOLO by pid [0-9]* uid 0: refused, its IOMMU group is open" /tmp/vfiod.log ||
	fail "the refused bind was not audited"
kill -TERM "$opener"
check_exit "the process holding /dev/vfio/$SOLO_GROUP open" "$opener" 143

# A VMM that detached but kept its device fd: no attachment and no group fd of its own (the
# device fd holds the group file, which the open probe sees), and still the kernel's unbind
# would wait for it. Refused too, and the daemon goes on answering.
$VMM keep-device "$RIG_SOLO" >/tmp/keep.out &
keeper=$!
wait_for_line /tmp/keep.out KEPT || fail "the keeper did not keep its device: $(cat /tmp/keep.out)"
check_eq "attachments while only a device fd is kept" "" "$(vfioctl attachments | sed 1d)"
refusals() { grep -c "Unbind of $RIG_SOLO by pid [0-9]* uid 0: refused" /tmp/vfiod.log; }
before=$(refusals)
refused io.vfiod.KernelError vfioctl unbind "$RIG_SOLO"
grep -q "Device or resource busy" /tmp/refused.out || fail "not refused for the open device: $(cat /tmp/refused.out)"
check_eq "unbind refusals audited" $((before + 1)) "$(refusals)"
check_eq "driver of $RIG_SOLO while its device is open" vfio-pci "$(driver_of "$RIG_SOLO")"
vfioctl info >/dev/null || fail "the daemon stopped answering"
kill -TERM "$keeper"
check_exit "the keeper" "$keeper"

# Unbind: back to e1000e, the override cleared, the group node gone.
vfioctl unbind "$RIG_SOLO" >/tmp/unbind.out || fail "vfioctl unbind $RIG_SOLO: $(cat /tmp/unbind.out)"
wait_until solo_on e1000e || fail "$RIG_SOLO did not return to e1000e: $(driver_of "$RIG_SOLO")"
check_eq "driver_override of $RIG_SOLO after unbind" "(null)" "$(cat "/sys/bus/pci/devices/$RIG_SOLO/driver_override")"
wait_until test ! -e "/dev/vfio/$SOLO_GROUP" || fail "/dev/vfio/$SOLO_GROUP still there after unbind"
grep -q "Unbind of $RIG_SOLO by pid [0-9]* uid 0: done" /tmp/vfiod.log || fail "the unbind was not audited"
wait_for_line /tmp/monitor.out "\"kind\":\"unbind\"" || fail "monitors were not told of the unbind"

# The host's interface on the device is up: Bind refuses to take it away, unless forced.
has_interface() { ls "/sys/bus/pci/devices/$RIG_SOLO/net" 2>/dev/null | grep -q .; }
wait_until has_interface || fail "$RIG_SOLO on e1000e has no network interface"
iface=$(ls "/sys/bus/pci/devices/$RIG_SOLO/net" | head -n 1)
ip link set dev "$iface" up || fail "could not set $iface up"
refused io.vfiod.KernelError vfioctl bind "$RIG_SOLO"
grep -q "network interface $iface is up" /tmp/refused.out || fail "not refused for $iface up: $(cat /tmp/refused.out)"
check_eq "driver of $RIG_SOLO with $iface up" e1000e "$(driver_of "$RIG_SOLO")"
vfioctl bind --force "$RIG_SOLO" >/dev/null || fail "vfioctl bind --force $RIG_SOLO: $(cat /tmp/refused.out)"
check_eq "driver of $RIG_SOLO after a forced bind" vfio-pci "$(driver_of "$RIG_SOLO")"
vfioctl unbind "$RIG_SOLO" >/dev/null || fail "vfioctl unbind $RIG_SOLO after the forced bind"
wait_until solo_on e1000e || fail "$RIG_SOLO did not return to e1000e after the forced bind"

# One member of a shared group: bound alone, its group is not viable while its mate stays
# on e1000; given back, both are on e1000 again.
vfioctl bind "$RIG_PAIR_A" >/dev/null || fail "vfioctl bind $RIG_PAIR_A"
check_eq "driver of $RIG_PAIR_A after bind" vfio-pci "$(driver_of "$RIG_PAIR_A")"
vfioctl devices | awk -v a="$RIG_PAIR_A" '$1 == a && $5 == "no" { f = 1 } END { exit !f }' ||
	fail "$RIG_PAIR_A's group (group $PAIR_GROUP) is shown viable with $RIG_PAIR_B on e1000"
vfioctl unbind "$RIG_PAIR_A" >/dev/null || fail "vfioctl unbind $RIG_PAIR_A"
check_eq "driver of $RIG_PAIR_A after unbind" e1000 "$(driver_of "$RIG_PAIR_A")"

kill -TERM "$monitor"
check_exit "vfioctl monitor" "$monitor" 143
check_fds "after the bind tests" "$base"
stop_vfiod
echo "t-bind: ok"
