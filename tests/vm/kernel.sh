#!/bin/bash
# The rig's second kernel: Debian's linux-source-6.12 built with IOMMUFD and the vfio device
# cdev (/dev/iommu, /dev/vfio/devices/vfioN), which none of Debian's kernel packages has.
# Everything it needs is built in, so the rig loads no modules on it.
#
#   tests/vm/kernel.sh     prints the path of the bzImage, building it first when the cache
#                          has none for this source version and this configuration
#
# The cache outlives the build tree and the clone (`make clean` keeps it): $VFIOD_KERNEL_CACHE,
# default /var/cache/vfiod-rig as root, else ${XDG_CACHE_HOME:-~/.cache}/vfiod-rig. One build
# takes about 15 minutes on two cores; progress goes to stderr.
set -euo pipefail

TARBALL=/usr/src/linux-source-6.12.tar.xz
# On top of x86_64's defconfig and kvm_guest.config: the vIOMMU with interrupt remapping, both
# VFIO front ends (group/container and iommufd/cdev), vfio-pci and pci-stub, KVM for AMD (the
# rig's CPU model is AMD's, with nested SVM) and the emulated NICs the rig passes through.
OPTIONS="INTEL_IOMMU IRQ_REMAP IOMMUFD VFIO VFIO_DEVICE_CDEV VFIO_GROUP VFIO_CONTAINER
	VFIO_IOMMU_TYPE1 VFIO_PCI VFIO_PCI_CORE PCI_STUB KVM KVM_AMD KVM_VFIO E1000 E1000E
	PCIEPORTBUS DEVTMPFS DEVTMPFS_MOUNT BLK_DEV_INITRD RD_GZIP TMPFS"
# Off: the kernel's live patching of its own code (static keys, which KVM flips when it makes a
# VM; ftrace; kprobes; the preemption model switched at boot). The rig runs this kernel under
# multi-threaded TCG (run.sh), which does not always see one CPU's patch in time on the other:
# an int3 the patching left was seen executed after the patch had ended (an oops).
DISABLE="JUMP_LABEL FUNCTION_TRACER KPROBES PREEMPT_DYNAMIC"

log() { echo "rig-kernel: $*" >&2; }

[ -r "$TARBALL" ] || { log "$TARBALL missing: install linux-source-6.12 (make deps)"; exit 1; }
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$(printf '%s\n' "$version" $OPTIONS - $DISABLE | sha256sum | cut -c1-12)
if [ -n "${VFIOD_KERNEL_CACHE:-}" ]; then
	cache=$VFIOD_KERNEL_CACHE
elif [ "$(id -u)" -eq 0 ]; then
	cache=/var/cache/vfiod-rig
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/vfiod-rig
fi
dir=$cache/linux-$version-$key
mkdir -p "$cache"

# One build at a time per cache; a second caller waits and then finds the image.
exec 9>"$cache/.lock"
flock 9
if [ -f "$dir/bzImage" ]; then
	echo "$dir/bzImage"
	exit 0
fi

work=$cache/build
rm -rf "$work"
mkdir -p "$work"
log "building linux-source-6.12 $version with IOMMUFD and the vfio cdev, once (cache: $dir)"
tar -xf "$TARBALL" -C "$work"
src=$(echo "$work"/linux-source-6.12)
cd "$src"
make -s defconfig >&2
make -s kvm_guest.config >&2
enable=()
for o in $OPTIONS; do enable+=(-e "$o"); done
for o in $DISABLE; do enable+=(-d "$o"); done
scripts/config "${enable[@]}"
make -s olddefconfig >&2
for o in $OPTIONS; do
	grep -qx "CONFIG_$o=y" .config || { log "CONFIG_$o did not end up built in"; exit 1; }
done
for o in $DISABLE; do
	! grep -q "^CONFIG_$o=" .config || { log "CONFIG_$o could not be turned off"; exit 1; }
done

# Progress: a line every 250 objects, the whole log kept beside the cache for a failure.
jobs=$(nproc)
start=$(date +%s)
if ! make -j"$jobs" bzImage 2>&1 | tee "$cache/build.log" |
	awk -v start="$start" '/^ *(CC|AS|LD|AR)/ { n++; if (n % 250 == 0) {
		"date +%s" | getline now; close("date +%s");
		printf "rig-kernel: %d objects, %d s\n", n, now - start > "/dev/stderr" } }'; then
	:
fi
[ -f arch/x86/boot/bzImage ] || { tail -n 40 "$cache/build.log" >&2; log "the build failed"; exit 1; }
mkdir -p "$dir"
cp arch/x86/boot/bzImage .config "$dir/"
cd /
rm -rf "$work"
log "built in $(($(date +%s) - start)) s"
echo "$dir/bzImage"
