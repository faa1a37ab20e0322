# Runs rig test scripts and reports each on the console as RIG-BEGIN / RIG-PASS / RIG-FAIL,
# then RIG-DONE. Sourced by /init (t-*.sh, busybox as PID 1) and by the rig's systemd
# service (s-*.sh, systemd as PID 1). Usage: run_tests PATTERN [NAMES...]

# Which kernel the boot runs (run.sh's vfiod.kernel=), shown with each verdict.
RIG_KERNEL=$(sed -n 's/.*vfiod\.kernel=\([^ ]*\).*/\1/p' /proc/cmdline)

run_one_test() {
	name=$1
	echo "RIG-BEGIN $name [$RIG_KERNEL]"
	start=$(cut -d. -f1 /proc/uptime)
	if timeout -s KILL 300 sh "/tests/$name.sh" </dev/null; then
		verdict=PASS
	else
		verdict=FAIL
	fi
	echo "RIG-$verdict $name [$RIG_KERNEL] ($(($(cut -d. -f1 /proc/uptime) - start)) s)"
	# Whatever a test left running goes before the next one starts.
	if ! timeout -s KILL 180 sh -c '. /tests/lib.sh; stop_helpers; stop_any_vfiod; reset_devices'; then
		echo "RIG-NOTE resetting devices after $name hung; processes and kernel log follow"
		ps
		dmesg | tail -n 30
		echo "RIG-FAIL reset-after-$name"
	fi
	rm -f /tmp/*.out /tmp/vfiod.log
}

run_tests() {
	pattern=$1
	shift
	names="$*"
	[ -n "$names" ] || names=$(cd /tests && ls $pattern 2>/dev/null | sed 's/\.sh$//')
	for t in $names; do
		[ -f "/tests/$t.sh" ] && run_one_test "$t"
	done
	echo "RIG-DONE"
}
