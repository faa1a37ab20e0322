#!/bin/bash
# The README's commands on a machine that has never seen the project: a Debian 12 chroot made
# by debootstrap (build-essential and git only), a clean clone of this repository's HEAD, and
# the commands run there one after the other, as root. A green CI on a developer's machine,
# where packages installed by hand stay, once hid that they failed on a fresh one.
#
#   tests/fresh-machine.sh [--busy] [--repeat N] [COMMAND...]
#
#   COMMAND      shell commands run in the clone, in order (default: "make deps check")
#   --repeat N   then the last command N more times, in the same chroot
#   --busy       keep one core busy meanwhile, as a build machine doing something else would
#
# Needs root; installs debootstrap on the host when missing. The pristine chroot is kept in
# $VFIOD_FRESH_DIR/base (default /var/tmp/vfiod-fresh) and copied for each run, so every run
# starts fresh; logs go to $VFIOD_FRESH_DIR/logs. Not part of `make check` (`make check-fresh`).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
DIR=${VFIOD_FRESH_DIR:-/var/tmp/vfiod-fresh}
BASE=$DIR/base
RUN=$DIR/run
LOGS=$DIR/logs

busy=0
repeat=0
commands=()
while [ $# -gt 0 ]; do
	case "$1" in
	--busy) busy=1 ;;
	--repeat) repeat=$2; shift ;;
	-*) echo "fresh-machine.sh: unknown option $1" >&2; exit 2 ;;
	*) commands+=("$1") ;;
	esac
	shift
done
[ ${#commands[@]} -gt 0 ] || commands=("make deps check")
for ((i = 0; i < repeat; i++)); do commands+=("${commands[-1]}"); done

log() { echo "fresh: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, chroot)"; exit 1; }
if ! command -v debootstrap >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
fi
if [ ! -x "$BASE/usr/bin/git" ]; then
	log "debootstrap bookworm (build-essential, git) into $BASE"
	rm -rf "$BASE"
	mkdir -p "$DIR"
	debootstrap --include=build-essential,git bookworm "$BASE" >"$DIR/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$DIR/debootstrap.log"; exit 1; }
fi

log "a fresh copy of the chroot, and a clean clone of $(git rev-parse --short HEAD)"
rm -rf "$RUN" "$LOGS"
mkdir -p "$LOGS"
cp -a "$BASE" "$RUN"
cp /etc/resolv.conf "$RUN/etc/resolv.conf"
git clone -q --no-local "$REPO" "$RUN/root/vfiod"
git -C "$RUN/root/vfiod" checkout -q "$(git rev-parse HEAD)"

if [ "$busy" -eq 1 ]; then
	sh -c 'while :; do :; done' &
	burner=$!
	trap 'kill $burner 2>/dev/null || true' EXIT
	log "one core kept busy by pid $burner"
fi

# Each command in a mount namespace of its own, with /proc, /sys and /dev as a machine has.
run_in_chroot() {
	unshare -m --propagation private sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount -t sysfs sysfs "$1/sys"
		mount --rbind /dev "$1/dev"
		mount -t tmpfs tmpfs "$1/run"
		mount -t tmpfs tmpfs "$1/tmp"
		exec chroot "$1" /usr/bin/env -i HOME=/root TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -c "cd /root/vfiod && $2"' sh "$RUN" "$1"
}

passed=0
failed=0
n=0
for command in "${commands[@]}"; do
	n=$((n + 1))
	start=$(date +%s)
	if run_in_chroot "$command" >"$LOGS/$n.log" 2>&1; then
		passed=$((passed + 1))
		verdict=passed
	else
		failed=$((failed + 1))
		verdict=FAILED
	fi
	log "run $n, '$command': $verdict in $(($(date +%s) - start)) s (log: $LOGS/$n.log)"
	if [ "$verdict" = FAILED ]; then
		grep -aE 'FAIL|Error|error:' "$LOGS/$n.log" | tail -n 20 >&2 || true
		break
	fi
done
echo "fresh-machine: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
