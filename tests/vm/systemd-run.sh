#!/bin/sh
# ExecStart of vfiod-rig.service: the s-*.sh tests, under systemd as PID 1, then power off.
. /tests/runner.sh
cd /tests
run_tests 's-*.sh' $(cat /etc/rig-tests 2>/dev/null)
sync
poweroff -f
