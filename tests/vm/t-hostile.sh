#!/bin/sh
# Hostile clients on the real kernel: the limits of vfiod.conf(5) answer LimitExceeded, bad
# input answers ProtocolError and closes only that connection, and after all of it the daemon
# is alive, holds the fds it held before and has not grown.
. "$(dirname "$0")/lib.sh"

chmod 0666 /dev/kvm
bind_vfio "$RIG_SOLO"
bind_vfio "$RIG_PAIR_A"
bind_vfio "$RIG_PAIR_B"

cat >/tmp/hostile.conf <<CONF
allow user:vmm any
memlock user:vmm 64M
limit connections 5
limit connections-per-user 3
limit attachments-per-user 1
limit request-timeout 2
limit queued-replies 4
CONF
start_vfiod -c /tmp/hostile.conf

VMM="runas 1000 1000 vmm-test"
HOSTILE="runas 1001 1001 hostile"

# Resident memory of vfiod in kB.
vmrss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VFIOD_PID/status"; }

# Runs hostile MODE... as uid 1001 and checks its output: the reply, then CLOSED or OPEN.
expect_reply() {
	expected=$1
	shift
	$HOSTILE "$@" >/tmp/reply.out || fail "hostile $*: no reply: $(cat /tmp/reply.out)"
	check_eq "reply to hostile $*" "$expected" "$(cat /tmp/reply.out)"
}

FRAMING='io.vfiod.ProtocolError {"reason":"file descriptors not at a message boundary, more than 16, or truncated"}'

# One round of everything malformed an unprivileged client can send.
hostile_round() {
	expect_reply "$(printf 'ERROR io.vfiod.ProtocolError {"reason":"message is not valid JSON in UTF-8"}\nCLOSED')" garbage
	expect_reply "$(printf 'ERROR io.vfiod.ProtocolError {"reason":"request larger than 65536 bytes"}\nCLOSED')" oversized
	expect_reply "$(printf 'ERROR io.vfiod.ProtocolError {"reason":"message is not valid JSON in UTF-8"}\nCLOSED')" invalid-json
	expect_reply "$(printf 'ERROR %s\nCLOSED' "$FRAMING")" fd-flood 250
	expect_reply "$(printf 'ERROR %s\nCLOSED' "$FRAMING")" fd-flood 17
	expect_reply "$(printf 'ERROR io.vfiod.ProtocolError {"reason":"this method takes no file descriptors"}\nOPEN')" fd-flood 3
}

# A half-sent call times out after request-timeout seconds. Once before the baseline: sd-event
# opens its timerfd for the first timer and keeps it.
HALF="$(printf 'ERROR io.vfiod.ProtocolError {"reason":"request incomplete after 2 s"}\nCLOSED')"
expect_reply "$HALF" half
base=$(daemon_fds)
rss=$(vmrss)
[ -n "$rss" ] && [ "$rss" -gt 0 ] || fail "no VmRSS for vfiod"

# connections-per-user: the fourth connection of uid 1000 is told so, unasked, and closed.
runas 1000 1000 hostile connections 4 >/tmp/vmm-conns.out &
vmm_conns=$!
wait_for_line /tmp/vmm-conns.out HOLDING || fail "the connections of vmm did not open: $(cat /tmp/vmm-conns.out)"
check_eq "connections of vmm" "$(printf '0 OK\n1 OK\n2 OK\n3 ERROR io.vfiod.LimitExceeded {"limit":"connections-per-user","value":3}\nHOLDING')" \
	"$(cat /tmp/vmm-conns.out)"
# connections: with 3 of vmm open, the third of uid 1001 reaches 5 in all.
$HOSTILE connections 3 >/tmp/other-conns.out &
other_conns=$!
wait_for_line /tmp/other-conns.out HOLDING || fail "the connections of other did not open: $(cat /tmp/other-conns.out)"
check_eq "connections of other" "$(printf '0 OK\n1 OK\n2 ERROR io.vfiod.LimitExceeded {"limit":"connections","value":5}\nHOLDING')" \
	"$(cat /tmp/other-conns.out)"
# Root, an admin, still gets in: admin-connections (8 by default) are kept for admins beyond
# "connections".
vfioctl info >/dev/null 2>/tmp/root.err || fail "root was locked out by the others: $(cat /tmp/root.err)"
# Refusals are not logged one by one: at most one line per 10 s. The bound counts the
# seconds this took, however slow the machine: one line for the first refusal, at most one
# more for each 10 s begun since.
first_refusal=$(uptime_seconds)
for i in 1 2 3 4 5 6 7 8 9 10; do $HOSTILE fd-flood 1 >/dev/null; done
elapsed=$(($(uptime_seconds) - first_refusal + 1))
grep -q "Refusing a connection of pid [0-9]* uid 1000: limit connections-per-user 3 reached" /tmp/vfiod.log ||
	fail "the refusal was not logged"
refusals=$(grep -c "Refusing a connection" /tmp/vfiod.log)
[ "$refusals" -le $((1 + (elapsed + 9) / 10)) ] || fail "$refusals log lines for 13 refused connections in $elapsed s"
kill -TERM "$vmm_conns" "$other_conns"
check_exit "the connections of vmm" "$vmm_conns" 143
check_exit "the connections of other" "$other_conns" 143
# The counts go down with the connections.
wait_connections 0
vfioctl info >/dev/null || fail "vfiod does not answer once the connections closed"
runas 1000 1000 hostile connections 3 >/tmp/vmm-conns.out &
vmm_conns=$!
wait_for_line /tmp/vmm-conns.out HOLDING || fail "vmm cannot connect again: $(cat /tmp/vmm-conns.out)"
check_eq "connections of vmm again" "$(printf '0 OK\n1 OK\n2 OK\nHOLDING')" "$(cat /tmp/vmm-conns.out)"
kill -TERM "$vmm_conns"
check_exit "the connections of vmm" "$vmm_conns" 143

