#!/bin/sh
# vfiod --check-policy and vfioctl check-policy, from the build tree: the daemon's verdict on
# policy files as a user without privileges, vfioctl repeating it under its own name with the
# same exit status, how vfioctl finds vfiod, and that vfioctl links no daemon code.
#
#   tests/cli/check-policy.sh [BUILD]
#
# Environment: SBINDIR, the directory vfioctl was built to find vfiod in (make check-unit
# passes it). Run by make check-unit; exits 1 after reporting every failed check.
set -u
umask 022
BUILD=$(cd "${1:-build}" && pwd)
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
chmod 0755 "$DIR"
. "$(dirname "$0")/lib.sh"

# The binaries, copied where any user may run them (a clone under /root is not such a place).
mkdir "$DIR/bin" "$DIR/fake"
cp "$BUILD/vfiod" "$BUILD/vfioctl" "$DIR/bin/"
VFIOD=$DIR/bin/vfiod
VFIOCTL=$DIR/bin/vfioctl

# run NAME [VAR=VALUE...] COMMAND...: runs COMMAND with VAR set, as nobody when we are root,
# keeping its stdout, stderr and exit status in $DIR/NAME.out, .err and .status.
AS_NOBODY=
[ "$(id -u)" = 0 ] && AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
run() {
	_name=$1
	shift
	$AS_NOBODY env "$@" >"$DIR/$_name.out" 2>"$DIR/$_name.err"
	echo $? >"$DIR/$_name.status"
}

# verdict NAME: "STATUS|STDOUT|STDERR" of a run, lines joined with '/'.
verdict() {
	printf '%s|%s|%s' "$(cat "$DIR/$1.status")" "$(tr '\n' / <"$DIR/$1.out")" "$(tr '\n' / <"$DIR/$1.err")"
}

# Policies: a valid one with a drop-in (and a file the daemon does not read), a bad line, a bad
# drop-in.
P=$DIR/policy
mkdir -p "$P/good.conf.d" "$P/dropin.conf.d"
printf '# the test policy\nadmin user:0\nallow group:0 id:8086:10d3\n' >"$P/good.conf"
echo "memlock user:0 1G" >"$P/good.conf.d/10-memlock.conf"
echo "admin user:1" >"$P/good.conf.d/ignored.txt"
printf 'admin user:0\nallow user:0 device:../..\n' >"$P/bad.conf"
echo "admin user:0" >"$P/dropin.conf"
printf '\nfrobnicate\n' >"$P/dropin.conf.d/20-bad.conf"
BAD_DEVICE="bad device 'device:../..' (expected any, device:ADDRESS, id:VVVV:DDDD or iommu-group:N)"
BAD_RULE="unknown rule 'frobnicate' (expected admin, allow, memlock, assignable or limit)"

# The daemon's verdict: no socket, no privilege.
run good "$VFIOD" --check-policy "$P/good.conf"
check_eq "vfiod --check-policy on a valid file" "0|$P/good.conf: valid, 3 rule(s)/|" "$(verdict good)"
run bad "$VFIOD" --check-policy "$P/bad.conf"
check_eq "vfiod --check-policy on a bad line" "1||$P/bad.conf:2: $BAD_DEVICE/" "$(verdict bad)"
run dropin "$VFIOD" --check-policy "$P/dropin.conf"
check_eq "vfiod --check-policy on a bad drop-in" "1||$P/dropin.conf.d/20-bad.conf:2: $BAD_RULE/" \
	"$(verdict dropin)"
run missing "$VFIOD" --check-policy "$P/missing.conf"
check_eq "vfiod --check-policy on a missing file" "1||$P/missing.conf: No such file or directory/" \
	"$(verdict missing)"

