/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The interface text (protocol/interface.c). What GetInterfaceDescription serves is
 * protocol/io.vfiod.varlink byte for byte, and that text keeps the contract: the io.vfiod
 * interface of doc/protocol.md, with the extensions adopted into it. doc/protocol.md is the
 * project's protocol document (../shared/protocol.md beside a checkout) kept whole in the
 * repository, since the contract is more than its interface block (transport, fds, the
 * Varlink rules) and a clone alone must be able to check it; one test keeps the copy equal to
 * the project's document wherever that is beside the checkout.
 * The interface files are also the source of the tables protocol/idl.awk makes (protocol/idl.c)
 * and of the daemon's decode tables made from those (daemon/loop/dispatch.c): this test reads the
 * files with a parser of its own and checks that the tables declare what the files do, and that
 * the method table answers exactly the methods declared, each decoding exactly the parameters
 * declared, with their types and optionality. */

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dispatch.h"
#include "idl.h"
#include "macro.h"
#include "message.h"
#include "protocol.h"

/* The sections of doc/protocol.md whose ``` block is the baseline: the interface, the served
 * extensions adopted into it, and the cdev mode (AttachDevice, Attachment.mode, NotAnIommufd),
 * which this broker serves. */
#define CONTRACT_INTERFACE "## Interface `io.vfiod`\n"
#define CONTRACT_ADOPTED   "## Served extensions adopted into the baseline"
#define CONTRACT_CDEV      "## The cdev mode"

/* The file at path, whole; NULL (errno set) when it cannot be read. */
static char *read_path(const char *path) {
	char *text = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	if (getdelim(&text, &size, '\0', f) < 0) {
		free(text);
		text = ferror(f) ? NULL : strdup("");
	}
	fclose(f);
	return text;
}

/* A file of the source tree ($VFIOD_SRCDIR, else the working directory): it must be there. */
static char *read_source(const char *relative) {
	const char *srcdir = getenv("VFIOD_SRCDIR") ?: ".";
	char path[1024], *text;

	snprintf(path, sizeof(path), "%s/%s", srcdir, relative);
	text = read_path(path);
	if (!text)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return text;
}

/* A copy of the text of the first ``` block after heading in doc. */
static char *doc_block(const char *doc, const char *heading) {
	const char *start = strstr(doc, heading), *end;

	if (!start)
		fail_msg("doc/protocol.md has no section '%s'", heading);
	start = strstr(start, "\n```\n");
	assert_non_null(start);
	start += strlen("\n```\n");
	end = strstr(start, "```");
	assert_non_null(end);
	return strndup(start, (size_t) (end - start));
}

/* A copy of text with its one occurrence of from replaced by to. */
static char *replace_once(const char *text, const char *from, const char *to) {
	const char *at = strstr(text, from);
	char *result = NULL;

	if (!at || strstr(at + 1, from))
		fail_msg("'%s' is not in the interface text exactly once", from);
	assert_true(asprintf(&result, "%.*s%s%s", (int) (at - text), text, to, at + strlen(from)) > 0);
	return result;
}

/* ---- The contract's lines ---- */

/* The next line of *text (without its newline), advancing *text; NULL at the end. */
static const char *next_line(const char **text, size_t *length) {
	const char *line = *text, *nl;

	if (!*line)
		return NULL;
	nl = strchr(line, '\n');
	*length = nl ? (size_t) (nl - line) : strlen(line);
	*text = nl ? nl + 1 : line + *length;
	return line;
}

/* Whether text is the contract with extensions added and nothing changed: the contract's
 * lines, in order, with extra lines only after them, or between them as blocks that open
 * with an "# Extension" comment (vfiod(8) documents each). NULL when it is, else why not. */
static const char *line_violation(const char *contract, const char *text) {
	static char why[512];
	const char *want, *line;
	size_t want_length = 0, length = 0;
	bool in_extension = false;

	want = next_line(&contract, &want_length);
	while (want && (line = next_line(&text, &length))) {
		/* The contract's last field of a type gains a comma when an extension adds one after it. */
		bool same = length == want_length ||
		            (length == want_length + 1 && want_length > 0 && line[length - 1] == ',' &&
		             want[want_length - 1] != ',' && want[want_length - 1] != ')');
		if (same && memcmp(line, want, want_length) == 0) {
			in_extension = false;
			want = next_line(&contract, &want_length);
			continue;
		}
		if (memmem(line, length, "# Extension", strlen("# Extension")))
			in_extension = true;
		if (!in_extension) {
			snprintf(why, sizeof(why),
			         "interface line '%.*s' is neither the contract's '%.*s' nor an extension",
			         (int) length, line, (int) want_length, want);
			return why;
		}
	}
	if (want) {
		snprintf(why, sizeof(why), "contract line '%.*s' missing from the interface",
		         (int) want_length, want);
		return why;
	}
	return NULL;
}

