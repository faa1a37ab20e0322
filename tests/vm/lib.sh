# Helpers for the rig's test scripts (busybox sh, run as root inside the guest).

# The devices run.sh gives the guest: an e1000e alone in its IOMMU group, and two e1000
# behind one PCIe-to-PCI bridge, sharing a group. Tests read groups from sysfs.
RIG_SOLO=0000:00:02.0
RIG_PAIR_A=0000:02:01.0
RIG_PAIR_B=0000:02:02.0
RIG_DEVICES="$RIG_SOLO $RIG_PAIR_A $RIG_PAIR_B"
VFIOD_SOCKET=/run/vfiod/io.vfiod
export VFIOD_SOCKET

fail() {
	echo "FAIL: $*" >&2
	[ -s /tmp/vfiod.log ] && sed 's/^/vfiod: /' /tmp/vfiod.log >&2
	exit 1
}

check_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

group_of() {
	basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"
}

driver_of() {
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	else
		echo -
	fi
}

# Waits up to 10 s for a command to succeed. Its arguments are expanded once, at the call:
# conditions that must be re-read each time go in a function.
wait_until() {
	i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 100 ] && return 1
		sleep 0.1
	done
	return 0
}

wait_for_line() {
	wait_until grep -q "$2" "$1"
}

# Hands the device to vfio-pci (driver_override, unbind, drivers_probe).
bind_vfio() {
	d=/sys/bus/pci/devices/$1
	echo vfio-pci >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
	wait_until test -e "/dev/vfio/$(group_of "$1")" || fail "no /dev/vfio node for $1"
	check_eq "driver of $1" vfio-pci "$(driver_of "$1")"
}

# Gives the device back to its host driver.
unbind_vfio() {
	d=/sys/bus/pci/devices/$1
	echo >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
	wait_until test -e "$d/driver" || fail "$1 did not return to a host driver"
}

reset_devices() {
	for a in $RIG_DEVICES; do
		[ "$(driver_of "$a")" = vfio-pci ] && unbind_vfio "$a"
	done
	return 0
}

fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# Starts vfiod the way systemd would: socket-activated, on its first connection. Arguments
# go to vfiod (a -c POLICY of the test's own, say).
start_vfiod() {
	mkdir -p /run/vfiod
	rm -f "$VFIOD_SOCKET"
	systemd-socket-activate -l "$VFIOD_SOCKET" vfiod --debug "$@" 2>/tmp/vfiod.log &
	VFIOD_PID=$!
	wait_until test -S "$VFIOD_SOCKET" || fail "vfiod's socket did not appear"
	# As vfiod.socket's SocketMode=0666: anyone may connect, calls are checked one by one.
	chmod 0666 "$VFIOD_SOCKET"
	# The first call starts the daemon; from then on VFIOD_PID is vfiod itself.
	vfioctl info >/dev/null || fail "vfiod did not answer"
	wait_until grep -q vfiod "/proc/$VFIOD_PID/comm" || fail "vfiod did not start"
}

stop_vfiod() {
	kill -TERM "$VFIOD_PID"
	wait "$VFIOD_PID"
	status=$?
	check_eq "vfiod exit status after SIGTERM" 0 "$status"
}

# Between tests: no vfiod left from the last one (systemd's, or one started by hand).
stop_any_vfiod() {
	if [ -d /run/systemd/system ]; then
		systemctl stop vfiod.service
	else
		killall -q -KILL vfiod
		killall -q -KILL systemd-socket-activate
	fi
	return 0
}
