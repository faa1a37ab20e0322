/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <cap-ng.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include "caps.h"
#include "log.h"
#include "macro.h"

#define KEPT CAP_SYS_RESOURCE

/* Whether the process holds a capability it does not need, in any set libcap-ng read. */
static bool holds_more_than_kept(bool bounding) {
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (cap == KEPT)
			continue;
		if (capng_have_capability(CAPNG_EFFECTIVE, cap) ||
		    capng_have_capability(CAPNG_PERMITTED, cap) ||
		    capng_have_capability(CAPNG_INHERITABLE, cap) ||
		    (bounding && capng_have_capability(CAPNG_BOUNDING_SET, cap)))
			return true;
	}
	return false;
}

int caps_drop(void) {
	capng_select_t set;
	bool bounding;

	if (capng_get_caps_process() < 0)
		return log_error_errno(-EIO, "Failed to read the process's capabilities.");
	/* Without CAP_SETPCAP (an unprivileged test run, or under vfiod.service) the bounding
	 * set cannot change; the unit's CapabilityBoundingSet= has narrowed it already. */
	bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	set = bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_BOTH;
	/* Under vfiod.service only the kept capability is there, and capset(2) is filtered:
	 * nothing to drop then. */
	if (holds_more_than_kept(bounding)) {
		bool kept = capng_have_capability(CAPNG_PERMITTED, KEPT);

		capng_clear(set);
		if (kept &&
		    capng_update(CAPNG_ADD,
		                 CAPNG_EFFECTIVE | CAPNG_PERMITTED | (bounding ? CAPNG_BOUNDING_SET : 0),
		                 KEPT) < 0)
			return log_error_errno(-EINVAL, "Failed to keep CAP_SYS_RESOURCE.");
		if (capng_apply(set) < 0)
			return log_error_errno(-EPERM, "Failed to drop capabilities.");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(negative_errno(), "Failed to set no_new_privs: %m");
	if (capng_get_caps_process() < 0 || !capng_have_capability(CAPNG_EFFECTIVE, KEPT)) {
		log_warning("Running without CAP_SYS_RESOURCE: Attach fails for callers the policy grants "
		            "a memlock allowance (KernelError prlimit(RLIMIT_MEMLOCK)).");
		return 0;
	}
	log_debug("Dropped every capability but CAP_SYS_RESOURCE; no_new_privs set.");
	return 0;
}
