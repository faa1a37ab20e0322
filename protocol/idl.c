/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The interfaces' declarations as tables: protocol/idl.awk writes them from protocol/NAME.varlink
 * into build/protocol/NAME.idl-tables.h, included here, so they cannot drift from the text. */

#include <string.h>

#include "idl.h"
#include "macro.h"

#include "io.vfiod.idl-tables.h"
#include "org.varlink.service.idl-tables.h"

static const IdlInterface *const interfaces[] = {
	&io_vfiod_interface,
	&org_varlink_service_interface,
};

const IdlInterface *const *idl_interfaces(size_t *ret_n) {
	*ret_n = ELEMENTSOF(interfaces);
	return interfaces;
}

const IdlMethod *idl_find_method(const char *qualified) {
	const char *dot = strrchr(qualified, '.');

	for (size_t i = 0; dot && i < ELEMENTSOF(interfaces); i++) {
		const IdlInterface *interface = interfaces[i];
		if (strlen(interface->name) != (size_t) (dot - qualified) ||
		    strncmp(interface->name, qualified, (size_t) (dot - qualified)) != 0)
			continue;
		for (size_t j = 0; j < interface->n_methods; j++)
			if (strcmp(interface->methods[j].name, dot + 1) == 0)
				return &interface->methods[j];
	}
	return NULL;
}

static const IdlStruct *find_struct(const IdlStruct *structs, size_t n, const char *name) {
	for (size_t i = 0; i < n; i++)
		if (strcmp(structs[i].name, name) == 0)
			return &structs[i];
	return NULL;
}

const IdlStruct *idl_find_type(const IdlInterface *interface, const char *name) {
	return find_struct(interface->types, interface->n_types, name);
}

const IdlStruct *idl_find_error(const IdlInterface *interface, const char *name) {
	return find_struct(interface->errors, interface->n_errors, name);
}
