#!/bin/sh
# Under Debian's systemd as PID 1: Bind and Unbind work inside the shipped unit's sandbox,
# where ProtectKernelTunables= leaves /sys read-only but for the paths ReadWritePaths= names,
# and fail without those paths.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
reset_devices
SOLO_GROUP=$(group_of "$RIG_SOLO")
DROPIN=/etc/systemd/system/vfiod.service.d/zz-no-sysfs.conf

mkdir -p /etc/vfiod/vfiod.conf.d
echo "assignable device:$RIG_SOLO" >/etc/vfiod/vfiod.conf.d/50-bind.conf
main_pid() {
	systemctl show -P MainPID vfiod.service
}
# The mount options of path in vfiod's mount namespace.
mount_options() {
	awk -v p="$1" '$5 == p { print $6 }' "/proc/$(main_pid)/mountinfo" | tail -n 1
}
solo_on() { [ "$(driver_of "$RIG_SOLO")" = "$1" ]; }

# Without the unit's ReadWritePaths=, /sys is read-only for vfiod: the bind fails at its first
# write and the device stays where it is.
printf '[Service]\nReadWritePaths=\n' >"$DROPIN"
systemctl daemon-reload
systemctl stop vfiod.service
if vfioctl bind "$RIG_SOLO" >/tmp/rofs.out 2>&1; then fail "bind succeeded with /sys read-only"; fi
grep -q "io.vfiod.KernelError.*driver_override.*Read-only file system" /tmp/rofs.out ||
	fail "bind with /sys read-only: $(cat /tmp/rofs.out)"
check_eq "driver of $RIG_SOLO after the refused bind" e1000e "$(driver_of "$RIG_SOLO")"
rm -f "$DROPIN"
systemctl daemon-reload
systemctl stop vfiod.service

# The shipped unit: the bind goes through, and /sys stays read-only outside those paths.
vfioctl bind "$RIG_SOLO" >/tmp/bind.out || fail "vfioctl bind under the unit: $(cat /tmp/bind.out)"
check_eq "driver of $RIG_SOLO after bind" vfio-pci "$(driver_of "$RIG_SOLO")"
wait_until test -e "/dev/vfio/$SOLO_GROUP" || fail "no /dev/vfio/$SOLO_GROUP after bind"
case "$(mount_options /sys)" in ro,*) ;; *) fail "/sys is not read-only for vfiod: $(mount_options /sys)" ;; esac
case "$(mount_options /sys/devices)" in rw,*) ;; *) fail "/sys/devices is not writable for vfiod" ;; esac
check_eq "vfiod's bounding set has no CAP_DAC_OVERRIDE" 0 \
	"$(( 0x$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$(main_pid)/status") & 2 ))"
grep -q "Bind of $RIG_SOLO by pid [0-9]* uid 0: done" /tmp/vfiod.log || fail "the bind was not audited"

# The bound device serves a VMM, and goes back to e1000e afterwards.
$VMM attach "$RIG_SOLO" || fail "vmm could not attach $RIG_SOLO after the bind"
vfioctl unbind "$RIG_SOLO" >/tmp/unbind.out || fail "vfioctl unbind under the unit: $(cat /tmp/unbind.out)"
wait_until solo_on e1000e || fail "$RIG_SOLO did not return to e1000e: $(driver_of "$RIG_SOLO")"

rm -f /etc/vfiod/vfiod.conf.d/50-bind.conf
systemctl stop vfiod.service
