#!/bin/sh
# vfioctl exec against a stand-in daemon (tests/cli/fake-vfiod.py: the real AttachDevice needs
# a kernel with the vfio cdev): the devices attached in order, the first AttachDevice without
# iommuFd and the rest passing the iommufd it returned, the VMM run in vfioctl's place with
# its placeholders replaced, inheriting those fds and no other (the socket closed); errors of
# the daemon and bad placeholders end it without running the VMM.
#
#   tests/cli/exec.sh [BUILD]
#
# Run by make check-unit; exits 1 after reporting every failed check.
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d)
FAKE=
trap 'stop_fake; rm -rf "$DIR"' EXIT
. "$HERE/lib.sh"

# start_fake [BUSY_ADDRESS]: a fresh stand-in daemon and call log.
start_fake() {
	stop_fake
	rm -f "$DIR/sock" "$DIR/calls.log" "$DIR/ran"
	python3 "$HERE/fake-vfiod.py" "$DIR/sock" "$DIR" "$@" &
	FAKE=$!
	for _ in $(seq 100); do
		[ -S "$DIR/sock" ] && return
		sleep 0.05
	done
	fail "the stand-in daemon did not start"
}

stop_fake() {
	[ -n "$FAKE" ] || return 0
	kill "$FAKE" 2>/dev/null
	wait "$FAKE" 2>/dev/null
	FAKE=
}

# The calls the stand-in saw, once it has seen the connection close.
calls() {
	for _ in $(seq 100); do
		grep -q closed "$DIR/calls.log" 2>/dev/null && break
		sleep 0.05
	done
	cat "$DIR/calls.log" 2>/dev/null
}

# The VMM: prints its arguments, then each fd it holds and what it is (but the fds Python
# opens to list them).
cat >"$DIR/vmm.py" <<'EOF'
import os, sys
print("ARGS", *sys.argv[1:])
for name in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        target = os.readlink("/proc/self/fd/" + name)
    except FileNotFoundError:
        continue
    if not target.startswith("/proc/"):
        print("FD", name, target)
EOF
export VFIOD_SOCKET="$DIR/sock"
VFIOCTL="$BUILD/vfioctl"

# Two devices, short and strict spellings, placeholders in either spelling, escaped braces.
start_fake
"$VFIOCTL" exec --device 01:00.0 --device=0000:02:00.0 -- python3 "$DIR/vmm.py" \
	'{iommufd}' 'fd={01:00.0}' '{0000:01:00.0}' '{0000:02:00.0}' '{{"x":{02:00.0}}}' \
	>"$DIR/out" 2>"$DIR/err"
check_eq "exec's exit status" 0 $?
check_eq "exec's stderr" "" "$(cat "$DIR/err")"
iommufd=$(awk -v f="$DIR/iommufd" '$1 == "FD" && $3 == f { print $2 }' "$DIR/out")
one=$(awk -v f="$DIR/device-0000:01:00.0" '$1 == "FD" && $3 == f { print $2 }' "$DIR/out")
two=$(awk -v f="$DIR/device-0000:02:00.0" '$1 == "FD" && $3 == f { print $2 }' "$DIR/out")
check_eq "the VMM's arguments" "ARGS $iommufd fd=$one $one $two {\"x\":$two}" "$(grep '^ARGS' "$DIR/out")"
# What vfioctl was given (its stdio, and whatever its caller leaks) and those three, no more.
fds_of() {
	awk '$1 == "FD" { print $2 }' "$@" | sort -n | tr '\n' ' '
}
python3 "$DIR/vmm.py" >"$DIR/base"
check_eq "fds the VMM inherits" "$(printf 'FD %s\n' "$iommufd" "$one" "$two" | fds_of - "$DIR/base")" \
	"$(fds_of "$DIR/out")"
check_eq "calls" "connected
AttachDevice 0000:01:00.0 new
AttachDevice 0000:02:00.0 passed
closed" "$(calls)"

# The daemon refuses the second device: its error by name, the first detached, no VMM.
start_fake 0000:02:00.0
"$VFIOCTL" exec --device 0000:01:00.0 --device 0000:02:00.0 -- touch "$DIR/ran" 2>"$DIR/err"
check_eq "exit status when a device is busy" 1 $?
grep -q "io.vfiod.AttachDevice of 0000:02:00.0 failed: io.vfiod.DeviceBusy" "$DIR/err" ||
	fail "the daemon's error is not named: $(cat "$DIR/err")"
check_eq "VMM run after an error" no "$([ -e "$DIR/ran" ] && echo yes || echo no)"
check_eq "calls when the second device is busy" "connected
AttachDevice 0000:01:00.0 new
AttachDevice 0000:02:00.0 passed
Detach 1
closed" "$(calls)"

# Bad placeholders and options are usage errors, found before connecting.
start_fake
for args in "--device 01:00.0 -- touch {foo}" "--device 01:00.0 -- touch {01:00.1}" \
	"--device 01:00.0 -- touch {iommufd" "--device 01:00.0 -- touch }" "--device 1:0.0 -- touch x" \
	"--device 01:00.0 --device 0000:01:00.0 -- touch x" "-- touch x" "--device 01:00.0"; do
	# shellcheck disable=SC2086 # split on purpose
	"$VFIOCTL" exec $args 2>/dev/null
	check_eq "exit status of exec $args" 1 $?
done
check_eq "connections for bad command lines" "" "$(cat "$DIR/calls.log" 2>/dev/null)"

# A VMM that cannot be run: env(1)'s exit status.
"$VFIOCTL" exec --device 01:00.0 -- "$DIR/no-such-vmm" 2>/dev/null
check_eq "exit status for a missing VMM" 127 $?

finish exec.sh
