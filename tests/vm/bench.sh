#!/bin/sh
# The rig's benchmark (tests/vm/run.sh --bench, part of make bench): bench-rig's figures on
# the real kernel, printed between BENCH-BEGIN and BENCH-END for run.sh to pick out, then
# BENCH-OK when every figure ran. Figures only: nothing here judges a time. Which figures
# depends on the kernel the boot runs (run.sh's vfiod.kernel=): the group mode's on Debian's,
# the cdev mode's on the cdev kernel, the only one with /dev/iommu and the vfio cdev.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runner.sh"

# Sizes: about a minute of measuring under TCG on two cores on Debian's kernel, a few seconds on
# the cdev kernel (80 s with both boots).
CYCLES=20        # figures 1 and 5: attach/detach cycles each way per device
IDLE_SECONDS=3   # figures 2 and 4: latency of the idle daemon
BUSY_SECONDS=8   # figures 2 and 4: latency under load
PAIR_SECONDS=6   # figure 3: each VMM alone, then both
CONNECTIONS=32   # figure 4: vfiod.conf(5)'s default connections-per-user
DEPTHS="1 16"    # figure 4: ListDevices in flight per connection, a run each

for a in $RIG_DEVICES; do
	bind_vfio "$a"
done
start_vfiod
# bench-rig waits for vfiod to release a device before root opens it (figures 1 and 5).
export VFIOD_PID
echo BENCH-BEGIN
echo "guest: Linux $(uname -r), $(grep -c '^processor' /proc/cpuinfo) vCPUs under QEMU TCG;" \
	"vfiod with the rig's policy and the default limits"
if [ "$RIG_KERNEL" = cdev ]; then
	bench-rig attach-device "$CYCLES" "$RIG_SOLO" "$RIG_PAIR_A" || fail "figure 5"
else
	bench-rig attach "$CYCLES" "$RIG_SOLO" "$RIG_PAIR_A" || fail "figure 1"
	bench-rig list-attachments "$IDLE_SECONDS" "$BUSY_SECONDS" "$RIG_SOLO" || fail "figure 2"
	bench-rig concurrent "$PAIR_SECONDS" "$RIG_SOLO" "$RIG_PAIR_A" || fail "figure 3"
	# shellcheck disable=SC2086 # one argument per depth
	bench-rig getinfo "$IDLE_SECONDS" "$BUSY_SECONDS" "$CONNECTIONS" $DEPTHS || fail "figure 4"
fi
echo BENCH-END
stop_vfiod
reset_devices
echo BENCH-OK
