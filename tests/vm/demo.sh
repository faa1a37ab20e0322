#!/bin/sh
# The demo: vfiod socket-activated on a real kernel, an unprivileged VMM attaching a real
# device through it, and vfioctl showing the attachment.
. "$(dirname "$0")/lib.sh"

step() { printf '\n### %s\n' "$*"; }

chmod 0666 /dev/kvm
step "vfiod, socket-activated; vfioctl info"
start_vfiod
vfioctl info
step "vfioctl devices (host drivers bound)"
vfioctl devices
step "binding $RIG_SOLO to vfio-pci"
bind_vfio "$RIG_SOLO"
vfioctl devices
step "an unprivileged VMM (uid 1000, no access to /dev/vfio/$(group_of "$RIG_SOLO")) attaches $RIG_SOLO"
ls -l /dev/vfio
runas 1000 1000 vfiod-example-vmm "$RIG_SOLO" >/tmp/vmm.out 2>&1 &
vmm=$!
wait_for_line /tmp/vmm.out '^device:' || { cat /tmp/vmm.out; fail "the VMM did not attach"; }
cat /tmp/vmm.out
step "vfioctl attachments (root sees all)"
vfioctl attachments
vfioctl devices
step "the VMM detaches and exits"
kill -TERM "$vmm"
wait "$vmm" || fail "the VMM failed"
cat /tmp/vmm.out | tail -n 1
vfioctl attachments
stop_vfiod
echo DEMO-OK
