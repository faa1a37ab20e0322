# The command-line tests' checks, sourced: each failed check is reported and counted, and
# finish() ends the script with the tally.
failures=0
checks=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

check_eq() {
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# finish NAME: exits 1 when a check failed, 0 otherwise, saying so.
finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$1: $failures of $checks checks failed" >&2
		exit 1
	fi
	echo "$1: $checks checks passed"
	exit 0
}