# Monitors that send fds after Monitor park none of them: 3 monitors of uid 1001, each with
# 16 fds sent, cost the daemon their socket and pidfd only (security review item 1: 18 each).
$HOSTILE monitor-fds 3 >/tmp/monitors.out &
monitors=$!
wait_for_line /tmp/monitors.out HOLDING || fail "the monitors did not open: $(cat /tmp/monitors.out)"
# Calls are read in the order they come: once root's is answered, the monitors' data was read.
wait_connections 3
vfioctl info >/dev/null || fail "vfiod does not answer beside the monitors"
# Counted once vfioctl's own connection is gone again: three open, the monitors'.
with_monitors=$(daemon_fds 3)
[ "$with_monitors" -le $((base + 3 * 2)) ] ||
	fail "3 monitors that sent 16 fds each cost the daemon $((with_monitors - base)) fds"
kill -TERM "$monitors"
check_exit "the monitors" "$monitors" 143
wait_connections 0

# Bad input, several rounds so that a leak would show.
for round in 1 2 3 4 5; do hostile_round; done
expect_reply "$HALF" half

# attachments-per-user: a second attachment of vmm is refused before any kernel work, and
# allowed again once the first is gone.
$VMM hold "$RIG_SOLO" >/tmp/hold.out &
holder=$!
wait_for_line /tmp/hold.out HELD || fail "the holder did not attach"
$VMM expect io.vfiod.LimitExceeded "$RIG_PAIR_A" >/tmp/limit.out || fail "a second attachment was not refused"
grep -q '"limit":"attachments-per-user"' /tmp/limit.out || fail "LimitExceeded names no limit: $(cat /tmp/limit.out)"
grep -q '"value":1' /tmp/limit.out || fail "LimitExceeded names no value: $(cat /tmp/limit.out)"
grep -q "Attach of $RIG_PAIR_A refused to pid [0-9]* uid 1000: it holds 1 attachment(s)" /tmp/vfiod.log ||
	fail "the refused attach was not logged"
# The holder detaches on SIGTERM before it exits.
kill -TERM "$holder"
check_exit "the holder" "$holder"
$VMM attach "$RIG_PAIR_A" || fail "vmm cannot attach once its attachment is gone"

# connections-per-user counts a subordinate uid as its range's owner (/etc/subuid, read with
# the policy): two uids of vmm's range share vmm's 3 connections.
loads() { grep -c "Policy loaded" /tmp/vfiod.log; }
before=$(loads)
echo "vmm:100000:65536" >/etc/subuid
kill -HUP "$VFIOD_PID"
reloaded() { [ "$(loads)" -gt "$before" ]; }
wait_until reloaded || fail "SIGHUP did not reload the policy"
runas 100000 100000 hostile connections 2 >/tmp/sub1.out &
sub1=$!
wait_for_line /tmp/sub1.out HOLDING || fail "the connections of subuid 100000 did not open: $(cat /tmp/sub1.out)"
runas 100001 100001 hostile connections 2 >/tmp/sub2.out &
sub2=$!
wait_for_line /tmp/sub2.out HOLDING || fail "the connections of subuid 100001 did not open: $(cat /tmp/sub2.out)"
check_eq "connections of a second subuid of vmm" \
	"$(printf '0 OK\n1 ERROR io.vfiod.LimitExceeded {"limit":"connections-per-user","value":3}\nHOLDING')" \
	"$(cat /tmp/sub2.out)"
kill -TERM "$sub1" "$sub2"
check_exit "the connections of subuid 100000" "$sub1" 143
check_exit "the connections of subuid 100001" "$sub2" 143
rm -f /etc/subuid

# A peer that exits before vfiod accepts its connection, leaving the socket to its parent,
# while its pid goes to another process: vfiod does not take that process for the peer (the
# kernel's SO_PEERPIDFD refuses an exited peer before 6.16, and a pidfd opened by pid would
# name the newcomer); it closes the connection unanswered.
hostile pid-reuse "$VFIOD_PID" >/tmp/reuse.out || fail "hostile pid-reuse: $(cat /tmp/reuse.out)"
impostor=$(sed -n 's/^REUSED //p' /tmp/reuse.out)
[ -n "$impostor" ] || fail "hostile pid-reuse gave no pid away: $(cat /tmp/reuse.out)"
check_eq "the reply on a connection whose peer's pid went to process $impostor" NONE "$(sed -n 2p /tmp/reuse.out)"
grep -q "from pid $impostor " /tmp/vfiod.log && fail "vfiod took process $impostor for the peer"
grep -q "Closing a connection whose peer cannot be identified" /tmp/vfiod.log ||
	fail "vfiod did not say why it closed the connection"

# Alive, answering, holding what it held, no bigger.
vfioctl info >/dev/null || fail "vfiod does not answer after the hostile clients"
check_fds "after the hostile clients" "$base"
grown=$(($(vmrss) - rss))
echo "t-hostile: VmRSS $rss kB before, grown by $grown kB"
# Under ASan freed memory sits in its quarantine and counts in VmRSS: there LeakSanitizer's
# verdict at exit (stop_vfiod checks the exit status) stands for this bound.
if grep -q libasan "/proc/$VFIOD_PID/maps"; then
	echo "t-hostile: vfiod runs under ASan; its leaks are LeakSanitizer's to find"
else
	[ "$grown" -le 4096 ] || fail "VmRSS grew by $grown kB"
fi
stop_vfiod
echo "t-hostile: ok"
