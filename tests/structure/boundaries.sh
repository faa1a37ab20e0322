#!/bin/sh
# The architecture's boundaries, checked on the sources: each rule names the one place where
# something may happen, and fails with the file that breaks it.
#   - the kernel boundary: only daemon/kernel/vfio.c opens /dev/vfio or issues VFIO ioctls;
#   - only protocol/wire.c touches SCM_RIGHTS control data;
#   - protocol/ never logs and never exits; client/ includes nothing of daemon/;
#   - connection.c calls neither the manager nor the dispatcher (they reach it through
#     ConnectionHost callbacks), and dispatch.c calls no manager_*() function: no call circle;
#   - worker threads touch no state: worker.c includes no daemon header but its own.
set -u
cd "$(dirname "$0")/../.."
failed=0
checks=0

# The code of a file, comments and string literals blanked, lines numbered as grep -n does.
code_of() {
	sed -e 's|/\*.*\*/||g' -e 's|^[[:space:]]*/\*.*||' -e 's|^[[:space:]]*\*.*||' -e 's|"[^"]*"|""|g' "$1" |
		grep -nE "$2" | sed "s|^|$1:|"
}

# forbid WHAT PATTERN FILE...: no line of code of the files matches PATTERN.
forbid() {
	what=$1 pattern=$2
	shift 2
	checks=$((checks + 1))
	hits=$(for f in "$@"; do code_of "$f" "$pattern"; done)
	if [ -n "$hits" ]; then
		echo "FAIL: $what:"
		echo "$hits" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

others_than() {
	for f in daemon/*.[ch] daemon/*/*.[ch] client/*.c protocol/*.c; do
		[ "$f" = "$1" ] || echo "$f"
	done
}

forbid "VFIO ioctls outside daemon/kernel/vfio.c" 'ioctl\([^,]*, *VFIO_' $(others_than daemon/kernel/vfio.c | grep -v '^client/')
checks=$((checks + 1))
if grep -ln '"/dev/vfio' $(others_than daemon/kernel/vfio.c | grep -v '^client/'); then
	echo "FAIL: /dev/vfio named outside daemon/kernel/vfio.c"
	failed=$((failed + 1))
fi
forbid "SCM_RIGHTS or cmsg outside protocol/wire.c" 'SCM_RIGHTS|CMSG_|cmsghdr' $(others_than protocol/wire.c)
forbid "logging or exiting in protocol/" '\blog_[a-z_]+\(|\bexit\(|\babort\(' protocol/*.c protocol/*.h
forbid "daemon headers in client/" '#include "(manager|connection|dispatch|state|vfio|policy|sysfs|methods)\.h"' client/*.c client/*.h
forbid "connection.c calling the manager or the dispatcher" '#include "(manager|dispatch)\.h"|\bmanager_[a-z_]+\(|\bdispatch_[a-z_]+\(' \
	daemon/loop/connection.c daemon/loop/connection.h
forbid "dispatch.c calling the manager" '\bmanager_[a-z_]+\(' daemon/loop/dispatch.c
forbid "worker.c reaching into the daemon" '#include "(manager|state|connection|methods|lifecycle)\.h"' daemon/loop/worker.c

echo "boundaries: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
