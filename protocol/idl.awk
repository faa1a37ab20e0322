# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reads one Varlink interface file (protocol/NAME.varlink) and writes its declarations for C,
# for protocol/idl.h:
#   -v header=PATH   X-macro lists: IDL_IN_<iface>_<Method>, IDL_OUT_<iface>_<Method> and
#                    IDL_TYPE_<iface>_<Type>, each calling X(P, field, IDL_<TYPE>, optional) once
#                    per field in the file's order (IDL_PARAMS() makes ParamSpec rows of them);
#   -v tables=PATH   the IdlField, IdlMethod and IdlStruct tables and the IdlInterface that
#                    protocol/idl.c serves.
# <iface> is the interface name with '.' and '-' as '_'. POSIX awk (Debian's mawk). It knows the
# types vfiod's interfaces use: bool, int, float, string, object, the interface's own named
# types, each optionally "?" and optionally an array "[]"; anything else (anonymous structs,
# enums, maps, nullable array elements) stops the build with the line it is on, as does a name
# declared twice or a named type the file does not declare.

# Every token with its line: comments dropped, punctuation spaced out.
{
	sub(/#.*/, "")
	gsub(/->/, " -> ")
	gsub(/[(),:]/, " & ")
	n = split($0, words, " ")
	for (i = 1; i <= n; i++) {
		ntok++
		tok[ntok] = words[i]
		tokline[ntok] = FNR
	}
	file = FILENAME
}

# Stops with message about the token read last.
function fail(message, at) {
	at = pos - 1
	if (at < 1)
		at = 1
	if (at > ntok)
		at = ntok
	printf "%s:%d: %s\n", file, tokline[at], message > "/dev/stderr"
	failed = 1
	exit 1
}

function next_token() {
	if (pos > ntok)
		fail("unexpected end of the interface")
	return tok[pos++]
}

function expect(want, t) {
	t = next_token()
	if (t != want)
		fail("'" t "' where '" want "' belongs")
}

function name_token(what, pattern, t) {
	t = next_token()
	if (t !~ pattern)
		fail("'" t "' is not a valid " what " name")
	return t
}

# One field's type token into ftype, fopt and felem of (d, part, i).
function parse_type(d, part, i, t, base, array, kind) {
	t = next_token()
	base = t
	fopt[d, part, i] = sub(/^\?/, "", base) ? "true" : "false"
	array = sub(/^\[\]/, "", base)
	if (base ~ /^(bool|int|float|string)$/)
		kind = "IDL_" toupper(base)
	else if (base == "object" || base ~ /^[A-Z][A-Za-z0-9]*$/)
		kind = "IDL_OBJECT"
	else
		fail("type '" t "' is not one this generator knows")
	felem[d, part, i] = "NULL"
	if (array || (kind == "IDL_OBJECT" && base != "object"))
		felem[d, part, i] = "\"" base "\""
	if (base ~ /^[A-Z]/)
		used[base] = tokline[pos - 1]
	ftype[d, part, i] = array ? "IDL_ARRAY" : kind
}

# "(name: type, ...)" into part of declaration d.
function parse_fields(d, part, t, i, name) {
	expect("(")
	nf[d, part] = 0
	t = next_token()
	while (t != ")") {
		if (nf[d, part] > 0) {
			if (t != ",")
				fail("'" t "' after a field of " dname[d])
			t = next_token()
		}
		pos--
		name = name_token("field", "^[A-Za-z][A-Za-z0-9_]*$")
		for (i = 1; i <= nf[d, part]; i++)
			if (fname[d, part, i] == name)
				fail(dname[d] "." name " declared twice")
		i = ++nf[d, part]
		fname[d, part, i] = name
		expect(":")
		parse_type(d, part, i)
		t = next_token()
	}
}

function parse_declaration(keyword, d, name) {
	name = name_token(keyword, "^[A-Z][A-Za-z0-9]*$")
	if ((keyword, name) in declared)
		fail(keyword " " name " declared twice")
	declared[keyword, name] = 1
	d = ++ndecl
	dkind[d] = keyword
	dname[d] = name
	parse_fields(d, 0)
	if (keyword == "method") {
		expect("->")
		parse_fields(d, 1)
	}
}

# ---- Output ----

function fields_symbol(d, part) {
	return cname "_" dname[d] (dkind[d] == "method" ? (part ? "_out" : "_in") : "_" dkind[d])
}

function list_macro(macro, d, part, i) {
	printf "#define %s(X, P)", macro > header
	for (i = 1; i <= nf[d, part]; i++)
		printf " \\\n\tX(P, %s, %s, %s)", fname[d, part, i], ftype[d, part, i], fopt[d, part, i] > header
	printf "\n" > header
}

function field_table(d, part, i) {
	if (nf[d, part] == 0)
		return
	printf "static const IdlField %s[] = {\n", fields_symbol(d, part) > tables
	for (i = 1; i <= nf[d, part]; i++)
		printf "\t{ \"%s\", %s, %s, %s },\n", fname[d, part, i], ftype[d, part, i], fopt[d, part, i],
		       felem[d, part, i] > tables
	printf "};\n" > tables
}

# "symbol, count" of part of d, "NULL, 0" when it has no fields.
function fields_ref(d, part) {
	return nf[d, part] ? fields_symbol(d, part) ", " nf[d, part] : "NULL, 0"
}

# The table of every declaration of kind; returns "symbol, count" or "NULL, 0".
function declaration_table(kind, struct_type, d, count) {
	for (d = 1; d <= ndecl; d++)
		if (dkind[d] == kind && !count++)
			printf "static const %s %s_%ss[] = {\n", struct_type, cname, kind > tables
	for (d = 1; d <= ndecl; d++) {
		if (dkind[d] != kind)
			continue
		if (kind == "method")
			printf "\t{ \"%s\", %s, %s },\n", dname[d], fields_ref(d, 0), fields_ref(d, 1) > tables
		else
			printf "\t{ \"%s\", %s },\n", dname[d], fields_ref(d, 0) > tables
	}
	if (!count)
		return "NULL, 0"
	printf "};\n" > tables
	return cname "_" kind "s, " count
}

function emit(d, banner, methods, types, errors) {
	banner = "/* Generated from " file " by protocol/idl.awk: do not edit. */\n"
	printf "%s#pragma once\n", banner > header
	printf "%s", banner > tables
	for (d = 1; d <= ndecl; d++) {
		if (dkind[d] == "error")
			continue
		printf "\n/* %s %s */\n", dkind[d], dname[d] > header
		if (dkind[d] == "type") {
			list_macro("IDL_TYPE_" cname "_" dname[d], d, 0)
		} else {
			list_macro("IDL_IN_" cname "_" dname[d], d, 0)
			list_macro("IDL_OUT_" cname "_" dname[d], d, 1)
		}
		field_table(d, 0)
		field_table(d, 1)
	}
	for (d = 1; d <= ndecl; d++)
		if (dkind[d] == "error")
			field_table(d, 0)
	methods = declaration_table("method", "IdlMethod")
	types = declaration_table("type", "IdlStruct")
	errors = declaration_table("error", "IdlStruct")
	printf "static const IdlInterface %s_interface = { \"%s\", %s, %s, %s };\n", cname, interface,
	       methods, types, errors > tables
}

END {
	if (failed)
		exit 1
	if (header == "" || tables == "") {
		print "usage: awk -v header=PATH -v tables=PATH -f idl.awk NAME.varlink" > "/dev/stderr"
		exit 2
	}
	pos = 1
	expect("interface")
	interface = name_token("interface", "^[a-z][-a-z0-9]*(\\.[a-z][-a-z0-9]*)+$")
	cname = interface
	gsub(/[.-]/, "_", cname)
	while (pos <= ntok) {
		keyword = next_token()
		if (keyword != "type" && keyword != "method" && keyword != "error")
			fail("'" keyword "' where a declaration belongs")
		parse_declaration(keyword)
	}
	for (t in used)
		if (!(("type", t) in declared)) {
			printf "%s:%d: type %s is not declared\n", file, used[t], t > "/dev/stderr"
			exit 1
		}
	emit()
}
