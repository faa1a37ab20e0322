#!/bin/sh
# The policy's memlock allowance on the real kernel: Attach raises the VMM's RLIMIT_MEMLOCK
# with prlimit(2), soft and hard, never lowers it, and reports it in the Attachment.
. "$(dirname "$0")/lib.sh"

chmod 0666 /dev/kvm
bind_vfio "$RIG_SOLO"

# vmm gets 64 MiB, group vmmers 1 GiB (the largest allowance wins); other is allowed the
# device but granted no allowance.
cat >/tmp/policy.conf <<CONF
allow user:vmm any
allow user:other any
memlock user:vmm 64M
memlock group:vmmers 1G
CONF
start_vfiod -c /tmp/policy.conf

# "SOFT HARD" of the process's Max locked memory, in bytes.
memlock_of() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}

# hold UID GIDS [ULIMIT_KB]: starts a VMM holding the solo device, with its memlock limit
# set to ULIMIT_KB first (soft and hard); sets HOLDER and ID.
hold() {
	rm -f /tmp/hold.out
	if [ -n "$3" ]; then
		sh -c "ulimit -l $3 && exec runas $1 $2 vmm-test hold $RIG_SOLO" >/tmp/hold.out &
	else
		runas "$1" "$2" vmm-test hold "$RIG_SOLO" >/tmp/hold.out &
	fi
	HOLDER=$!
	wait_for_line /tmp/hold.out HELD || fail "the VMM of uid $1 did not attach"
	ID=$(sed -n 's/^HELD //p' /tmp/hold.out)
}

release() {
	kill -TERM "$HOLDER"
	check_exit "the VMM holding attachment $ID" "$HOLDER"
	wait_until sh -c "! vfioctl attachments | grep -q '^ *$ID '" || fail "attachment $ID stayed"
}

# The memlock an attachment reports, from vfioctl's JSON.
reported() {
	vfioctl -j attachments | tr -d ' \n' | grep -o "\"id\":$1,[^}]*" | grep -o '"memlock":[-0-9a-z]*' |
		cut -d: -f2
}

# From the kernel's default (8 MiB) to 64 MiB, soft and hard.
hold 1000 1000 8192
check_eq "vmm's memlock" "67108864 67108864" "$(memlock_of "$HOLDER")"
check_eq "memlock in attachment $ID" 67108864 "$(reported "$ID")"
grep -q "Attachment $ID: RLIMIT_MEMLOCK of pid $HOLDER is 67108864 bytes" /tmp/vfiod.log ||
	fail "the raise was not logged"
release

# Never lowered: a VMM at 128 MiB keeps it, and the attachment says so.
hold 1000 1000 131072
check_eq "vmm's memlock when higher already" "134217728 134217728" "$(memlock_of "$HOLDER")"
check_eq "memlock in attachment $ID" 134217728 "$(reported "$ID")"
release

# A member of vmmers: the larger of its user's and its group's allowance.
hold 1000 1000,2000 8192
check_eq "vmmers member's memlock" "1073741824 1073741824" "$(memlock_of "$HOLDER")"
release

# No allowance for other: its limit stays, the attachment reports null.
hold 1001 1001 8192
check_eq "other's memlock" "8388608 8388608" "$(memlock_of "$HOLDER")"
check_eq "memlock in attachment $ID without allowance" null "$(reported "$ID")"
release

vfioctl info >/dev/null || fail "the daemon stopped answering"
stop_vfiod
echo "t-memlock: ok"
