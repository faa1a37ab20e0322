#!/bin/sh
# vfioctl devices against vfiod on the real kernel: groups, IDs, drivers and viability as
# sysfs has them, before and after binding to vfio-pci.
. "$(dirname "$0")/lib.sh"

# Compares vfioctl's line for every PCI device with what sysfs says.
check_listing() {
	vfioctl devices >/tmp/devices.out || fail "vfioctl devices failed"
	sed 1d /tmp/devices.out | while read -r address group id driver viable attachment; do
		d=/sys/bus/pci/devices/$address
		test -e "$d" || fail "listed $address does not exist"
		expected_group=-1
		[ -e "$d/iommu_group" ] && expected_group=$(group_of "$address")
		check_eq "group of $address" "$expected_group" "$group"
		check_eq "id of $address" "$(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device")" "$id"
		check_eq "driver of $address" "$(driver_of "$address")" "$driver"
		check_eq "attachment of $address" - "$attachment"
	done || exit 1
	check_eq "number of devices" "$(ls /sys/bus/pci/devices | wc -l)" "$(sed 1d /tmp/devices.out | wc -l)"
}

viable_of() {
	awk -v a="$1" '$1 == a { print $5 }' /tmp/devices.out
}

start_vfiod
vfioctl info | grep -q 'io.vfiod' || fail "vfioctl info does not name io.vfiod"

check_listing
check_eq "solo on e1000e viable" no "$(viable_of "$RIG_SOLO")"

bind_vfio "$RIG_SOLO"
check_listing
check_eq "solo on vfio-pci viable" yes "$(viable_of "$RIG_SOLO")"

bind_vfio "$RIG_PAIR_A"
check_listing
check_eq "pair A with B on e1000" no "$(viable_of "$RIG_PAIR_A")"
check_eq "pair B on e1000" no "$(viable_of "$RIG_PAIR_B")"

bind_vfio "$RIG_PAIR_B"
check_listing
check_eq "pair A with B on vfio-pci" yes "$(viable_of "$RIG_PAIR_A")"
check_eq "pair B on vfio-pci" yes "$(viable_of "$RIG_PAIR_B")"

vfioctl --json devices | grep -q "\"address\": \"$RIG_SOLO\"" || fail "--json does not list $RIG_SOLO"
if vfioctl --socket /nonexistent devices 2>/tmp/err.out; then
	fail "vfioctl succeeded without a daemon"
fi
grep -q 'cannot connect' /tmp/err.out || fail "no clear error without a daemon: $(cat /tmp/err.out)"
stop_vfiod
