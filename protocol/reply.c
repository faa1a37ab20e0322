/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "idl.h"
#include "macro.h"
#include "reply.h"

/* What the interface cannot say about each field of its types: the member it is decoded into
 * and the bounds clients rely on. The names, types and optionality come from the file; a field
 * it gains without a line here does not compile. */
#define ANY_BOUNDS   .min = INT64_MIN, .max = INT64_MAX
#define GROUP_BOUNDS .min = 0, .max = INT32_MAX
#define ID_BOUNDS    .min = 0, .max = INT64_MAX
/* An admin is shown devices in no IOMMU group too: group -1. */
#define DEVICE_GROUP_BOUNDS .min = -1, .max = INT32_MAX

#define DEVICE_address    ReplyDevice, address
#define DEVICE_group      ReplyDevice, group, DEVICE_GROUP_BOUNDS
#define DEVICE_vendor     ReplyDevice, vendor
#define DEVICE_device     ReplyDevice, device
#define DEVICE_driver     ReplyDevice, driver
#define DEVICE_viable     ReplyDevice, viable
#define DEVICE_attachment ReplyDevice, attachment, ID_BOUNDS
static const ParamSpec device_spec[] = { IDL_PARAMS(IDL_TYPE_io_vfiod_Device, DEVICE) };

#define ATTACHMENT_id         ReplyAttachment, id, ID_BOUNDS
#define ATTACHMENT_address    ReplyAttachment, address
#define ATTACHMENT_group      ReplyAttachment, group, GROUP_BOUNDS
#define ATTACHMENT_vm         ReplyAttachment, vm, ID_BOUNDS
#define ATTACHMENT_pid        ReplyAttachment, pid, ANY_BOUNDS
#define ATTACHMENT_uid        ReplyAttachment, uid, ANY_BOUNDS
#define ATTACHMENT_since      ReplyAttachment, since
#define ATTACHMENT_memlock    ReplyAttachment, memlock, ANY_BOUNDS
#define ATTACHMENT_deviceOpen ReplyAttachment, device_open
#define ATTACHMENT_mode       ReplyAttachment, mode
static const ParamSpec attachment_spec[] = { IDL_PARAMS(IDL_TYPE_io_vfiod_Attachment, ATTACHMENT) };

#define EVENT_kind       ReplyEvent, kind
#define EVENT_attachment ReplyEvent, attachment
#define EVENT_device     ReplyEvent, device
#define EVENT_reason     ReplyEvent, reason
#define EVENT_time       ReplyEvent, time
static const ParamSpec event_spec[] = { IDL_PARAMS(IDL_TYPE_io_vfiod_Event, EVENT) };

int reply_decode(json_object *o, const ParamSpec *spec, size_t n, void *ret, const char **ret_bad_name) {
	const char *bad = NULL;

	if (message_decode_params(o, spec, n, ret, &bad) >= 0)
		return 0;
	if (ret_bad_name)
		*ret_bad_name = bad;
	return -EBADMSG;
}

int reply_decode_device(json_object *o, ReplyDevice *ret, const char **ret_bad_name) {
	return reply_decode(o, device_spec, ELEMENTSOF(device_spec), ret, ret_bad_name);
}

int reply_decode_attachment(json_object *o, ReplyAttachment *ret, const char **ret_bad_name) {
	return reply_decode(o, attachment_spec, ELEMENTSOF(attachment_spec), ret, ret_bad_name);
}

int reply_decode_event(json_object *o, ReplyEvent *ret, const char **ret_bad_name) {
	return reply_decode(o, event_spec, ELEMENTSOF(event_spec), ret, ret_bad_name);
}
