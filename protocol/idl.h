/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The interfaces as data. Each is declared once, in protocol/NAME.varlink: the build serves
 * that text (interface.c) and protocol/idl.awk turns it into the declarations below, from which
 * the daemon's decode tables and the client's reply decoding are made (IDL_PARAMS). Pure. */

#include <stdbool.h>
#include <stddef.h>

#include "message.h"
#include "pci.h"

/* Generated (build/protocol): IDL_IN_<iface>_<Method>(X, P), IDL_OUT_<iface>_<Method>(X, P) and
 * IDL_TYPE_<iface>_<Type>(X, P) call X(P, field, IdlType, optional) for each field, in order;
 * <iface> is the interface name with '.' and '-' as '_'. */
#include "io.vfiod.idl.h"
#include "org.varlink.service.idl.h"

/* The JSON shape of a field; a named type of the interface is an IDL_OBJECT. */
typedef enum IdlType {
	IDL_BOOL,
	IDL_INT,
	IDL_FLOAT,
	IDL_STRING,
	IDL_OBJECT, /* element: the interface's type ("Attachment"); NULL for "object" */
	IDL_ARRAY,  /* "[]T": element is T as written ("string", "Attachment") */
} IdlType;

typedef struct IdlField {
	const char *name;
	IdlType type;
	bool optional; /* "?T": absent or null allowed */
	const char *element;
} IdlField;

typedef struct IdlMethod {
	const char *name; /* unqualified: "Attach" */
	const IdlField *in;
	size_t n_in;
	const IdlField *out;
	size_t n_out;
} IdlMethod;

/* A type's or an error's fields. */
typedef struct IdlStruct {
	const char *name;
	const IdlField *fields;
	size_t n_fields;
} IdlStruct;

typedef struct IdlInterface {
	const char *name;
	const IdlMethod *methods;
	size_t n_methods;
	const IdlStruct *types;
	size_t n_types;
	const IdlStruct *errors;
	size_t n_errors;
} IdlInterface;

/* Every interface this build knows (io.vfiod, org.varlink.service): static data. */
const IdlInterface *const *idl_interfaces(size_t *ret_n);

/* The method of a qualified name ("io.vfiod.Attach"), or NULL. */
const IdlMethod *idl_find_method(const char *qualified);

/* The type or the error of interface called name, or NULL. */
const IdlStruct *idl_find_type(const IdlInterface *interface, const char *name);
const IdlStruct *idl_find_error(const IdlInterface *interface, const char *name);

/* ---- ParamSpec rows from the interface ---- */

/* IDL_PARAMS(list, P): the ParamSpec rows of list (one of the generated IDL_IN_*, IDL_OUT_* or
 * IDL_TYPE_*), one per field in the file's order, for message_decode_params(). The field's name,
 * JSON type and optionality come from the interface file. What the file cannot say comes from
 * a macro the caller defines for each field, P_field: the struct and member the field is decoded
 * into, then designated initializers for its bounds (.max_length, .min, .max):
 *     #define ATTACH_vmFd AttachParams, vm_fd, .min = 0, .max = PROTOCOL_MAX_FDS - 1
 * The member's C type must be the one message_decode_params writes for the field's type
 * (int64_t, bool, const char * or PciAddress, json_object * for objects and arrays); a string
 * decoded into a PciAddress is a PARAM_PCI_ADDRESS. A member of another type, or a field the
 * file declares without its P_field, does not compile: the tables follow the file. (P is passed
 * through macros, so it must not itself be the name of a macro.) */
#define IDL_PARAMS(list, P) list(IDL_PARAM_, P)

#define IDL_PARAM_(P, field, idl_type, optional_) IDL_PARAM_SPEC_(#field, idl_type, optional_, P##_##field)
/* One more expansion, so that P_field becomes its arguments. */
#define IDL_PARAM_SPEC_(...) IDL_PARAM_SPEC(__VA_ARGS__)
#define IDL_PARAM_SPEC(text, idl_type, optional_, struct_, member_, ...)                                    \
	{ .name = text,                                                                                     \
	  .type = IDL_PARAM_TYPE(idl_type, ((struct_ *) 0)->member_),                                       \
	  .optional = optional_,                                                                            \
	  .offset = offsetof(struct_, member_) +                                                            \
		    IDL_MEMBER_CHECK(IDL_PARAM_TYPE(idl_type, ((struct_ *) 0)->member_),                    \
		                     ((struct_ *) 0)->member_),                                             \
	  __VA_ARGS__ },

/* clang-format 14 takes _Generic's associations for labels. */
/* clang-format off */

/* The ParamType of a field of idl_type decoded into member (not evaluated); -1, which no member
 * fits, for a type message_decode_params does not decode (float). */
#define IDL_PARAM_TYPE(idl_type, member)                                                                    \
	((idl_type) == IDL_STRING ? _Generic((member), PciAddress: PARAM_PCI_ADDRESS, default: PARAM_STRING) \
	 : (idl_type) == IDL_INT ? PARAM_INT                                                                \
	 : (idl_type) == IDL_BOOL ? PARAM_BOOL                                                              \
	 : (idl_type) == IDL_OBJECT ? PARAM_OBJECT                                                          \
	 : (idl_type) == IDL_ARRAY ? PARAM_ARRAY                                                            \
	 : -1)

/* 0 when member's C type is what message_decode_params writes for param_type; a compile error
 * (an array of negative size) when not, or when no decoder writes that C type at all. */
#define IDL_MEMBER_CHECK(param_type, member)                                                                \
	(sizeof(char[_Generic((member),                                                                     \
	                      const char *: (param_type) == PARAM_STRING,                                   \
	                      PciAddress: (param_type) == PARAM_PCI_ADDRESS,                                \
	                      int64_t: (param_type) == PARAM_INT,                                           \
	                      bool: (param_type) == PARAM_BOOL,                                             \
	                      json_object *: (param_type) == PARAM_OBJECT || (param_type) == PARAM_ARRAY)   \
	             ? 1 : -1]) - 1)

/* clang-format on */
