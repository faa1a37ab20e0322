#!/bin/bash
# The real-kernel rig: boots a 6.12 kernel under QEMU (TCG) with an emulated Intel IOMMU and a
# busybox initramfs holding vfiod, its tools and the tests/vm/*.sh scripts, runs the tests
# inside as root, and reads their results from the serial console. Two kernels are targets:
#   debian  Debian's kernel package (VFIO groups and containers only, as Debian ships it)
#   cdev    Debian's linux-source-6.12 built with IOMMUFD and the vfio cdev (tests/vm/kernel.sh,
#           built once per machine), whose initramfs also holds Debian's unmodified QEMU 10
#           from bookworm-backports, run inside as the VMM
# t-*.sh run under busybox as PID 1, s-*.sh under systemd as PID 1, each on both kernels; a
# test with "cdev" in its name needs the cdev mode and runs on the cdev kernel only.
#
#   tests/vm/run.sh [--kernel K] [TEST...]   run every test, or the named ones, on both
#                                            kernels or on kernel K only
#   tests/vm/run.sh --demo      run demo.sh (on the cdev kernel) and show its output
#   tests/vm/run.sh [--kernel K] --bench
#                               run bench.sh (make bench) on both kernels, or on kernel K only:
#                               the group mode's figures on Debian's, the cdev mode's on the
#                               cdev kernel; prints them, also kept in $BUILD/rig/bench.txt
#
# Environment: BUILD (default build), VFIOD_RIG_CACHE (kernel package and QEMU 10 cache,
# default $BUILD/rig-cache), VFIOD_KERNEL_CACHE (the built kernel's, see kernel.sh),
# VFIOD_RIG_TIMEOUT (seconds for each boot, default 600).
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CACHE=${VFIOD_RIG_CACHE:-$BUILD/rig-cache}
RIG=$BUILD/rig
TIMEOUT=${VFIOD_RIG_TIMEOUT:-600}
KERNEL_PACKAGE=linux-image-6.12.107+deb12-amd64-unsigned
# In load order; dependencies are resolved too (modinfo).
MODULES="irqbypass kvm ccp kvm-amd vfio vfio_iommu_type1 vfio-pci-core vfio-pci pci-stub e1000e e1000"

mode=test
tests=()
kernels="debian cdev"
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) mode=demo ;;
	--bench) mode=bench ;;
	--kernel)
		case "${2:-}" in debian | cdev) kernels=$2 ;; *) echo "run.sh: --kernel debian|cdev" >&2; exit 2 ;; esac
		shift
		;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) tests+=("$1") ;;
	esac
	shift
done

log() { echo "rig: $*" >&2; }

# The kernel package, from the cache or downloaded through apt.
fetch_kernel() {
	mkdir -p "$CACHE"
	chmod 0777 "$CACHE"  # apt-get download drops to _apt where it can
	if ! ls "$CACHE"/linux-image-*.deb >/dev/null 2>&1; then
		local pkg=$KERNEL_PACKAGE
		if ! apt-cache show "$pkg" >/dev/null 2>&1; then
			pkg=$(apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64-unsigned$' |
				awk '{print $1}' | sort -V | tail -n 1)
		fi
		if [ -z "$pkg" ]; then
			log "no 6.12 kernel package known to apt; running apt-get update"
			apt-get update -q >&2
			pkg=$(apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64-unsigned$' |
				awk '{print $1}' | sort -V | tail -n 1)
		fi
		[ -n "$pkg" ] || { log "cannot find Debian's 6.12 kernel package"; exit 1; }
		log "downloading $pkg"
		(cd "$CACHE" && apt-get download -q "$pkg" >&2)
	fi
	if [ ! -d "$CACHE/kernel/boot" ]; then
		rm -rf "$CACHE/kernel"
		dpkg-deb -x "$(ls "$CACHE"/linux-image-*.deb | head -n 1)" "$CACHE/kernel"
	fi
	KVER=$(ls "$CACHE/kernel/lib/modules" | head -n 1)
	VMLINUZ=$CACHE/kernel/boot/vmlinuz-$KVER
}

