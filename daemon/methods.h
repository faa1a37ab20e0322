/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handler per Varlink method. The Varlink error a call answers is chosen here, once. */

#include "dispatch.h"

int method_get_info(MethodCall *call);
int method_get_interface_description(MethodCall *call);
int method_list_devices(MethodCall *call);
int method_attach(MethodCall *call);
int method_open_device(MethodCall *call);
int method_detach(MethodCall *call);
int method_list_attachments(MethodCall *call);
int method_monitor(MethodCall *call);
/* Extensions, for admins: move a device between vfio-pci and its host driver. */
int method_bind(MethodCall *call);
int method_unbind(MethodCall *call);
