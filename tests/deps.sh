#!/bin/sh
# Install every Debian 12 package that building and testing vfiod needs.
# Idempotent; run as root (CI and the README's commands call it).
set -eu

PACKAGES="
  build-essential pkg-config
  libsystemd-dev libjson-c-dev libcap-ng-dev libcmocka-dev
  clang llvm libclang-rt-14-dev
  systemd
  qemu-system-x86 busybox-static cpio xz-utils zstd kmod
  python3
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

as_root=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps.sh: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	as_root="sudo"
fi
echo "deps.sh: installing$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