/* ---- The contract's declarations ---- */

#define TEXT_MAX_NAME   64u
#define TEXT_MAX_FIELDS 16u
#define TEXT_MAX_DECLS  64u

typedef struct TextField {
	char name[TEXT_MAX_NAME];
	char type[TEXT_MAX_NAME];
} TextField;

/* A type's or an error's fields in fields[0]; a method's parameters in fields[0], its
 * reply's in fields[1]. */
typedef struct TextDecl {
	char kind[TEXT_MAX_NAME]; /* "type", "method" or "error" */
	char name[TEXT_MAX_NAME];
	TextField fields[2][TEXT_MAX_FIELDS];
	size_t n_fields[2];
} TextDecl;

typedef struct TextIdl {
	char interface[TEXT_MAX_NAME];
	TextDecl decls[TEXT_MAX_DECLS];
	size_t n_decls;
	char owner[TEXT_MAX_NAME]; /* the type the last "# In NAME:" comment named */
} TextIdl;

#define TEXT_WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.?[]"

/* Skips white space and comments. A comment "# In NAME: ..." names the type that field
 * fragments after it belong to (doc/protocol.md writes the fields its extensions add so). */
static const char *skip_blanks(const char *s, TextIdl *parsed) {
	for (;;) {
		size_t n;
		while (isspace((unsigned char) *s))
			s++;
		if (*s != '#')
			return s;
		n = strncmp(s, "# In ", 5) == 0 ? strspn(s + 5, TEXT_WORD_CHARS) : 0;
		if (n > 0 && n < TEXT_MAX_NAME && s[5 + n] == ':')
			snprintf(parsed->owner, sizeof(parsed->owner), "%.*s", (int) n, s + 5);
		s += strcspn(s, "\n");
	}
}

/* The next token of *p: a word (a name or a type such as "?[]string"), "->", or one of
 * "(),:"; "" at the end. Anything else (an anonymous struct or enum, say) fails the test. */
static void next_token(const char **p, TextIdl *parsed, char token[static TEXT_MAX_NAME]) {
	const char *s = skip_blanks(*p, parsed);
	size_t n;

	if (strncmp(s, "->", 2) == 0)
		n = 2;
	else if (*s && strchr("(),:", *s))
		n = 1;
	else
		n = strspn(s, TEXT_WORD_CHARS);
	if (*s && n == 0)
		fail_msg("interface text: unexpected '%c' before '%.20s'", *s, s);
	if (n >= TEXT_MAX_NAME)
		fail_msg("interface text: '%.*s' too long", (int) n, s);
	memcpy(token, s, n);
	token[n] = '\0';
	*p = s + n;
}

static void next_word(const char **p, TextIdl *parsed, char word[static TEXT_MAX_NAME]) {
	next_token(p, parsed, word);
	if (!isalpha((unsigned char) word[0]) && word[0] != '?' && word[0] != '[')
		fail_msg("interface text: '%s' where a name or a type belongs", word);
}

static void expect(const char **p, TextIdl *parsed, const char *want) {
	char token[TEXT_MAX_NAME];

	next_token(p, parsed, token);
	if (strcmp(token, want) != 0)
		fail_msg("interface text: '%s' where '%s' belongs", token, want);
}

static TextDecl *text_find(TextIdl *parsed, const char *kind, const char *name) {
	for (size_t i = 0; i < parsed->n_decls; i++)
		if (strcmp(parsed->decls[i].kind, kind) == 0 && strcmp(parsed->decls[i].name, name) == 0)
			return &parsed->decls[i];
	return NULL;
}

static TextField *text_field(const TextDecl *d, size_t group, const char *name) {
	for (size_t i = 0; i < d->n_fields[group]; i++)
		if (strcmp(d->fields[group][i].name, name) == 0)
			return (TextField *) &d->fields[group][i];
	return NULL;
}

