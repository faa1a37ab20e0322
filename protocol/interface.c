/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The interface texts GetInterfaceDescription answers, verbatim. Each is declared once, in
 * protocol/NAME.varlink; the build turns that file into the C string literal included here
 * (build/protocol/NAME.varlink.h), so the text served cannot drift from the file. */

#include "protocol.h"

const char protocol_interface_description[] =
#include "io.vfiod.varlink.h"
        ;

/* The standard Varlink service interface, which every Varlink service answers. */
const char protocol_service_description[] =
#include "org.varlink.service.varlink.h"
        ;
