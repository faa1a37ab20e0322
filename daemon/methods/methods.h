/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handler per Varlink method, split by subject: introspection and listings
 * (info.c), attachments in either mode (attach.c), drivers (driver.c), beside what they share (common.c).
 * Each is reached only through the method table (dispatch.c), which has decoded the parameters into the
 * struct below and checked what the table declares. The Varlink error a call answers is chosen in its
 * handler, once. */

#include <stdint.h>

#include "audit.h"
#include "dispatch.h"
#include "pci.h"
#include "sysfs.h"
#include "worker.h"

/* Parameter structs, decoded by the table's ParamSpec rows. */
typedef struct InterfaceParams {
	const char *interface;
} InterfaceParams;

typedef struct AttachParams {
	PciAddress address;
	int64_t vm_fd;
} AttachParams;

typedef struct AttachDeviceParams {
	PciAddress address;
	int64_t iommu_fd; /* -1 when absent (the row's defaults) */
} AttachDeviceParams;

typedef struct IdParams {
	int64_t id;
} IdParams;

typedef struct AddressParams {
	PciAddress address;
} AddressParams;

typedef struct BindParams {
	PciAddress address;
	bool force;         /* absent: false */
	const char *driver; /* absent: NULL, vfio-pci; borrowed from the call */
} BindParams;

int method_get_info(MethodCall *call, const void *params);
int method_get_interface_description(MethodCall *call, const void *params);
int method_list_devices(MethodCall *call, const void *params);
int method_list_attachments(MethodCall *call, const void *params);
int method_monitor(MethodCall *call, const void *params);
int method_attach(MethodCall *call, const void *params);
int method_open_device(MethodCall *call, const void *params);
int method_detach(MethodCall *call, const void *params);
/* Extension, the cdev mode: a device's vfio cdev and an iommufd. */
int method_attach_device(MethodCall *call, const void *params);
/* Extensions, for admins: move a device between vfio-pci (or a variant) and its host driver. */
int method_bind(MethodCall *call, const void *params);
int method_unbind(MethodCall *call, const void *params);

/* Shared by the handlers. */

/* Queues message (an error or reply from message.h's builders; NULL for out of memory). */
int method_send(MethodCall *call, json_object *message);

/* The audit record of a call: the caller from the socket, what it asked and what came of it. */
AuditRecord method_record(const MethodCall *call, const char *action, const char *outcome,
                          const char *device, unsigned attachment, const char *reason);

/* Records a denial (or a refusal a client can repeat at no cost) of call, within the denial
 * budgets of its connection and its user (audit.h); beyond them, only counts it, for the
 * summary record (manager_audit_suppressed()). */
_printf_(3, 4) void method_audit_denial(MethodCall *call, const AuditRecord *record, const char *format,
                                        ...);

/* Reads the device at address, answering NoSuchDevice or KernelError itself. Returns 1 when
 * found, 0 when answered, -errno. */
int method_find_device(MethodCall *call, PciAddress address, SysfsDevice *ret);

/* Calls whose kernel work runs on a worker (worker.h): the handler plans it on the loop,
 * submits it with method_submit() and returns METHOD_PENDING; the job's done() takes the call
 * up again with method_resume(), answers it, and ends with method_finish(). */
typedef struct CallWork {
	WorkerJob job; /* first: the pool hands this back */
	Manager *manager;
	unsigned connection; /* its id: the connection may be gone by done() */
	Caller caller;       /* filled by method_resume() */
} CallWork;

/* Submits w's job for call; call's connection takes no further call until method_finish(). */
void method_submit(MethodCall *call, CallWork *w, void (*run)(WorkerJob *job), void (*done)(WorkerJob *job));

/* In done(): *ret is the call again when its connection is still there and its process
 * alive. Returns false when the call is abandoned: its caller went away. */
bool method_resume(CallWork *w, MethodCall *ret);

/* In done(), once the call is answered (r: what answering returned; -errno closes the
 * connection): the connection goes on with its next call. */
void method_finish(MethodCall *call, int r);