/* "name: type" into group of d. */
static void parse_field(const char **p, TextIdl *parsed, TextDecl *d, size_t group, const char *name) {
	TextField *f;

	if (text_field(d, group, name))
		fail_msg("interface text: %s.%s declared twice", d->name, name);
	assert_true(d->n_fields[group] < TEXT_MAX_FIELDS);
	f = &d->fields[group][d->n_fields[group]++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	expect(p, parsed, ":");
	next_word(p, parsed, f->type);
}

/* "(name: type, ...)" into group of d. */
static void parse_fields(const char **p, TextIdl *parsed, TextDecl *d, size_t group) {
	char token[TEXT_MAX_NAME];

	expect(p, parsed, "(");
	for (next_token(p, parsed, token); strcmp(token, ")") != 0;) {
		parse_field(p, parsed, d, group, token);
		next_token(p, parsed, token);
		if (strcmp(token, ",") == 0)
			next_word(p, parsed, token);
		else if (strcmp(token, ")") != 0)
			fail_msg("interface text: '%s' after a field of %s", token, d->name);
	}
}

/* Adds the declarations of a Varlink interface text to parsed. A field outside any declaration
 * ("  memlock: ?int") is a field of the type the last "# In NAME:" comment named. */
static void text_parse(TextIdl *parsed, const char *text) {
	char word[TEXT_MAX_NAME], name[TEXT_MAX_NAME];
	const char *p = text;
	TextDecl *d;

	for (next_token(&p, parsed, word); word[0]; next_token(&p, parsed, word)) {
		if (strcmp(word, "interface") == 0) {
			next_word(&p, parsed, parsed->interface);
			continue;
		}
		if (strcmp(word, "type") != 0 && strcmp(word, "method") != 0 && strcmp(word, "error") != 0) {
			d = text_find(parsed, "type", parsed->owner);
			if (!d)
				fail_msg("interface text: field '%s' outside a declaration", word);
			parse_field(&p, parsed, d, 0, word);
			continue;
		}
		next_word(&p, parsed, name);
		if (text_find(parsed, word, name))
			fail_msg("interface text: %s %s declared twice", word, name);
		assert_true(parsed->n_decls < TEXT_MAX_DECLS);
		d = &parsed->decls[parsed->n_decls++];
		snprintf(d->kind, sizeof(d->kind), "%s", word);
		snprintf(d->name, sizeof(d->name), "%s", name);
		parse_fields(&p, parsed, d, 0);
		if (strcmp(word, "method") == 0) {
			expect(&p, parsed, "->");
			parse_fields(&p, parsed, d, 1);
		}
	}
}

/* Whether served keeps baseline: each declaration of the baseline is there, of the same kind,
 * with each of its fields under the same name and of the same type; what served adds is
 * declarations (new methods, errors and the types they use) and optional fields. NULL when
 * it does, else why not. */
static const char *text_violation(TextIdl *baseline, TextIdl *served) {
	static char why[512];

	if (strcmp(baseline->interface, served->interface) != 0) {
		snprintf(why, sizeof(why), "interface %s, the contract's is %s", served->interface,
		         baseline->interface);
		return why;
	}
	for (size_t i = 0; i < baseline->n_decls; i++) {
		const TextDecl *b = &baseline->decls[i], *s = text_find(served, b->kind, b->name);
		if (!s) {
			snprintf(why, sizeof(why), "%s %s is missing", b->kind, b->name);
			return why;
		}
		for (size_t g = 0; g < 2; g++) {
			const char *part = g ? " reply" : "";
			for (size_t j = 0; j < b->n_fields[g]; j++) {
				const TextField *bf = &b->fields[g][j], *sf = text_field(s, g, bf->name);
				if (!sf || strcmp(sf->type, bf->type) != 0) {
					snprintf(why, sizeof(why), "%s%s.%s is %s, the contract's is %s",
					         b->name, part, bf->name, sf ? sf->type : "missing",
					         bf->type);
					return why;
				}
			}
			for (size_t j = 0; j < s->n_fields[g]; j++) {
				const TextField *sf = &s->fields[g][j];
				if (!text_field(b, g, sf->name) && sf->type[0] != '?') {
					snprintf(why, sizeof(why), "%s%s.%s is added as %s, not optional",
					         b->name, part, sf->name, sf->type);
					return why;
				}
			}
		}
	}
	return NULL;
}

/* The baseline of doc/protocol.md, parsed. */
static TextIdl *baseline_parse(void) {
	_cleanup_free_ char *doc = read_source("doc/protocol.md");
	_cleanup_free_ char *interface = doc_block(doc, CONTRACT_INTERFACE);
	_cleanup_free_ char *adopted = doc_block(doc, CONTRACT_ADOPTED);
	_cleanup_free_ char *cdev = doc_block(doc, CONTRACT_CDEV);
	TextIdl *parsed = calloc(1, sizeof(TextIdl));

	assert_non_null(parsed);
	text_parse(parsed, interface);
	text_parse(parsed, adopted);
	text_parse(parsed, cdev);
	return parsed;
}

/* Why text breaks the contract's declarations, or NULL. */
static const char *declaration_violation(const char *text) {
	_cleanup_free_ TextIdl *baseline = baseline_parse(), *served = calloc(1, sizeof(TextIdl));

	assert_non_null(served);
	text_parse(served, text);
	return text_violation(baseline, served);
}

/* Why text breaks the contract's lines, or NULL. */
static const char *contract_line_violation(const char *text) {
	_cleanup_free_ char *doc = read_source("doc/protocol.md");
	_cleanup_free_ char *contract = doc_block(doc, CONTRACT_INTERFACE);

	return line_violation(contract, text);
}

/* ---- The tables made from the interface files ---- */

/* The files the build makes tables of (the Makefile's INTERFACES), in idl_interfaces() order. */
static const char *const interface_files[] = {
	"protocol/io.vfiod.varlink",
	"protocol/org.varlink.service.varlink",
};

/* f's type as a file writes it: "?[]string", "Attachment", "int". */
static const char *field_type_text(const IdlField *f, char buffer[static TEXT_MAX_NAME]) {
	static const char *const names[] = {
		[IDL_BOOL] = "bool",     [IDL_INT] = "int",       [IDL_FLOAT] = "float",
		[IDL_STRING] = "string", [IDL_OBJECT] = "object", [IDL_ARRAY] = "?",
	};

	snprintf(buffer, TEXT_MAX_NAME, "%s%s%s", f->optional ? "?" : "", f->type == IDL_ARRAY ? "[]" : "",
	         f->element ?: names[f->type]);
	return buffer;
}

/* Why the n generated fields are not those of group of d, in the file's order, or NULL. */
static const char *fields_violation(const TextDecl *d, size_t group, const IdlField *fields, size_t n) {
	static char why[512];
	char type[TEXT_MAX_NAME];

	for (size_t i = 0; i < n || i < d->n_fields[group]; i++) {
		const TextField *want = i < d->n_fields[group] ? &d->fields[group][i] : NULL;
		const IdlField *got = i < n ? &fields[i] : NULL;
		if (want && got && strcmp(got->name, want->name) == 0 &&
		    strcmp(field_type_text(got, type), want->type) == 0)
			continue;
		snprintf(why, sizeof(why), "%s %s%s, field %zu: the tables have '%s: %s', the file '%s: %s'",
		         d->kind, d->name, group ? " reply" : "", i, got ? got->name : "(none)",
		         got ? field_type_text(got, type) : "", want ? want->name : "(none)",
		         want ? want->type : "");
		return why;
	}
	return NULL;
}

/* Why the generated interface g does not declare what the file parsed does, or NULL: the same
 * methods, types and errors, each with the same fields in the same order. */
static const char *tables_violation(const TextIdl *file, const IdlInterface *g) {
	static char why[512];
	char qualified[2 * TEXT_MAX_NAME];

	if (strcmp(file->interface, g->name) != 0 ||
	    file->n_decls != g->n_methods + g->n_types + g->n_errors) {
		snprintf(why, sizeof(why), "the tables declare %zu things of %s, the file %zu of %s",
		         g->n_methods + g->n_types + g->n_errors, g->name, file->n_decls, file->interface);
		return why;
	}
	for (size_t i = 0; i < file->n_decls; i++) {
		const TextDecl *d = &file->decls[i];
		const char *violation = NULL;
		snprintf(qualified, sizeof(qualified), "%s.%s", g->name, d->name);
		const IdlMethod *m = strcmp(d->kind, "method") == 0 ? idl_find_method(qualified) : NULL;
		const IdlStruct *st = strcmp(d->kind, "type") == 0    ? idl_find_type(g, d->name)
		                      : strcmp(d->kind, "error") == 0 ? idl_find_error(g, d->name)
		                                                      : NULL;
		if (m)
			violation = fields_violation(d, 0, m->in, m->n_in)
			                    ?: fields_violation(d, 1, m->out, m->n_out);
		else if (st)
			violation = fields_violation(d, 0, st->fields, st->n_fields);
		if (violation)
			return violation;
		if (!m && !st) {
			snprintf(why, sizeof(why), "%s %s is missing from the tables", d->kind, d->name);
			return why;
		}
	}
	return NULL;
}

static void free_parses(TextIdl *parses[static ELEMENTSOF(interface_files)]) {
	for (size_t i = 0; i < ELEMENTSOF(interface_files); i++)
		free(parses[i]);
}

/* ---- The method table against the files ---- */

/* Whether a row of type t decodes a field the file types type ("?int"): a PCI address is a
 * string, an object any named type. */
static bool param_decodes(ParamType t, const char *type) {
	const char *base = type + (type[0] == '?');

	switch (t) {
	case PARAM_STRING:
	case PARAM_PCI_ADDRESS:
		return strcmp(base, "string") == 0;
	case PARAM_INT:
		return strcmp(base, "int") == 0;
	case PARAM_BOOL:
		return strcmp(base, "bool") == 0;
	case PARAM_OBJECT:
		return strcmp(base, "object") == 0 || isupper((unsigned char) base[0]);
	case PARAM_ARRAY:
		return strncmp(base, "[]", 2) == 0;
	}
	return false;
}

/* Why row does not decode exactly the parameters of method d, or NULL. */
static const char *row_violation(const MethodEntry *row, const TextDecl *d) {
	static char why[512];

	for (size_t i = 0; i < d->n_fields[0]; i++) {
		const TextField *f = &d->fields[0][i];
		const ParamSpec *spec = NULL;
		size_t found = 0;
		for (size_t j = 0; j < row->n_params; j++)
			if (strcmp(row->params[j].name, f->name) == 0) {
				spec = &row->params[j];
				found++;
			}
		if (found != 1 || !param_decodes(spec->type, f->type) ||
		    spec->optional != (f->type[0] == '?')) {
			snprintf(why, sizeof(why), "%s: parameter '%s: %s' has %zu rows%s", row->name,
			         f->name, f->type, found,
			         found == 1 ? ", of another type or optionality" : "");
			return why;
		}
	}
	if (row->n_params != d->n_fields[0]) {
		snprintf(why, sizeof(why), "%s: %zu rows for the %zu parameters the file declares",
		         row->name, row->n_params, d->n_fields[0]);
		return why;
	}
	return NULL;
}

/* The row of method name of interface, or NULL. */
static const MethodEntry *find_row(const MethodEntry *rows, size_t n, const char *interface,
                                   const char *name) {
	char qualified[2 * TEXT_MAX_NAME];

	snprintf(qualified, sizeof(qualified), "%s.%s", interface, name);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].name, qualified) == 0)
			return &rows[i];
	return NULL;
}

