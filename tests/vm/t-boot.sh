#!/bin/sh
# The environment every other rig test relies on: KVM, VFIO, and the IOMMU groups as
# designed (the solo device alone, the two bridge devices together).
. "$(dirname "$0")/lib.sh"

test -c /dev/kvm || fail "no /dev/kvm"
test -c /dev/vfio/vfio || fail "no /dev/vfio/vfio"
# A module on Debian's kernel, built in on the cdev kernel.
test -d /sys/bus/pci/drivers/vfio-pci || fail "vfio-pci is not there"
if [ "$(sed -n 's/.*vfiod\.kernel=\([^ ]*\).*/\1/p' /proc/cmdline)" = cdev ]; then
	test -c /dev/iommu || fail "the cdev kernel has no /dev/iommu"
	test -d /sys/class/vfio-dev || fail "the cdev kernel has no vfio-dev class"
fi
for a in $RIG_DEVICES; do
	test -e "/sys/bus/pci/devices/$a/iommu_group" || fail "$a has no IOMMU group"
done
solo=$(group_of "$RIG_SOLO")
check_eq "members of the solo group" "$RIG_SOLO" "$(ls "/sys/kernel/iommu_groups/$solo/devices")"
check_eq "group of the bridge devices" "$(group_of "$RIG_PAIR_A")" "$(group_of "$RIG_PAIR_B")"
[ "$solo" != "$(group_of "$RIG_PAIR_A")" ] || fail "solo and pair share a group"
check_eq "host driver of $RIG_SOLO" e1000e "$(driver_of "$RIG_SOLO")"
check_eq "host driver of $RIG_PAIR_A" e1000 "$(driver_of "$RIG_PAIR_A")"

bind_vfio "$RIG_SOLO"
test -c "/dev/vfio/$solo" || fail "binding made no /dev/vfio/$solo"
if [ -c /dev/iommu ]; then
	cdev=$(ls "/sys/bus/pci/devices/$RIG_SOLO/vfio-dev")
	test -c "/dev/vfio/devices/$cdev" || fail "binding made no /dev/vfio/devices/$cdev"
fi
unbind_vfio "$RIG_SOLO"
check_eq "driver after unbinding" e1000e "$(driver_of "$RIG_SOLO")"
echo "groups: solo $solo, pair $(group_of "$RIG_PAIR_A") ($(ls "/sys/kernel/iommu_groups/$(group_of "$RIG_PAIR_A")/devices" | tr '\n' ' '))"
