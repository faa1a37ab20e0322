# Helpers for the rig's test scripts (busybox sh, run as root inside the guest).

# The devices run.sh gives the guest: an e1000e alone in its IOMMU group; two e1000
# behind one PCIe-to-PCI bridge, sharing a group; and an e1000e behind a PCIe switch, whose
# downstream port (on pcieport, without ACS) shares its group; the switch's root port and
# upstream port have groups of their own. Tests read groups from sysfs.
RIG_SOLO=0000:00:02.0
RIG_PAIR_A=0000:02:01.0
RIG_PAIR_B=0000:02:02.0
RIG_SWITCH_ROOT=0000:00:04.0
RIG_SWITCH_UP=0000:03:00.0
RIG_SWITCH_PORT=0000:04:00.0
RIG_SWITCH_EP=0000:05:00.0
RIG_DEVICES="$RIG_SOLO $RIG_PAIR_A $RIG_PAIR_B $RIG_SWITCH_EP"
VFIOD_SOCKET=/run/vfiod/io.vfiod
export VFIOD_SOCKET

fail() {
	echo "FAIL: $*" >&2
	[ -s /tmp/vfiod.log ] && sed 's/^/vfiod: /' /tmp/vfiod.log >&2
	# Under systemd, what it knows of the service: why a start failed, its journal's tail.
	if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		systemctl status --no-pager -n 0 vfiod.service 2>&1 | sed 's/^/systemd: /' >&2
		journalctl --no-pager -o short-monotonic -n 40 2>&1 | sed 's/^/journal: /' >&2
	fi
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

# Seconds wait_until gives a condition before it fails: generous, since the rig runs under
# TCG on a build machine that may be busy with something else. Nothing here waits a fixed
# time for something that can be waited for.
WAIT_SECONDS=120

uptime_seconds() {
	cut -d. -f1 /proc/uptime
}

# Waits up to WAIT_SECONDS for a command to succeed. Its arguments are expanded once, at the
# call: conditions that must be re-read each time go in a function.
wait_until() {
	_wait_deadline=$(($(uptime_seconds) + WAIT_SECONDS))
	while ! "$@" 2>/dev/null; do
		[ "$(uptime_seconds)" -ge "$_wait_deadline" ] && return 1
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

# Hands the device to pci-stub, which holds it for no one (driver_managed_dma: its group stays
# viable).
bind_stub() {
	d=/sys/bus/pci/devices/$1
	echo pci-stub >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
	check_eq "driver of $1" pci-stub "$(driver_of "$1")"
}

reset_devices() {
	for a in $RIG_DEVICES; do
		case "$(driver_of "$a")" in vfio-pci | pci-stub) unbind_vfio "$a" ;; esac
	done
	return 0
}

fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# The daemon's own count of open connections: the number on the last "Connection N from
# ..., M open." or "Connection N closed, M open." line of its --debug log, which it writes
# once the connection's fds are closed; a daemon that starts anew ("Listening on") has none.
open_connections() {
	awk '/^<[0-9]>Listening on / { n = 0 }
	     /^<7>Connection [0-9]+ .*, [0-9]+ open\.$/ { n = $(NF - 1) }
	     END { print n + 0 }' /tmp/vfiod.log
}

# daemon_fds [N]: the daemon's fd count once it has exactly N connections open (default 0:
# provably idle). A client that has exited may still be a connection until the daemon has
# read its hang-up, so a count taken at any other moment is a guess.
daemon_fds() {
	wait_connections "${1:-0}"
	fd_count "$VFIOD_PID"
}

# wait_connections [N]: waits until the daemon has N connections open (default 0).
wait_connections() {
	connections_are() { [ "$(open_connections)" = "$1" ]; }
	wait_until connections_are "${1:-0}" ||
		fail "vfiod did not get down to ${1:-0} open connection(s): $(open_connections) open"
}

# check_fds WHAT BASE [N]: the daemon, once down to N connections, holds BASE fds.
check_fds() {
	check_eq "daemon fds $1" "$2" "$(daemon_fds "${3:-0}")"
}

# check_exit WHAT PID [STATUS]: the background helper PID exits with STATUS (default 0).
check_exit() {
	wait "$2"
	_status=$?
	check_eq "exit status of $1" "${3:-0}" "$_status"
}

# Starts vfiod the way systemd would: socket-activated, on its first connection. Arguments
# go to vfiod (a -c POLICY of the test's own, say).
start_vfiod() {
	mkdir -p /run/vfiod
	rm -f "$VFIOD_SOCKET"
	# As the unit's LimitNOFILE=: vfiod refuses limits that do not fit the hard limit, and the
	# initramfs's is the kernel's 4096.
	ulimit -n 65536
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

# Between tests: no process a test started is left, and none holds a device.
RIG_HELPERS="vmm-test vfiod-example-vmm hostile vfioctl sleep qemu-system-x86_64"
stop_helpers() {
	helpers_gone() { ! pidof $RIG_HELPERS >/dev/null; }
	killall -q -KILL $RIG_HELPERS
	wait_until helpers_gone || fail "still running: $(pidof $RIG_HELPERS)"
}

# Between tests: no vfiod left from the last one (systemd's, or one started by hand).
stop_any_vfiod() {
	if [ -d /run/systemd/system ]; then
		systemctl stop vfiod.service
		# The tests start vfiod many times in a few seconds; each test starts with systemd's
		# start limit (5 starts in 10 s) counted afresh, as if it ran alone.
		systemctl reset-failed vfiod.service vfiod.socket 2>/dev/null
		systemctl start vfiod.socket
	else
		vfiod_gone() { ! pidof vfiod systemd-socket-activate >/dev/null; }
		killall -q -KILL vfiod systemd-socket-activate
		wait_until vfiod_gone || fail "vfiod still running: $(pidof vfiod)"
	fi
	return 0
}