/* Why the n rows do not answer exactly the methods the files declare, each decoding exactly
 * the parameters declared, or NULL. */
static const char *method_table_violation(const MethodEntry *rows, size_t n,
                                          TextIdl *files[static ELEMENTSOF(interface_files)]) {
	static char why[512];
	size_t n_methods = 0;

	for (size_t f = 0; f < ELEMENTSOF(interface_files); f++)
		for (size_t i = 0; i < files[f]->n_decls; i++) {
			const TextDecl *d = &files[f]->decls[i];
			const MethodEntry *row;
			const char *violation;
			if (strcmp(d->kind, "method") != 0)
				continue;
			n_methods++;
			row = find_row(rows, n, files[f]->interface, d->name);
			if (!row) {
				snprintf(why, sizeof(why), "method %s.%s has no row", files[f]->interface,
				         d->name);
				return why;
			}
			violation = row_violation(row, d);
			if (violation)
				return violation;
		}
	if (n != n_methods) {
		snprintf(why, sizeof(why), "%zu rows for the %zu methods the files declare", n, n_methods);
		return why;
	}
	return NULL;
}

/* ---- Tests ---- */

static void served_text_is_the_canonical_file(void **state _unused_) {
	_cleanup_free_ char *interface = read_source("protocol/io.vfiod.varlink");
	_cleanup_free_ char *service = read_source("protocol/org.varlink.service.varlink");

	assert_string_equal(protocol_interface_description, interface);
	assert_string_equal(protocol_service_description, service);
}

