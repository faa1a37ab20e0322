#!/bin/sh
# Viability as the kernel decides it (vfiod(8), VIABILITY): a PCIe switch's downstream port,
# on pcieport, shares its IOMMU group with the endpoint behind it, and an unprivileged VMM
# attaches the endpoint; a member on pci-stub leaves its group viable and needs no rule; the
# blockers GroupNotViable names are the members on drivers that use the kernel's DMA API; Bind
# takes only vfio-pci or a variant. Throughout, ListDevices' viable is the kernel's
# VFIO_GROUP_GET_STATUS for every group that has a /dev/vfio node.
. "$(dirname "$0")/lib.sh"

VMM="runas 1000 1000 vmm-test"
chmod 0666 /dev/kvm

SWITCH_GROUP=$(group_of "$RIG_SWITCH_EP")
PAIR_GROUP=$(group_of "$RIG_PAIR_A")

# The topology: the downstream port and the endpoint alone in one group, the port on pcieport;
# vfio-pci shows as a user of vfio-pci-core, the sign vfiod knows vfio-pci variants by.
check_eq "members of the switch's group $SWITCH_GROUP" "$RIG_SWITCH_PORT $RIG_SWITCH_EP" \
	"$(ls "/sys/kernel/iommu_groups/$SWITCH_GROUP/devices" | tr '\n' ' ' | sed 's/ $//')"
check_eq "driver of the downstream port" pcieport "$(driver_of "$RIG_SWITCH_PORT")"
check_eq "host driver of the switch's endpoint" e1000e "$(driver_of "$RIG_SWITCH_EP")"
# (On Debian's kernel, where vfio-pci is a module; the cdev kernel has it built in.)
if [ -f "/modules/$(uname -r)/vfio-pci.ko" ]; then
	test -e /sys/module/vfio_pci_core/holders/vfio_pci || fail "vfio_pci is not listed as a holder of vfio_pci_core"
fi
for port in "$RIG_SWITCH_ROOT" "$RIG_SWITCH_UP"; do
	[ "$(group_of "$port")" != "$SWITCH_GROUP" ] || fail "$port shares the endpoint's group"
	check_eq "driver of $port" pcieport "$(driver_of "$port")"
done
echo "groups: switch $SWITCH_GROUP ($RIG_SWITCH_PORT $RIG_SWITCH_EP), pair $PAIR_GROUP," \
	"root port $(group_of "$RIG_SWITCH_ROOT"), upstream port $(group_of "$RIG_SWITCH_UP")"

viable_of() {
	awk -v a="$1" '$1 == a { print $5 }' /tmp/devices.out
}

