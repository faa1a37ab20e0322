/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The vfiod wire contract: names and limits of doc/protocol.md, in one place. The interface
 * text itself is protocol/io.vfiod.varlink. */

#include <stddef.h>

#define VFIOD_INTERFACE           "io.vfiod"
#define VARLINK_SERVICE_INTERFACE "org.varlink.service"
#define VFIOD_SOCKET_PATH         "/run/vfiod/io.vfiod"

#define VFIOD_VENDOR  "vfiod"
#define VFIOD_PRODUCT "vfiod"
#define VFIOD_URL     "https://github.com/vfiod/vfiod"

/* A request is at most this many bytes, its NUL terminator included. */
#define PROTOCOL_MAX_REQUEST_BYTES (64u * 1024u)
/* Replies are not bounded by the protocol; a client still refuses absurd ones. */
#define PROTOCOL_MAX_REPLY_BYTES (16u * 1024u * 1024u)
/* An error reply echoes at most this many bytes of a string the client sent (a method or
 * interface name); a longer one is cut, at a UTF-8 character boundary. */
#define PROTOCOL_MAX_ECHO_BYTES 256u
/* At most this many fds travel with one message. */
#define PROTOCOL_MAX_FDS 16u

/* Methods. */
#define VARLINK_METHOD_GET_INFO                  VARLINK_SERVICE_INTERFACE ".GetInfo"
#define VARLINK_METHOD_GET_INTERFACE_DESCRIPTION VARLINK_SERVICE_INTERFACE ".GetInterfaceDescription"
#define VFIOD_METHOD_ATTACH                      VFIOD_INTERFACE ".Attach"
#define VFIOD_METHOD_OPEN_DEVICE                 VFIOD_INTERFACE ".OpenDevice"
#define VFIOD_METHOD_DETACH                      VFIOD_INTERFACE ".Detach"
#define VFIOD_METHOD_LIST_ATTACHMENTS            VFIOD_INTERFACE ".ListAttachments"
#define VFIOD_METHOD_LIST_DEVICES                VFIOD_INTERFACE ".ListDevices"
#define VFIOD_METHOD_MONITOR                     VFIOD_INTERFACE ".Monitor"
/* Extensions (documented in vfiod(8)): admin methods that change a device's driver. */
#define VFIOD_METHOD_BIND   VFIOD_INTERFACE ".Bind"
#define VFIOD_METHOD_UNBIND VFIOD_INTERFACE ".Unbind"
/* Extension (the cdev mode of doc/protocol.md, documented in vfiod(8)): a device's vfio cdev and
 * an iommufd instead of a group and a container. */
#define VFIOD_METHOD_ATTACH_DEVICE VFIOD_INTERFACE ".AttachDevice"

/* Errors of org.varlink.service. */
#define VARLINK_ERROR_INTERFACE_NOT_FOUND    VARLINK_SERVICE_INTERFACE ".InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND       VARLINK_SERVICE_INTERFACE ".MethodNotFound"
#define VARLINK_ERROR_METHOD_NOT_IMPLEMENTED VARLINK_SERVICE_INTERFACE ".MethodNotImplemented"
#define VARLINK_ERROR_INVALID_PARAMETER      VARLINK_SERVICE_INTERFACE ".InvalidParameter"
#define VARLINK_ERROR_PERMISSION_DENIED      VARLINK_SERVICE_INTERFACE ".PermissionDenied"
#define VARLINK_ERROR_EXPECTED_MORE          VARLINK_SERVICE_INTERFACE ".ExpectedMore"

/* Errors of io.vfiod. */
#define VFIOD_ERROR_INVALID_ADDRESS       VFIOD_INTERFACE ".InvalidAddress"
#define VFIOD_ERROR_NO_SUCH_DEVICE        VFIOD_INTERFACE ".NoSuchDevice"
#define VFIOD_ERROR_GROUP_NOT_VIABLE      VFIOD_INTERFACE ".GroupNotViable"
#define VFIOD_ERROR_DEVICE_BUSY           VFIOD_INTERFACE ".DeviceBusy"
#define VFIOD_ERROR_NOT_A_VIRTUAL_MACHINE VFIOD_INTERFACE ".NotAVirtualMachine"
#define VFIOD_ERROR_PERMISSION_DENIED     VFIOD_INTERFACE ".PermissionDenied"
#define VFIOD_ERROR_NO_SUCH_ATTACHMENT    VFIOD_INTERFACE ".NoSuchAttachment"
#define VFIOD_ERROR_KERNEL_ERROR          VFIOD_INTERFACE ".KernelError"
/* Extension (documented in vfiod(8)): the message was not a valid call. */
#define VFIOD_ERROR_PROTOCOL_ERROR VFIOD_INTERFACE ".ProtocolError"
/* Extension (documented in vfiod(8)): vfiod.conf(5) does not name the device assignable. */
#define VFIOD_ERROR_NOT_ASSIGNABLE VFIOD_INTERFACE ".NotAssignable"
/* Extension (documented in vfiod(8)): a limit of vfiod.conf(5) was reached. */
#define VFIOD_ERROR_LIMIT_EXCEEDED VFIOD_INTERFACE ".LimitExceeded"
/* Extension (the cdev mode): the fd passed as iommuFd is not an iommufd this broker handed to
 * the caller's VM. */
#define VFIOD_ERROR_NOT_AN_IOMMUFD VFIOD_INTERFACE ".NotAnIommufd"

/* The io.vfiod interface description, exactly as GetInterfaceDescription returns it: the text
 * of protocol/io.vfiod.varlink, built in. */
extern const char protocol_interface_description[];
/* The org.varlink.service interface description. */
extern const char protocol_service_description[];
