#!/bin/sh
# Debian's unmodified QEMU 10 as the VMM, unprivileged, started by `vfioctl exec` with the
# iommufd and device cdev vfiod hands out (the cdev mode): it realizes the devices it is given,
# a second QEMU is refused a device the first holds and gets it the moment the first dies, a
# user the policy does not name gets nothing, and the policy's memlock grant is what QEMU may
# pin. Last, QEMU boots a guest that finds the passed-through device and reads its IDs.
. "$(dirname "$0")/lib.sh"

chmod 0666 /dev/kvm
[ -c /dev/iommu ] || fail "this kernel has no /dev/iommu"
bind_vfio "$RIG_SOLO"
bind_vfio "$RIG_PAIR_A"
bind_vfio "$RIG_PAIR_B"
cat >/tmp/cdev.conf <<CONF
allow user:vmm any
memlock user:vmm 256M
CONF
start_vfiod -c /tmp/cdev.conf

# A pattern (grep -E) for a device's IDs, in decimal, as query-pci prints them.
ids_of() {
	printf '"id": \\{"device": %d, "subsystem-vendor": [0-9]+, "vendor": %d' "$(cat "/sys/bus/pci/devices/$1/device")" \
		"$(cat "/sys/bus/pci/devices/$1/vendor")"
}