# vfioctl says the same under its own name, with the same exit status.
export VFIOD_BINARY="$VFIOD"
run good "$VFIOCTL" check-policy "$P/good.conf"
check_eq "vfioctl check-policy on a valid file" "0|$P/good.conf: valid, 3 rule(s)/|" "$(verdict good)"
run bad "$VFIOCTL" check-policy "$P/bad.conf"
check_eq "vfioctl check-policy on a bad line" "1||vfioctl: $P/bad.conf:2: $BAD_DEVICE/" "$(verdict bad)"
run dropin "$VFIOCTL" check-policy "$P/dropin.conf"
check_eq "vfioctl check-policy on a bad drop-in" "1||vfioctl: $P/dropin.conf.d/20-bad.conf:2: $BAD_RULE/" \
	"$(verdict dropin)"
run missing "$VFIOCTL" check-policy "$P/missing.conf"
check_eq "vfioctl check-policy on a missing file" "1||vfioctl: $P/missing.conf: No such file or directory/" \
	"$(verdict missing)"
run usage "$VFIOCTL" check-policy
check_eq "vfioctl check-policy without a file" "1||vfioctl: check-policy takes one file/" "$(verdict usage)"

# What vfioctl runs and how it reads the answer: a fake vfiod that shows its arguments, writes
# two lines to stderr (the last without a newline) and fails with status 3.
cat >"$DIR/fake/vfiod" <<'FAKE'
#!/bin/sh
echo "args: $*"
printf 'first\nsecond' >&2
exit 3
FAKE
chmod 0755 "$DIR/fake/vfiod"
run fake VFIOD_BINARY="$DIR/fake/vfiod" "$VFIOCTL" check-policy "$P/good.conf"
check_eq "vfioctl over a failing vfiod" "1|args: --check-policy $P/good.conf/|vfioctl: first/vfioctl: second/" \
	"$(verdict fake)"
printf '#!/bin/sh\nkill -KILL $$\n' >"$DIR/fake/vfiod"
run killed VFIOD_BINARY="$DIR/fake/vfiod" "$VFIOCTL" check-policy "$P/good.conf"
check_eq "vfioctl over a vfiod killed" "1||vfioctl: vfiod --check-policy killed by signal 9/" "$(verdict killed)"
run none VFIOD_BINARY="$DIR/none" "$VFIOCTL" check-policy "$P/good.conf"
check_eq "vfioctl without the vfiod it was told of" "1||vfioctl: cannot run $DIR/none: No such file or directory/" \
	"$(verdict none)"

# Without VFIOD_BINARY: the installed vfiod, else the first vfiod on PATH.
unset VFIOD_BINARY
if [ -e "${SBINDIR:-/usr/local/sbin}/vfiod" ]; then
	echo "check-policy.sh: ${SBINDIR:-/usr/local/sbin}/vfiod is installed; the PATH fallback is not tried"
else
	run path PATH="$DIR/bin:$PATH" "$VFIOCTL" check-policy "$P/good.conf"
	check_eq "vfioctl finding vfiod on PATH" "0|$P/good.conf: valid, 3 rule(s)/|" "$(verdict path)"
	run nopath PATH=/nonexistent "$VFIOCTL" check-policy "$P/good.conf"
	check_eq "vfioctl finding no vfiod" \
		"1||vfioctl: cannot run ${SBINDIR:-/usr/local/sbin}/vfiod or vfiod on PATH: No such file or directory/" \
		"$(verdict nopath)"
fi

# vfioctl carries no daemon code: none of the daemon's modules is linked into it (and the
# listing does hold what vfioctl does link, libvfiod).
symbols=$(nm --defined-only "$VFIOCTL" | awk '{ print $3 }')
check_eq "libvfiod in vfioctl" vfiod_connect "$(echo "$symbols" | grep -x vfiod_connect)"
check_eq "daemon functions in vfioctl" "" \
	"$(echo "$symbols" | grep -E '^(policy|sysfs|manager|state|vfio|caps|persist|audit)_' | tr '\n' ' ')"

finish check-policy.sh
