#!/bin/sh
# Under systemd with journald: every grant, denial and detach is an audit record in the
# journal, with the caller's pid and uid, the device and the outcome as fields.
. "$(dirname "$0")/lib.sh"

AUDIT_ID=3b8f1f6e0c8a4b7e9d2a5c4f1e6b7a90
bind_vfio "$RIG_SOLO"

systemctl is-active -q systemd-journald.service || fail "journald is not running"
[ -S /run/systemd/journal/socket ] || fail "no journal socket"

# Records of one action and outcome, in journalctl's export format (FIELD=value lines): the
# journal's trusted fields (_SYSTEMD_UNIT=, _UID=) tell vfiod's records from forged ones.
records() {
	journalctl -q -o export "MESSAGE_ID=$AUDIT_ID" _SYSTEMD_UNIT=vfiod.service _UID=0 \
		"VFIOD_ACTION=$1" "VFIOD_OUTCOME=$2"
}
has_record() {
	records "$1" "$2" | grep -q "^VFIOD_DEVICE=$RIG_SOLO\$"
}

runas 1001 1001 vmm-test expect io.vfiod.PermissionDenied "$RIG_SOLO" || fail "other was not refused"
runas 1000 1000 vmm-test attach "$RIG_SOLO" || fail "vmm could not attach $RIG_SOLO"

wait_until has_record attach denied || fail "no denial record: $(journalctl -q -o export MESSAGE_ID=$AUDIT_ID)"
records attach denied >/tmp/denied.out
grep -q "^VFIOD_UID=1001\$" /tmp/denied.out || fail "the denial names no uid 1001: $(cat /tmp/denied.out)"
grep -q "^VFIOD_PID=[1-9][0-9]*\$" /tmp/denied.out || fail "the denial names no pid"
grep -q "^VFIOD_REASON=policy\$" /tmp/denied.out || fail "the denial names no reason"
grep -q "^PRIORITY=5\$" /tmp/denied.out || fail "a denial is not a notice"

wait_until has_record attach granted || fail "no grant record"
records attach granted >/tmp/granted.out
grep -q "^VFIOD_UID=1000\$" /tmp/granted.out || fail "the grant names no uid 1000"
id=$(sed -n 's/^VFIOD_ATTACHMENT=//p' /tmp/granted.out | tail -n 1)
[ "$id" -gt 0 ] 2>/dev/null || fail "the grant names no attachment: '$id'"
grep -q "^VFIOD_MODE=group\$" /tmp/granted.out || fail "the grant names no mode group: $(cat /tmp/granted.out)"
wait_until has_record open granted || fail "no record of the device fd handed out"
# vmm-test detaches before it exits: the owner's request.
wait_until has_record detach done || fail "no detach record"
records detach done >/tmp/detach.out
grep -q "^VFIOD_ATTACHMENT=$id\$" /tmp/detach.out || fail "the detach names another attachment"
grep -q "^VFIOD_REASON=request\$" /tmp/detach.out || fail "the detach names no reason"
grep -q "^VFIOD_UID=1000\$" /tmp/detach.out || fail "the detach names no caller"
grep -q "^VFIOD_OWNER_UID=1000\$" /tmp/detach.out || fail "the detach names no owner"
# The rig sends vfiod's stderr to a file, not the journal: the plain line goes there too.
grep -q "Attachment $id: $RIG_SOLO" /tmp/vfiod.log || fail "the grant is not in vfiod's stderr"
# The cdev mode's grants say so, where the kernel has it.
if [ -c /dev/iommu ]; then
	runas 1000 1000 vmm-test attach --cdev "$RIG_SOLO" || fail "vmm could not attach $RIG_SOLO in the cdev mode"
	cdev_granted() { records attach granted | grep -q "^VFIOD_MODE=cdev\$"; }
	wait_until cdev_granted || fail "no grant record with VFIOD_MODE=cdev: $(records attach granted)"
fi
unbind_vfio "$RIG_SOLO"
echo "s-audit: ok"