# compare_with_kernel WHEN: vfioctl devices' VIABLE of every member of every group with a
# /dev/vfio node is what VFIO_GROUP_GET_STATUS says of the group (group-status, run while
# vfiod holds no group: no attachment is left between the steps below).
compare_with_kernel() {
	vfioctl devices >/tmp/devices.out || fail "$1: vfioctl devices failed"
	check_eq "$1: attachments while comparing" "" "$(vfioctl attachments | sed 1d)"
	compared=""
	for node in /dev/vfio/*; do
		n=$(basename "$node")
		case "$n" in *[!0-9]*) continue ;; esac
		kernel=$(group-status "$n") || fail "$1: group-status $n failed"
		for m in $(ls "/sys/kernel/iommu_groups/$n/devices"); do
			check_eq "$1: viable of $m (group $n) as VFIO_GROUP_GET_STATUS says" "$kernel" "$(viable_of "$m")"
		done
		compared="$compared $n:$kernel"
	done
	[ -n "$compared" ] || fail "$1: no group node to compare"
	echo "$1: groups agree with the kernel:$compared"
}

start_vfiod

# On host drivers the switch's group is not viable, and no node exists to ask.
vfioctl devices >/tmp/devices.out || fail "vfioctl devices failed"
check_eq "switch endpoint on e1000e viable" no "$(viable_of "$RIG_SWITCH_EP")"

# The endpoint on vfio-pci: the port on pcieport does not keep the group from being viable.
bind_vfio "$RIG_SWITCH_EP"
bind_vfio "$RIG_SOLO"
bind_vfio "$RIG_PAIR_A"
compare_with_kernel "switch endpoint on vfio-pci, pair B on e1000"
check_eq "switch endpoint viable" yes "$(viable_of "$RIG_SWITCH_EP")"
check_eq "downstream port viable" yes "$(viable_of "$RIG_SWITCH_PORT")"
check_eq "pair A with B on e1000 viable" no "$(viable_of "$RIG_PAIR_A")"

# An unprivileged VMM attaches the endpoint (legacy group mode): config IDs, DMA map, reset,
# regions and IRQs through the fds vfiod hands it.
$VMM attach "$RIG_SWITCH_EP" || fail "attaching $RIG_SWITCH_EP behind the switch"
grep -q "Attachment [0-9]*: $RIG_SWITCH_EP (group $SWITCH_GROUP)" /tmp/vfiod.log ||
	fail "the grant of $RIG_SWITCH_EP is not in the log"

# GroupNotViable names the member on e1000, with its driver in the log; not the bridge, which
# has no driver.
$VMM expect io.vfiod.GroupNotViable "$RIG_PAIR_A" >/tmp/viable.out || fail "pair A was not refused"
grep -q "\"blockers\":\[\"$RIG_PAIR_B\"\]" /tmp/viable.out ||
	fail "GroupNotViable does not name exactly $RIG_PAIR_B: $(cat /tmp/viable.out)"
grep -q "IOMMU group $PAIR_GROUP is not viable.*$RIG_PAIR_B (e1000)" /tmp/vfiod.log ||
	fail "the refusal does not name $RIG_PAIR_B's driver"

# pci-stub holds pair B for no one: the group is viable, by the kernel's word and vfiod's.
bind_stub "$RIG_PAIR_B"
compare_with_kernel "pair A on vfio-pci, pair B on pci-stub"
check_eq "pair A with B on pci-stub viable" yes "$(viable_of "$RIG_PAIR_A")"
stop_vfiod

# A policy that names only the endpoints: the port on pcieport, the bridge (by its header type)
# and the device on pci-stub need no rule, since no VMM can reach them.
cat >/tmp/viable.conf <<CONF
allow user:vmm device:$RIG_SWITCH_EP
allow user:vmm device:$RIG_PAIR_A
assignable device:$RIG_PAIR_B
CONF
start_vfiod -c /tmp/viable.conf
runas 1000 1000 vfioctl devices >/tmp/visible.out || fail "vfioctl devices as vmm failed"
for a in "$RIG_SWITCH_EP" "$RIG_SWITCH_PORT" "$RIG_PAIR_A" "$RIG_PAIR_B"; do
	grep -q "^$a " /tmp/visible.out || fail "vmm is not shown $a: $(cat /tmp/visible.out)"
done
$VMM attach "$RIG_SWITCH_EP" || fail "vmm could not attach $RIG_SWITCH_EP with a rule for it alone"
$VMM attach "$RIG_PAIR_A" || fail "vmm could not attach $RIG_PAIR_A beside a device on pci-stub"
# A device on pci-stub is no VFIO device: not attachable, though its group is.
$VMM expect io.vfiod.KernelError "$RIG_PAIR_B" >/tmp/stub.out || fail "the device on pci-stub was attached"
grep -q '"errno":19' /tmp/stub.out || fail "not refused ENODEV: $(cat /tmp/stub.out)"

# Bind takes vfio-pci or a vfio-pci variant only: pci-stub is neither.
if vfioctl bind --driver pci-stub "$RIG_PAIR_B" >/tmp/bind.out 2>&1; then
	fail "bind --driver pci-stub succeeded"
fi
grep -q "InvalidParameter" /tmp/bind.out || fail "bind --driver pci-stub: $(cat /tmp/bind.out)"
check_eq "driver of $RIG_PAIR_B after the refused bind" pci-stub "$(driver_of "$RIG_PAIR_B")"
vfioctl bind --driver vfio-pci "$RIG_PAIR_B" >/tmp/bind.out || fail "bind --driver vfio-pci: $(cat /tmp/bind.out)"
check_eq "driver of $RIG_PAIR_B after bind --driver vfio-pci" vfio-pci "$(driver_of "$RIG_PAIR_B")"
compare_with_kernel "the pair on vfio-pci"
stop_vfiod