/* The canonical file and the text served (the same, above) keep the contract. */
static void interface_keeps_the_contract(void **state _unused_) {
	_cleanup_free_ char *canonical = read_source("protocol/io.vfiod.varlink");
	const char *texts[] = { canonical, protocol_interface_description };

	for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
		const char *why = contract_line_violation(texts[i]);
		if (why)
			fail_msg("%s", why);
		why = declaration_violation(texts[i]);
		if (why)
			fail_msg("%s", why);
	}
}

/* Changes the checks must refuse, and additions they must let through. */
static const struct {
	const char *from, *to;
	bool lines_kept, declarations_kept;
} changes[] = {
	/* An unmarked line inside a contract block. */
	{ "  deviceOpen: bool,\n", "  slot: ?int,\n  deviceOpen: bool,\n", false, true },
	/* A contract comment reworded. */
	{ "# The group is attached to another VM.\n", "# The group is busy.\n", false, true },
	/* A marked extension that adds a field every old client would have to send or expect. */
	{ "  deviceOpen: bool,\n", "  # Extension: a slot.\n  slot: int,\n  deviceOpen: bool,\n", true,
	  false },
	/* A marked optional field, a new method, a new error. */
	{ "  deviceOpen: bool,\n", "  # Extension: a slot.\n  slot: ?int,\n  deviceOpen: bool,\n", true,
	  true },
	{ "error ProtocolError (reason: string)\n",
	  "error ProtocolError (reason: string)\n\n# Extension.\nmethod Status() -> (ok: bool)\n"
	  "# Extension.\nerror Busy (what: ?string)\n",
	  true, true },
	/* An extension adopted into the baseline changed or gone. */
	{ "  memlock: ?int,\n", "  memlock: int,\n", true, false },
	{ "  memlock: ?int,\n", "", true, false },
	{ "method Bind(address: string, force: ?bool, driver: ?string) -> (device: Device)\n", "", true,
	  false },
	{ "error LimitExceeded (limit: string, value: int)\n", "error LimitExceeded (limit: string)\n", true,
	  false },
	/* Contract declarations renamed, retyped, made stricter, removed. */
	{ "error NoSuchAttachment (id: int)\n", "error NoSuchAttachment (attachment: int)\n", false, false },
	{ "  reason: ?string,\n", "  reason: string,\n", false, false },
	{ "method Detach(id: int) -> ()\n", "", false, false },
	{ "method OpenDevice(id: int) -> (deviceFd: int)\n", "method OpenDevice(id: int) -> (fd: int)\n",
	  false, false },
	{ "type Event (\n", "type Happening (\n", false, false },
	{ "interface io.vfiod\n", "interface io.vfiod2\n", false, false },
};

