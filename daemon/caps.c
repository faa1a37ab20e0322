/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <cap-ng.h>
#include <errno.h>
#include <sys/prctl.h>

#include "caps.h"
#include "log.h"
#include "macro.h"

int caps_drop_all(void) {
	/* Without CAP_SETPCAP (an unprivileged test run) the bounding set cannot change, and
	 * there is nothing to drop from it that matters: drop what can be dropped. */
	capng_select_t set;

	if (capng_get_caps_process() < 0)
		return log_error_errno(-EIO, "Failed to read the process's capabilities.");
	/* Under vfiod.service the bounding set is empty already (CapabilityBoundingSet=), and
	 * capset(2) may be filtered: nothing to drop then. */
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		set = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) ? CAPNG_SELECT_ALL : CAPNG_SELECT_BOTH;
		capng_clear(set);
		if (capng_apply(set) < 0)
			return log_error_errno(-EPERM, "Failed to drop capabilities.");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(negative_errno(), "Failed to set no_new_privs: %m");
	log_debug("Dropped every capability; no_new_privs set.");
	return 0;
}