# The cdev kernel (built once, cached outside the build tree) and Debian's QEMU 10 from
# bookworm-backports, downloaded and unpacked here: the rig runs it, it is not installed.
QEMU_PACKAGES="qemu-system-x86/bookworm-backports qemu-system-data/bookworm-backports seabios/bookworm-backports"
fetch_cdev() {
	CDEV_KERNEL=$(tests/vm/kernel.sh)
	QEMU10=$CACHE/qemu10/root
	if [ ! -x "$QEMU10/usr/bin/qemu-system-x86_64" ]; then
		rm -rf "$CACHE/qemu10"
		mkdir -p "$CACHE/qemu10/debs"
		chmod 0777 "$CACHE/qemu10/debs"
		log "downloading Debian's QEMU 10 from bookworm-backports"
		# shellcheck disable=SC2086
		(cd "$CACHE/qemu10/debs" && apt-get download -q $QEMU_PACKAGES >&2)
		local deb
		for deb in "$CACHE"/qemu10/debs/*.deb; do dpkg-deb -x "$deb" "$CACHE/qemu10/root.new"; done
		mv "$CACHE/qemu10/root.new" "$QEMU10"
	fi
}

# Copies a file into the initramfs root at the same path.
copy_in() {
	local src=$1 dst=$ROOT${2:-$1}
	mkdir -p "$(dirname "$dst")"
	cp -L "$src" "$dst"
}

# Copies an executable and every shared library it loads.
copy_program() {
	local program=$1 dest=$2 lib
	copy_in "$program" "$dest"
	for lib in $(ldd "$program" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }'); do
		[ -e "$ROOT$lib" ] || copy_in "$lib"
	done
}

module_path() {
	find "$CACHE/kernel/lib/modules/$KVER" -name "$1.ko*" | head -n 1
}

# Appends a module after its dependencies to MODULE_ORDER.
add_module() {
	local name=$1 path dep
	case " $MODULE_ORDER " in *" $name "*) return ;; esac
	path=$(module_path "$name")
	[ -n "$path" ] || { log "module $name not in the kernel package"; exit 1; }
	for dep in $(modinfo -F depends "$path" | tr ',' ' '); do
		add_module "$dep"
	done
	MODULE_ORDER="$MODULE_ORDER $name"
	case "$path" in
	*.xz) xz -dc "$path" >"$ROOT/modules/$KVER/$name.ko" ;;
	*.zst) zstd -qdc "$path" >"$ROOT/modules/$KVER/$name.ko" ;;
	*) cp "$path" "$ROOT/modules/$KVER/$name.ko" ;;
	esac
}

# Debian's systemd 252, to run as PID 1 for the s-*.sh tests, with vfiod's own units.
copy_systemd() {
	local unit etc=$ROOT/etc/systemd/system
	copy_program /lib/systemd/systemd /lib/systemd/systemd
	copy_program "$(command -v systemctl)" /usr/bin/systemctl
	mkdir -p "$ROOT/lib/systemd/system" "$etc/vfiod.service.d"
	for unit in sysinit basic sockets timers paths slices local-fs swap shutdown umount final multi-user; do
		cp "/lib/systemd/system/$unit.target" "$ROOT/lib/systemd/system/"
	done
	# journald, for the audit records' fields (s-audit.sh).
	copy_program /lib/systemd/systemd-journald /lib/systemd/systemd-journald
	copy_program "$(command -v journalctl)" /usr/bin/journalctl
	for unit in systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
		systemd-journald-audit.socket; do
		cp "/lib/systemd/system/$unit" "$ROOT/lib/systemd/system/"
	done
	mkdir -p "$ROOT/lib/systemd/system/sockets.target.wants" "$ROOT/lib/systemd/system/sysinit.target.wants"
	ln -sf ../systemd-journald.socket ../systemd-journald-dev-log.socket \
		"$ROOT/lib/systemd/system/sockets.target.wants/"
	ln -sf ../systemd-journald.service "$ROOT/lib/systemd/system/sysinit.target.wants/"
	: >"$ROOT/etc/machine-id"
	for unit in vfiod.socket vfiod.service; do
		sed -e 's|@SBINDIR@|/usr/bin|g' "systemd/$unit.in" >"$etc/$unit"
	done
	# The daemon's log to a file the tests read; a pause before a restart, so that a test
	# can act while vfiod is down.
	cat >"$etc/vfiod.service.d/rig.conf" <<-UNIT
	[Service]
	ExecStart=
	ExecStart=/usr/bin/vfiod --debug
	StandardError=append:/tmp/vfiod.log
	RestartSec=2
	UNIT
	cat >"$etc/vfiod-rig.service" <<-UNIT
	[Unit]
	Description=vfiod rig tests
	After=basic.target vfiod.socket
	[Service]
	Type=oneshot
	ExecStart=/bin/sh /tests/systemd-run.sh
	StandardOutput=tty
	StandardError=tty
	TTYPath=/dev/console
	UNIT
	cat >"$etc/default.target" <<-UNIT
	[Unit]
	Description=vfiod rig
	Requires=basic.target vfiod.socket vfiod-rig.service
	After=basic.target vfiod.socket
	UNIT
}

build_initramfs() {
	ROOT=$RIG/root
	rm -rf "$ROOT"
	mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,run,tmp,modules/$KVER,tests,usr/bin}
	cp /bin/busybox "$ROOT/bin/busybox"
	# Debian's kernel's modules, under its release: the cdev kernel has everything built in.
	MODULE_ORDER=""
	for m in $MODULES; do add_module "$m"; done
	echo "$MODULE_ORDER" >"$ROOT/modules/$KVER/order"

	local p
	for p in "$BUILD/vfiod" "$BUILD/vfioctl" "$BUILD/vfiod-example-vmm" "$BUILD"/vm/*; do
		[ -x "$p" ] && [ -f "$p" ] && copy_program "$p" "/usr/bin/$(basename "$p")"
	done
	copy_program "$(command -v systemd-socket-activate)" /usr/bin/systemd-socket-activate

	cat >"$ROOT/etc/passwd" <<-PASSWD
	root:x:0:0:root:/root:/bin/sh
	vmm:x:1000:1000:test VMM:/tmp:/bin/sh
	other:x:1001:1001:a user the policy does not name:/tmp:/bin/sh
	PASSWD
	cat >"$ROOT/etc/group" <<-GROUP
	root:x:0:
	kvm:x:106:
	vmm:x:1000:
	other:x:1001:
	vmmers:x:2000:vmm
	GROUP
	# The policy the tests run under unless they bring their own (vfiod -c): vmm may use
	# every device, with 64 MiB of locked memory; other none.
	mkdir -p "$ROOT/etc/vfiod"
	cat >"$ROOT/etc/vfiod/vfiod.conf" <<-CONF
	# vfiod.conf(5) of the rig
	allow user:vmm any
	memlock user:vmm 64M
	CONF
	copy_systemd
	cp tests/vm/init "$ROOT/init"
	cp tests/vm/lib.sh tests/vm/runner.sh tests/vm/systemd-run.sh tests/vm/demo.sh tests/vm/bench.sh \
		tests/vm/t-*.sh tests/vm/s-*.sh "$ROOT/tests/"
	chmod 0755 "$ROOT/init" "$ROOT"/tests/*.sh
	(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$RIG/initramfs.gz"
}

# What the cdev kernel's boots add to the initramfs, as a second archive after the first (the
# kernel unpacks both): QEMU 10 with its libraries and firmware, and for the guest QEMU boots,
# the same kernel with an initramfs of its own (tests/vm/nested-init).
build_cdev_initramfs() {
	ROOT=$RIG/root-cdev
	rm -rf "$ROOT"
	mkdir -p "$ROOT/usr/share/qemu" "$ROOT/usr/share/seabios" "$ROOT/nested"
	copy_program "$QEMU10/usr/bin/qemu-system-x86_64" /usr/bin/qemu-system-x86_64
	local f
	for f in kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot_dma.bin pvh.bin; do
		cp "$QEMU10/usr/share/qemu/$f" "$ROOT/usr/share/qemu/"
	done
	cp "$QEMU10/usr/share/seabios/bios-256k.bin" "$ROOT/usr/share/seabios/"
	cp "$CDEV_KERNEL" "$ROOT/nested/bzImage"
	local nested=$RIG/root-nested
	rm -rf "$nested"
	mkdir -p "$nested"/{bin,proc,sys,dev}
	cp /bin/busybox "$nested/bin/busybox"
	cp tests/vm/nested-init "$nested/init"
	chmod 0755 "$nested/init"
	(cd "$nested" && find . | cpio -o -H newc --quiet | gzip -1) >"$ROOT/nested/initramfs.gz"
	(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$RIG/cdev-extra.gz"
	cat "$RIG/initramfs.gz" "$RIG/cdev-extra.gz" >"$RIG/initramfs-cdev.gz"
}

# tcg_threads KERNEL: the outer TCG's threads for the kernel's boots. The cdev kernel's boots
# run a guest of their own under KVM (nested SVM), whose timer interrupts get lost unless each
# of the rig's CPUs has a host thread (multi); that kernel does not patch its own code live
# (tests/vm/kernel.sh), which multi-threaded TCG was seen to get wrong. Debian's: single.
tcg_threads() {
	if [ "$1" = cdev ]; then echo multi; else echo single; fi
}

# boot KERNEL MODE [TESTS...]: one boot of the rig; KERNEL is debian or cdev, MODE test (t-*.sh
# under busybox init), systemd (s-*.sh under systemd as PID 1), demo or bench.
boot() {
	local kernel=$1 boot_mode=$2 vmlinuz=$VMLINUZ initrd=$RIG/initramfs.gz threads
	shift 2
	threads=$(tcg_threads "$kernel")
	if [ "$kernel" = cdev ]; then
		vmlinuz=$CDEV_KERNEL
		initrd=$RIG/initramfs-cdev.gz
	fi
	# no_timer_check: the kernel's early test of the IO-APIC timer counts ticks within a busy
	# loop; on a loaded host, with multi-threaded TCG, it once missed them and, with interrupt
	# remapping on, panicked ("timer doesn't work through Interrupt-remapped IO-APIC").
	local append="console=ttyS0 intel_iommu=on panic=-1 oops=panic quiet no_timer_check vfiod.mode=$boot_mode"
	append="$append vfiod.kernel=$kernel"
	[ $# -gt 0 ] && append="$append vfiod.tests=$(IFS=,; echo "$*")"
	# intel-iommu comes first: QEMU wants the IOMMU before the devices it translates for.
	# 00:02.0 an e1000e alone in its IOMMU group; behind a root port, a PCIe-to-PCI bridge
	# with two e1000 that share one group (conventional PCI has no requester-ID isolation);
	# behind another root port (00:04.0), a PCIe switch (upstream port 03:00.0) whose downstream
	# port (04:00.0, on pcieport, no ACS) shares its group with the e1000e behind it (05:00.0).
	timeout --foreground "$TIMEOUT" qemu-system-x86_64 \
		-machine q35 -accel "tcg,thread=$threads" -cpu qemu64,+svm,+npt -m 1024 -smp 2 \
		-display none -monitor none -serial stdio -no-reboot -nodefaults \
		-device intel-iommu,intremap=on \
		-device e1000e,addr=02.0 \
		-device pcie-root-port,id=rp0,bus=pcie.0,addr=03.0,chassis=1 \
		-device pcie-pci-bridge,id=br0,bus=rp0 \
		-device e1000,bus=br0,addr=01.0 \
		-device e1000,bus=br0,addr=02.0 \
		-device pcie-root-port,id=rp1,bus=pcie.0,addr=04.0,chassis=2,slot=0 \
		-device x3130-upstream,id=up1,bus=rp1 \
		-device xio3130-downstream,id=dn1,bus=up1,chassis=3,slot=0 \
		-device e1000e,bus=dn1 \
		-kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
		</dev/null 2>&1 | tr -d '\r' | tee -a "$RIG/console.log"
	return "${PIPESTATUS[0]}"
}

# Verdict from the console log: every test passed, the run finished, the kernel stayed sane.
verdict() {
	local log=$RIG/console.log passed failed
	passed=$(grep -c '^RIG-PASS ' "$log" || true)
	failed=$(grep -c '^RIG-FAIL ' "$log" || true)
	if grep -qE 'Kernel panic|BUG:|Oops|general protection fault|KASAN|WARNING: CPU' "$log"; then
		log "the kernel complained (see $log)"
		failed=$((failed + 1))
	fi
	if [ "$(grep -c '^RIG-DONE' "$log")" -ne "$BOOTS" ]; then
		log "a boot did not finish (time-out or crash; see $log)"
		failed=$((failed + 1))
	fi
	echo "rig: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# The tests of each boot, by name: t-*.sh or s-*.sh, those named on the command line if any,
# those with "cdev" in their name on the cdev kernel only.
tests_for() {
	local kernel=$1 prefix=$2 t
	local all=()
	if [ ${#tests[@]} -gt 0 ]; then
		all=("${tests[@]}")
	else
		for t in tests/vm/"$prefix"-*.sh; do all+=("$(basename "$t" .sh)"); done
	fi
	for t in "${all[@]}"; do
		case "$t" in "$prefix"-*) ;; *) continue ;; esac
		case "$kernel:$t" in debian:*cdev*) continue ;; esac
		echo "$t"
	done
}

fetch_kernel
case " $kernels $mode " in *" cdev "* | *" demo "*) fetch_cdev ;; esac
mkdir -p "$RIG"
build_initramfs
[ -z "${CDEV_KERNEL:-}" ] || build_cdev_initramfs
: >"$RIG/console.log"
if [ "$mode" = demo ]; then
	log "booting the cdev kernel (demo)"
	boot cdev demo || true
	grep -q '^DEMO-OK' "$RIG/console.log" || { log "the demo failed (see $RIG/console.log)"; exit 1; }
	exit 0
fi
# bench_boot KERNEL: one boot of bench.sh; appends its figures to bench.txt under a heading
# naming the kernel, the emulator's threads and the host's load.
bench_boot() {
	local kernel=$1 start load_before
	log "booting the $kernel kernel (bench)"
	start=$(($(wc -l <"$RIG/console.log") + 1))
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	boot "$kernel" bench || true
	tail -n "+$start" "$RIG/console.log" >"$RIG/bench-$kernel.log"
	grep -q '^BENCH-OK' "$RIG/bench-$kernel.log" || { log "the benchmark failed (see $RIG/console.log)"; exit 1; }
	{
		echo "=== kernel: $kernel (outer TCG thread=$(tcg_threads "$kernel"))"
		echo "host: $(nproc) CPUs, load average $load_before before the boot, $(cut -d' ' -f1-3 /proc/loadavg) after"
		sed -n '/^BENCH-BEGIN$/,/^BENCH-END$/{/^BENCH-/d;p}' "$RIG/bench-$kernel.log"
		echo
	} >>"$RIG/bench.txt"
}

if [ "$mode" = bench ]; then
	: >"$RIG/bench.txt"
	for kernel in $kernels; do bench_boot "$kernel"; done
	echo
	log "figures (also in $RIG/bench.txt):"
	cat "$RIG/bench.txt"
	exit 0
fi
BOOTS=0
for kernel in $kernels; do
	for kind in t s; do
		mapfile -t boot_tests < <(tests_for "$kernel" "$kind")
		[ ${#boot_tests[@]} -gt 0 ] || continue
		boot_mode=test
		[ "$kind" = s ] && boot_mode=systemd
		log "booting the $kernel kernel ($boot_mode): ${boot_tests[*]}"
		BOOTS=$((BOOTS + 1))
		status=0
		boot "$kernel" "$boot_mode" "${boot_tests[@]}" || status=$?
		[ "$status" -eq 124 ] && log "time-out after $TIMEOUT s"
	done
done
[ "$BOOTS" -gt 0 ] || { log "no test to run"; exit 1; }
verdict