static void changes_are_judged(void **state _unused_) {
	_cleanup_free_ char *canonical = read_source("protocol/io.vfiod.varlink");

	for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
		_cleanup_free_ char *text = replace_once(canonical, changes[i].from, changes[i].to);
		const char *why = contract_line_violation(text);
		if ((why == NULL) != changes[i].lines_kept)
			fail_msg("change %zu ('%s'): the line check says %s", i, changes[i].from,
			         why ?: "the contract is kept");
		why = declaration_violation(text);
		if ((why == NULL) != changes[i].declarations_kept)
			fail_msg("change %zu ('%s'): the declaration check says %s", i, changes[i].from,
			         why ?: "the contract is kept");
	}
}

/* doc/protocol.md is still the project's document, when that is beside the checkout. */
static void baseline_is_the_shared_document(void **state _unused_) {
	const char *srcdir = getenv("VFIOD_SRCDIR") ?: ".";
	_cleanup_free_ char *ours = NULL, *shared = NULL;
	const char *a, *b, *line_a, *line_b;
	size_t length_a = 0, length_b = 0;
	char path[1024];

	snprintf(path, sizeof(path), "%s/../shared/protocol.md", srcdir);
	shared = read_path(path);
	/* Nothing allocated yet: skip() leaves through longjmp, past every cleanup. */
	if (!shared && errno == ENOENT) {
		skip();
		return;
	}
	if (!shared)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	ours = read_source("doc/protocol.md");
	a = ours;
	b = shared;
	for (unsigned line = 1;; line++) {
		line_a = next_line(&a, &length_a);
		line_b = next_line(&b, &length_b);
		if (!line_a && !line_b)
			break;
		if (!line_a || !line_b || length_a != length_b || memcmp(line_a, line_b, length_a) != 0)
			fail_msg("doc/protocol.md:%u is '%.*s', %s has '%.*s': copy the project's document",
			         line, line_a ? (int) length_a : 0, line_a ?: "", path,
			         line_b ? (int) length_b : 0, line_b ?: "");
	}
	assert_string_equal(ours, shared);
}

