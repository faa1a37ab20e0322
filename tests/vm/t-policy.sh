#!/bin/sh
# vfiod.conf(5) on the real kernel: who may attach what, group-wide decisions, admins, and
# reload on SIGHUP that keeps the policy in force when the new file is bad.
. "$(dirname "$0")/lib.sh"

chmod 0666 /dev/kvm
for a in $RIG_DEVICES; do bind_vfio "$a"; done
SOLO_GROUP=$(group_of "$RIG_SOLO")

# vmm (1000) may use the solo device; group vmmers (2000) one device of the shared group;
# uid 1002 is an admin.
mkdir -p /tmp/policy.conf.d
cat >/tmp/policy.conf <<CONF
# the rig's policy test
allow user:vmm device:$RIG_SOLO
allow group:vmmers device:$RIG_PAIR_A
CONF
echo "admin user:1002" >/tmp/policy.conf.d/10-admin.conf
echo "admin user:1001" >/tmp/policy.conf.d/ignored.txt
start_vfiod -c /tmp/policy.conf
base=$(daemon_fds)

VMM="runas 1000 1000 vmm-test"
MEMBER="runas 1000 1000,2000 vmm-test"
OTHER="runas 1001 1001 vmm-test"

# Devices each caller may see: the addresses of vfioctl devices.
visible() {
	runas "$1" "$2" vfioctl devices | sed 1d | awk '{ print $1 }' | tr '\n' ' '
}

# A user the policy does not name: refused, and shown nothing.
$OTHER expect io.vfiod.PermissionDenied "$RIG_SOLO" || fail "other was not refused"
check_eq "devices other sees" "" "$(visible 1001 1001)"
runas 1001 1001 vfioctl attachments >/dev/null || fail "other may list its own attachments"
grep -q "Attach of $RIG_SOLO denied to pid [0-9]* uid 1001" /tmp/vfiod.log || fail "the denial was not logged"

# vmm: the solo device by address; its group's device is not its own.
$VMM attach "$RIG_SOLO" || fail "vmm could not attach $RIG_SOLO"
$VMM expect io.vfiod.PermissionDenied "$RIG_PAIR_A" || fail "vmm was given $RIG_PAIR_A"
check_eq "devices vmm sees" "$RIG_SOLO " "$(visible 1000 1000)"

# A member of vmmers is allowed PAIR_A but not PAIR_B: the group fd would reach both, so
# neither is granted.
$MEMBER expect io.vfiod.PermissionDenied "$RIG_PAIR_A" || fail "a half-allowed group was granted"
check_eq "devices a vmmers member sees" "$RIG_SOLO " "$(visible 1000 1000,2000)"

# Admin by drop-in: every attachment, ListDevices in full; *.txt drop-ins are not read.
# The admin detaches it below: the holder's own Detach is then answered NoSuchAttachment.
$VMM hold -e io.vfiod.NoSuchAttachment "$RIG_SOLO" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the holder did not attach"
id=$(sed -n 's/^HELD //p' /tmp/hold.out)
runas 1002 1002 vfioctl attachments | grep -q "^ *$id $RIG_SOLO" || fail "the admin does not see attachment $id"
check_eq "attachments other sees" "" "$(runas 1001 1001 vfioctl attachments | sed 1d)"
check_eq "devices the admin sees" "$RIG_SOLO $RIG_PAIR_A $RIG_PAIR_B " \
	"$(visible 1002 1002 | tr ' ' '\n' | grep -E "^($RIG_SOLO|$RIG_PAIR_A|$RIG_PAIR_B)$" | tr '\n' ' ')"
if runas 1001 1001 vfioctl detach "$id" 2>/tmp/err.out; then fail "other detached attachment $id"; fi
grep -q PermissionDenied /tmp/err.out || fail "detach by other: $(cat /tmp/err.out)"
runas 1002 1002 vfioctl detach "$id" || fail "the admin could not detach $id"
kill -TERM "$holder"
check_exit "the holder whose attachment the admin took" "$holder"

# Reload: a drop-in allowing PAIR_B to vmmers makes the shared group theirs.
loads() { grep -c "Policy loaded" /tmp/vfiod.log; }
before=$(loads)
echo "allow group:vmmers device:$RIG_PAIR_B" >/tmp/policy.conf.d/20-pair.conf
kill -HUP "$VFIOD_PID"
reloaded() { [ "$(loads)" -gt "$before" ]; }
wait_until reloaded || fail "SIGHUP did not reload the policy"
$MEMBER attach "$RIG_PAIR_A" "$RIG_PAIR_B" || fail "vmmers could not attach the shared group after reload"
$VMM expect io.vfiod.PermissionDenied "$RIG_PAIR_A" || fail "vmm without vmmers was given $RIG_PAIR_A"

# A bad file is refused with its line and reason; the policy in force stays.
echo "allow user:vmm device:../.." >>/tmp/policy.conf
kill -HUP "$VFIOD_PID"
wait_for_line /tmp/vfiod.log "Policy not loaded, /tmp/policy.conf:4: bad device" ||
	fail "the bad line was not reported"
grep -q "Keeping the policy in force" /tmp/vfiod.log || fail "no word of the old policy staying"
$MEMBER attach "$RIG_PAIR_A" "$RIG_PAIR_B" || fail "the old policy is not in force after a bad reload"
$OTHER expect io.vfiod.PermissionDenied "$RIG_SOLO" || fail "other allowed after a bad reload"

# vfioctl check-policy says the same offline, as any user, and exits 1.
if runas 1001 1001 vfioctl check-policy /tmp/policy.conf 2>/tmp/check.out; then fail "check-policy passed a bad file"; fi
grep -q "^vfioctl: /tmp/policy.conf:4: bad device 'device:\.\./\.\.'" /tmp/check.out ||
	fail "check-policy on the bad file: $(cat /tmp/check.out)"
sed -i '$d' /tmp/policy.conf
check_eq "check-policy on the fixed file" "/tmp/policy.conf: valid, 4 rule(s)" \
	"$(runas 1001 1001 vfioctl check-policy /tmp/policy.conf)"

check_fds "after the policy tests" "$base"
stop_vfiod
echo "t-policy: ok"
