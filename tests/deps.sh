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
  linux-source-6.12 bc flex bison libelf-dev libssl-dev
"
# The rig boots Debian's 6.12 kernel package, which bookworm ships in bookworm-security only,
# and a kernel of its own built from linux-source-6.12 (also bookworm-security only; see
# tests/vm/kernel.sh). Inside it runs Debian's QEMU 10 from bookworm-backports, which the rig
# downloads and unpacks (tests/vm/run.sh); this installs the libraries it links, all bookworm's.
# Backports are pinned low by apt itself: adding the suite upgrades nothing.
KERNEL_PATTERN='^linux-image-6\.12\..*\+deb12-amd64-unsigned$'
QEMU_BACKPORT=qemu-system-x86/bookworm-backports
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

# Whether apt's sources name a suite already.
has_suite() {
	grep -qs "$1" /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources
}

# A machine made by debootstrap knows bookworm's main suite only: add bookworm-security and
# bookworm-backports beside it, from the same mirror. Returns 0 when a source was added.
add_suites() {
	local lines="" mirror
	mirror=$(debian_mirror | sed 's|/*$||')
	has_suite bookworm-security || lines="deb ${mirror}-security bookworm-security main"
	has_suite bookworm-backports || lines="$lines${lines:+
}deb ${mirror} bookworm-backports main"
	[ -n "$lines" ] || return 1
	case "$mirror" in
	*/debian) ;;
	*)
		echo "deps.sh: apt lacks bookworm-security or bookworm-backports, which the rig's kernel" \
			"and QEMU come from, and has no Debian mirror to add them beside: add them to apt's sources" >&2
		exit 1
		;;
	esac
	echo "deps.sh: adding to apt's sources ($SOURCES_FILE):"
	echo "$lines" | sed 's/^/  /'
	{ [ -f "$SOURCES_FILE" ] && cat "$SOURCES_FILE"; echo "$lines"; } | $as_root tee "$SOURCES_FILE.new" >/dev/null
	$as_root mv "$SOURCES_FILE.new" "$SOURCES_FILE"
	return 0
}

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
updated=0
if add_suites; then
	apt_get update -q
	updated=1
fi
# The libraries QEMU 10 links (its Depends: that are libraries), installed from bookworm.
qemu_libs=$(apt-cache depends "$QEMU_BACKPORT" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^(lib|zlib)/ { print $2 }')
if [ -z "$qemu_libs" ]; then
	[ "$updated" -eq 1 ] || { apt_get update -q; updated=1; }
	qemu_libs=$(apt-cache depends "$QEMU_BACKPORT" |
		awk '$1 == "Depends:" && $2 ~ /^(lib|zlib)/ { print $2 }')
	[ -n "$qemu_libs" ] || { echo "deps.sh: apt knows no $QEMU_BACKPORT" >&2; exit 1; }
fi
for p in $qemu_libs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
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