/* A change of interface_files[file]: from, which is there once, becomes to. */
typedef struct FileChange {
	size_t file;
	const char *from, *to;
} FileChange;

/* A parse of each file, with change (NULL for none) made to its text. */
static void parse_changed(const FileChange *change, TextIdl *ret[static ELEMENTSOF(interface_files)]) {
	for (size_t i = 0; i < ELEMENTSOF(interface_files); i++) {
		_cleanup_free_ char *text = read_source(interface_files[i]);
		_cleanup_free_ char *changed =
		        change && change->file == i ? replace_once(text, change->from, change->to) : NULL;
		ret[i] = calloc(1, sizeof(TextIdl));
		assert_non_null(ret[i]);
		text_parse(ret[i], changed ?: text);
	}
}

/* The tables the build made of each file (protocol/idl.awk) declare what the file does, as
 * this test's own parser reads it. */
static void tables_are_the_files(void **state _unused_) {
	TextIdl *files[ELEMENTSOF(interface_files)];
	size_t n = 0;
	const IdlInterface *const *interfaces = idl_interfaces(&n);
	const char *why = NULL;

	assert_int_equal(n, ELEMENTSOF(interface_files));
	parse_changed(NULL, files);
	for (size_t i = 0; !why && i < n; i++)
		why = tables_violation(files[i], interfaces[i]);
	free_parses(files);
	if (why)
		fail_msg("%s", why);
}

/* Files the tables no longer declare: the check must see each. */
static void changed_files_are_not_the_tables(void **state _unused_) {
	static const FileChange file_changes[] = {
		{ 0, "  deviceOpen: bool,\n", "  deviceOpen: bool,\n  slot: ?int,\n" },
		{ 0, "vmFd: int", "vmFd: string" },
		{ 0, "  memlock: ?int,\n", "  memlock: int,\n" },
		{ 0, "  attachment: ?Attachment,\n", "  attachment: ?[]Attachment,\n" },
		{ 0, "  vendor: string,\n  device: string,\n", "  device: string,\n  vendor: string,\n" },
		{ 0, "method Detach(id: int) -> ()\n", "" },
		{ 0, "method Detach(id: int) -> ()\n", "method Detach(id: int) -> (detached: bool)\n" },
		{ 0, "error PermissionDenied ()\n", "error PermissionDenied (why: ?string)\n" },
		{ 1, "interfaces: []string", "interfaces: []object" },
		{ 1, "interface org.varlink.service\n", "interface org.varlink.service2\n" },
	};
	size_t n = 0;
	const IdlInterface *const *interfaces = idl_interfaces(&n);

	for (size_t i = 0; i < ELEMENTSOF(file_changes); i++) {
		TextIdl *files[ELEMENTSOF(interface_files)];
		const char *why;

		parse_changed(&file_changes[i], files);
		why = tables_violation(files[file_changes[i].file], interfaces[file_changes[i].file]);
		free_parses(files);
		if (!why)
			fail_msg("change %zu ('%s'): the tables are judged the file", i,
			         file_changes[i].from);
	}
}

/* The daemon's method table answers exactly the methods the files declare, each decoding
 * exactly the parameters declared (made from the tables, in their order). */
static void method_table_follows_the_files(void **state _unused_) {
	TextIdl *files[ELEMENTSOF(interface_files)];
	size_t n = 0;
	const MethodEntry *rows = dispatch_table(&n);
	const char *why;

	parse_changed(NULL, files);
	why = method_table_violation(rows, n, files);
	free_parses(files);
	if (why)
		fail_msg("%s", why);
	for (size_t i = 0; i < n; i++) {
		const IdlMethod *m = idl_find_method(rows[i].name);
		assert_non_null(m);
		assert_int_equal(rows[i].n_params, m->n_in);
		for (size_t j = 0; j < m->n_in; j++)
			assert_string_equal(rows[i].params[j].name, m->in[j].name);
	}
}

