#!/bin/sh
# Install every Debian 12 package that building and testing vfiod needs, and make sure apt
# knows the suite the rig's kernel package comes from. Idempotent; run as root (CI and the
# README's commands call it).
set -eu

PACKAGES="
  build-essential pkg-config
  libsystemd-dev libjson-c-dev libcap-ng-dev libcmocka-dev
  clang llvm libclang-rt-14-dev
  systemd
  qemu-system-x86 busybox-static cpio xz-utils zstd kmod
  python3
"
# The rig boots Debian's 6.12 kernel package, which bookworm ships in bookworm-security only.
KERNEL_PATTERN='^linux-image-6\.12\..*\+deb12-amd64-unsigned$'
SOURCES_FILE=/etc/apt/sources.list.d/vfiod-rig.list

as_root=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps.sh: run as root (packages to install, apt sources to check)" >&2
		exit 1
	fi
	as_root="sudo"
fi
apt_get() {
	$as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# The URI apt fetches bookworm's main suite from, in either sources format.
debian_mirror() {
	{
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk '/^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ { print uri; exit }'
	} | head -n 1
}

# A machine made by debootstrap knows bookworm's main suite only: add bookworm-security
# beside it, from the same mirror's security archive. Returns 0 when a source was added.
add_security_suite() {
	grep -qs 'bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources && return 1
	mirror=$(debian_mirror | sed 's|/*$||')
	case "$mirror" in
	*/debian) ;;
	*)
		echo "deps.sh: apt has no bookworm-security suite, which the rig's kernel package comes" \
			"from, and no Debian mirror to add it beside: add bookworm-security to apt's sources" >&2
		exit 1
		;;
	esac
	echo "deps.sh: adding bookworm-security to apt's sources ($SOURCES_FILE)"
	echo "deb ${mirror}-security bookworm-security main" | $as_root tee "$SOURCES_FILE" >/dev/null
	return 0
}

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
updated=0
if add_security_suite; then
	apt_get update -q
	updated=1
fi
if [ -n "$missing" ]; then
	echo "deps.sh: installing$missing"
	[ "$updated" -eq 1 ] || apt_get update -q
	# shellcheck disable=SC2086
	apt_get install -y -q --no-install-recommends $missing
fi
if [ -z "$(apt-cache search --names-only "$KERNEL_PATTERN")" ]; then
	apt_get update -q
	[ -n "$(apt-cache search --names-only "$KERNEL_PATTERN")" ] ||
		{ echo "deps.sh: apt knows no Debian 6.12 kernel package (linux-image-6.12.*+deb12-amd64-unsigned)" >&2; exit 1; }
fi
exit 0