# qemu NAME MEMORY DEVICE... -- EXTRA...: execs QEMU 10 as uid 1000 through the launcher, with
# a QMP socket /tmp/NAME.qmp; its output goes to /tmp/NAME.out. It replaces the shell that
# runs it, so run it in a subshell, or in the background, where $! is then QEMU's pid.
qemu() {
	name=$1 memory=$2
	shift 2
	devices="" args=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		devices="$devices --device $1"
		args="$args -device vfio-pci,iommufd=i0,fd={$1}"
		shift
	done
	[ $# -gt 0 ] && shift
	rm -f "/tmp/$name.qmp"
	# shellcheck disable=SC2086
	exec runas 1000 1000 vfioctl exec $devices -- qemu-system-x86_64 -machine q35 -m "$memory" \
		-nodefaults -display none -accel kvm -cpu host -qmp "unix:/tmp/$name.qmp,server=on,wait=off" \
		-object 'iommufd,id=i0,fd={iommufd}' $args "$@" >"/tmp/$name.out" 2>&1
}

# realized NAME DEVICE...: QEMU NAME answers QMP and lists each device with its real IDs.
realized() {
	name=$1
	shift
	wait_until test -S "/tmp/$name.qmp" || fail "QEMU $name did not start: $(cat "/tmp/$name.out")"
	wait_until qmp "/tmp/$name.qmp" query-pci >"/tmp/$name.pci" ||
		fail "QEMU $name does not answer query-pci: $(cat "/tmp/$name.out")"
	for d in "$@"; do
		grep -Eq "$(ids_of "$d")" "/tmp/$name.pci" ||
			fail "QEMU $name does not show $d ($(ids_of "$d")): $(cat "/tmp/$name.pci")"
	done
}

no_attachments() { [ -z "$(vfioctl attachments | sed 1d)" ]; }

# One QEMU holds the e1000e; the attachment is the QEMU process's, in the cdev mode.
qemu q1 64 "$RIG_SOLO" -- -S &
q1=$!
realized q1 "$RIG_SOLO"
vfioctl attachments >/tmp/list.out
grep -q "$RIG_SOLO" /tmp/list.out || fail "no attachment listed: $(cat /tmp/list.out)"
grep -q cdev /tmp/list.out || fail "the attachment is not in the cdev mode: $(cat /tmp/list.out)"
check_eq "QEMU's pid" "$q1" "$(pidof qemu-system-x86_64)"
grep -qw "$q1" /tmp/list.out || fail "the attachment is not QEMU's ($q1): $(cat /tmp/list.out)"
grep -q "^Max locked memory *268435456 " "/proc/$q1/limits" ||
	fail "QEMU's memlock limit is not the policy's: $(grep locked "/proc/$q1/limits")"

# A second QEMU asking for it is refused by vfiod, before QEMU runs.
(qemu q2 64 "$RIG_SOLO" -- -S) && fail "a second QEMU got $RIG_SOLO"
grep -q io.vfiod.DeviceBusy /tmp/q2.out || fail "the second QEMU was not answered DeviceBusy: $(cat /tmp/q2.out)"

# Killing the first frees the device at once: the second gets it.
kill -KILL "$q1"
wait "$q1"
wait_until no_attachments || fail "the attachment outlived QEMU: $(vfioctl attachments)"
qemu q2 64 "$RIG_SOLO" -- -S &
q2=$!
realized q2 "$RIG_SOLO"

# Both devices of the shared group to one QEMU, on one iommufd; one of them to another QEMU
# is refused.
qemu q3 64 "$RIG_PAIR_A" "$RIG_PAIR_B" -- -S &
q3=$!
realized q3 "$RIG_PAIR_A" "$RIG_PAIR_B"
(qemu q4 64 "$RIG_PAIR_B" -- -S) && fail "another QEMU got $RIG_PAIR_B"
grep -q io.vfiod.DeviceBusy /tmp/q4.out || fail "another QEMU was not answered DeviceBusy: $(cat /tmp/q4.out)"
kill -KILL "$q2" "$q3"
wait "$q2" "$q3"
wait_until no_attachments || fail "attachments outlived QEMU: $(vfioctl attachments)"

# A user the policy does not name gets nothing, and QEMU never starts.
rm -f /tmp/q5.out
runas 1001 1001 vfioctl exec --device "$RIG_SOLO" -- qemu-system-x86_64 -nodefaults \
	-display none -object 'iommufd,id=i0,fd={iommufd}' "-device" "vfio-pci,iommufd=i0,fd={$RIG_SOLO}" \
	>/tmp/q5.out 2>&1 && fail "uid 1001 got $RIG_SOLO"
grep -q io.vfiod.PermissionDenied /tmp/q5.out || fail "uid 1001 was not answered PermissionDenied: $(cat /tmp/q5.out)"

# Pinned guest memory: 384 MiB is beyond the 256 MiB granted, and the kernel refuses QEMU's
# mapping of it (charged to QEMU's own RLIMIT_MEMLOCK: IOMMU_OPTION_RLIMIT_MODE).
(qemu q6 384 "$RIG_SOLO" -- -S) && fail "QEMU pinned 384 MiB with 256 MiB granted"
grep -q "vfio_container_dma_map.*Cannot allocate memory" /tmp/q6.out ||
	fail "QEMU failed for another reason: $(cat /tmp/q6.out)"
sed 's/^/q6: /' /tmp/q6.out
wait_until no_attachments || fail "the refused QEMU's attachment stayed: $(vfioctl attachments)"

# Within the grant, 192 MiB, QEMU maps its memory and realizes the device.
qemu q7 192 "$RIG_SOLO" -- -S &
q7=$!
realized q7 "$RIG_SOLO"
kill -KILL "$q7"
wait "$q7"
wait_until no_attachments || fail "the attachment outlived QEMU: $(vfioctl attachments)"

# QEMU runs a guest (KVM, on the rig's nested SVM) that finds the passed-through device, reads
# its IDs and binds its own e1000e driver to it; QEMU exits when the guest powers off.
(qemu q8 128 "$RIG_SOLO" -- -kernel /nested/bzImage -initrd /nested/initramfs.gz \
	-append "console=ttyS0 panic=-1 quiet" -serial file:/tmp/nested.out -no-reboot) ||
	fail "QEMU with a guest failed: $(cat /tmp/q8.out)"
# The guest's console ends its lines with CR LF.
tr -d '\r' </tmp/nested.out >/tmp/nested.txt
mv /tmp/nested.txt /tmp/nested.out
grep '^NESTED' /tmp/nested.out | sed 's/^/guest: /'
grep -q '^NESTED-DONE' /tmp/nested.out || fail "the guest did not finish: $(cat /tmp/nested.out)"
grep -q "^NESTED-PCI .* 0x8086:0x10d3 driver=e1000e$" /tmp/nested.out ||
	fail "the guest does not see the e1000e's IDs, or its driver did not take it"
grep -q "^NESTED-NET eth0 ..:..:..:..:..:..$" /tmp/nested.out || fail "the guest's e1000e read no MAC address"
wait_until no_attachments || fail "the attachment outlived the guest's QEMU"
stop_vfiod