/* A parameter added to a file, or taken away, retyped or made optional, without the table
 * following, and the other way round: the check must see each. */
static void method_table_drift_is_caught(void **state _unused_) {
	static const FileChange file_changes[] = {
		{ 0, "method Detach(id: int) -> ()\n", "method Detach(id: int, force: ?bool) -> ()\n" },
		{ 0, "method ListDevices() ->", "method ListDevices(all: ?bool) ->" },
		{ 0, "method Attach(address: string, vmFd: int)", "method Attach(address: string)" },
		{ 0, "method Unbind(address: string)", "method Unbind(device: string)" },
		{ 0, "vmFd: int", "vmFd: string" },
		{ 0, "method OpenDevice(id: int)", "method OpenDevice(id: ?int)" },
		{ 0, "method Monitor() -> (event: Event)\n", "" },
		{ 0, "error ProtocolError (reason: string)\n",
		  "error ProtocolError (reason: string)\nmethod Reset() -> ()\n" },
		{ 1, "GetInterfaceDescription(interface: string)",
		  "GetInterfaceDescription(interface: string, version: ?int)" },
	};
	static const ParamSpec extra[] = { { "id", PARAM_INT }, { "force", PARAM_BOOL, .optional = true } };
	static const ParamSpec retyped[] = { { "address", PARAM_PCI_ADDRESS }, { "vmFd", PARAM_STRING } };
	static const ParamSpec optional[] = { { "id", PARAM_INT, .optional = true } };
	static const ParamSpec twice[] = { { "id", PARAM_INT }, { "id", PARAM_INT } };
	static const struct {
		const char *method;
		const ParamSpec *params;
		size_t n_params;
	} row_changes[] = {
		{ "Detach", extra, ELEMENTSOF(extra) },     /* a parameter the file lacks */
		{ "Attach", retyped, ELEMENTSOF(retyped) }, /* vmFd decoded as a string */
		{ "OpenDevice", optional, 1 },              /* id optional */
		{ "OpenDevice", twice, ELEMENTSOF(twice) }, /* id decoded twice */
		{ "Bind", NULL, 0 },                        /* address not decoded */
		{ "Reset", NULL, 0 },                       /* a row for no method */
	};
	TextIdl *files[ELEMENTSOF(interface_files)];
	size_t n = 0;
	const MethodEntry *table = dispatch_table(&n);
	MethodEntry rows[32];

	assert_true(n + 1 < ELEMENTSOF(rows));
	for (size_t i = 0; i < ELEMENTSOF(file_changes); i++) {
		const char *why;
		parse_changed(&file_changes[i], files);
		why = method_table_violation(table, n, files);
		free_parses(files);
		if (!why)
			fail_msg("change %zu ('%s'): the table is judged to follow", i,
			         file_changes[i].from);
	}
	parse_changed(NULL, files);
	for (size_t i = 0; i < ELEMENTSOF(row_changes); i++) {
		MethodEntry *row;
		memcpy(rows, table, n * sizeof(*rows));
		row = (MethodEntry *) find_row(rows, n, VFIOD_INTERFACE, row_changes[i].method);
		if (!row) {
			row = &rows[n];
			*row = (MethodEntry){ .name = VFIOD_INTERFACE ".Reset" };
		}
		row->params = row_changes[i].params;
		row->n_params = row_changes[i].n_params;
		if (!method_table_violation(rows, row == &rows[n] ? n + 1 : n, files))
			fail_msg("row change %zu (%s): the table is judged to follow", i,
			         row_changes[i].method);
	}
	/* A row gone. */
	assert_non_null(method_table_violation(table, n - 1, files));
	free_parses(files);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(served_text_is_the_canonical_file),
		cmocka_unit_test(interface_keeps_the_contract),
		cmocka_unit_test(changes_are_judged),
		cmocka_unit_test(baseline_is_the_shared_document),
		cmocka_unit_test(tables_are_the_files),
		cmocka_unit_test(changed_files_are_not_the_tables),
		cmocka_unit_test(method_table_follows_the_files),
		cmocka_unit_test(method_table_drift_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
