/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The interface text (protocol/interface.c). What GetInterfaceDescription serves is
 * protocol/io.vfiod.varlink byte for byte, and that text keeps the contract: the io.vfiod
 * interface of doc/protocol.md, with the extensions adopted into it. doc/protocol.md is the
 * project's protocol document (../shared/protocol.md beside a checkout) kept whole in the
 * repository, since the contract is more than its interface block (transport, fds, the
 * Varlink rules) and a clone alone must be able to check it; one test keeps the copy equal to
 * the project's document wherever that is beside the checkout. */

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

#include "macro.h"
#include "protocol.h"

/* The sections of doc/protocol.md whose ``` block is the baseline. The section on the cdev
 * mode is not among them: it describes AttachDevice, which this broker does not serve. */
#define CONTRACT_INTERFACE "## Interface `io.vfiod`\n"
#define CONTRACT_ADOPTED   "## Served extensions adopted into the baseline"

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
		if (length == want_length && memcmp(line, want, length) == 0) {
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

#define IDL_MAX_NAME   64u
#define IDL_MAX_FIELDS 16u
#define IDL_MAX_DECLS  64u

typedef struct IdlField {
	char name[IDL_MAX_NAME];
	char type[IDL_MAX_NAME];
} IdlField;

/* A type's or an error's fields in fields[0]; a method's parameters in fields[0], its
 * reply's in fields[1]. */
typedef struct IdlDecl {
	char kind[IDL_MAX_NAME]; /* "type", "method" or "error" */
	char name[IDL_MAX_NAME];
	IdlField fields[2][IDL_MAX_FIELDS];
	size_t n_fields[2];
} IdlDecl;

typedef struct Idl {
	char interface[IDL_MAX_NAME];
	IdlDecl decls[IDL_MAX_DECLS];
	size_t n_decls;
	char owner[IDL_MAX_NAME]; /* the type the last "# In NAME:" comment named */
} Idl;

#define IDL_WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.?[]"

/* Skips white space and comments. A comment "# In NAME: ..." names the type that field
 * fragments after it belong to (doc/protocol.md writes the fields its extensions add so). */
static const char *skip_blanks(const char *s, Idl *idl) {
	for (;;) {
		size_t n;
		while (isspace((unsigned char) *s))
			s++;
		if (*s != '#')
			return s;
		n = strncmp(s, "# In ", 5) == 0 ? strspn(s + 5, IDL_WORD_CHARS) : 0;
		if (n > 0 && n < IDL_MAX_NAME && s[5 + n] == ':')
			snprintf(idl->owner, sizeof(idl->owner), "%.*s", (int) n, s + 5);
		s += strcspn(s, "\n");
	}
}

/* The next token of *p: a word (a name or a type such as "?[]string"), "->", or one of
 * "(),:"; "" at the end. Anything else (an anonymous struct or enum, say) fails the test. */
static void next_token(const char **p, Idl *idl, char token[static IDL_MAX_NAME]) {
	const char *s = skip_blanks(*p, idl);
	size_t n;

	if (strncmp(s, "->", 2) == 0)
		n = 2;
	else if (*s && strchr("(),:", *s))
		n = 1;
	else
		n = strspn(s, IDL_WORD_CHARS);
	if (*s && n == 0)
		fail_msg("interface text: unexpected '%c' before '%.20s'", *s, s);
	if (n >= IDL_MAX_NAME)
		fail_msg("interface text: '%.*s' too long", (int) n, s);
	memcpy(token, s, n);
	token[n] = '\0';
	*p = s + n;
}

static void next_word(const char **p, Idl *idl, char word[static IDL_MAX_NAME]) {
	next_token(p, idl, word);
	if (!isalpha((unsigned char) word[0]) && word[0] != '?' && word[0] != '[')
		fail_msg("interface text: '%s' where a name or a type belongs", word);
}

static void expect(const char **p, Idl *idl, const char *want) {
	char token[IDL_MAX_NAME];

	next_token(p, idl, token);
	if (strcmp(token, want) != 0)
		fail_msg("interface text: '%s' where '%s' belongs", token, want);
}

static IdlDecl *idl_find(Idl *idl, const char *kind, const char *name) {
	for (size_t i = 0; i < idl->n_decls; i++)
		if (strcmp(idl->decls[i].kind, kind) == 0 && strcmp(idl->decls[i].name, name) == 0)
			return &idl->decls[i];
	return NULL;
}

static IdlField *idl_field(const IdlDecl *d, size_t group, const char *name) {
	for (size_t i = 0; i < d->n_fields[group]; i++)
		if (strcmp(d->fields[group][i].name, name) == 0)
			return (IdlField *) &d->fields[group][i];
	return NULL;
}

/* "name: type" into group of d. */
static void parse_field(const char **p, Idl *idl, IdlDecl *d, size_t group, const char *name) {
	IdlField *f;

	if (idl_field(d, group, name))
		fail_msg("interface text: %s.%s declared twice", d->name, name);
	assert_true(d->n_fields[group] < IDL_MAX_FIELDS);
	f = &d->fields[group][d->n_fields[group]++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	expect(p, idl, ":");
	next_word(p, idl, f->type);
}

/* "(name: type, ...)" into group of d. */
static void parse_fields(const char **p, Idl *idl, IdlDecl *d, size_t group) {
	char token[IDL_MAX_NAME];

	expect(p, idl, "(");
	for (next_token(p, idl, token); strcmp(token, ")") != 0;) {
		parse_field(p, idl, d, group, token);
		next_token(p, idl, token);
		if (strcmp(token, ",") == 0)
			next_word(p, idl, token);
		else if (strcmp(token, ")") != 0)
			fail_msg("interface text: '%s' after a field of %s", token, d->name);
	}
}

/* Adds the declarations of a Varlink interface text to idl. A field outside any declaration
 * ("  memlock: ?int") is a field of the type the last "# In NAME:" comment named. */
static void idl_parse(Idl *idl, const char *text) {
	char word[IDL_MAX_NAME], name[IDL_MAX_NAME];
	const char *p = text;
	IdlDecl *d;

	for (next_token(&p, idl, word); word[0]; next_token(&p, idl, word)) {
		if (strcmp(word, "interface") == 0) {
			next_word(&p, idl, idl->interface);
			continue;
		}
		if (strcmp(word, "type") != 0 && strcmp(word, "method") != 0 && strcmp(word, "error") != 0) {
			d = idl_find(idl, "type", idl->owner);
			if (!d)
				fail_msg("interface text: field '%s' outside a declaration", word);
			parse_field(&p, idl, d, 0, word);
			continue;
		}
		next_word(&p, idl, name);
		if (idl_find(idl, word, name))
			fail_msg("interface text: %s %s declared twice", word, name);
		assert_true(idl->n_decls < IDL_MAX_DECLS);
		d = &idl->decls[idl->n_decls++];
		snprintf(d->kind, sizeof(d->kind), "%s", word);
		snprintf(d->name, sizeof(d->name), "%s", name);
		parse_fields(&p, idl, d, 0);
		if (strcmp(word, "method") == 0) {
			expect(&p, idl, "->");
			parse_fields(&p, idl, d, 1);
		}
	}
}

/* Whether served keeps baseline: each declaration of the baseline is there, of the same kind,
 * with each of its fields under the same name and of the same type; what served adds is
 * declarations (new methods, errors and the types they use) and optional fields. NULL when
 * it does, else why not. */
static const char *idl_violation(Idl *baseline, Idl *served) {
	static char why[512];

	if (strcmp(baseline->interface, served->interface) != 0) {
		snprintf(why, sizeof(why), "interface %s, the contract's is %s", served->interface,
		         baseline->interface);
		return why;
	}
	for (size_t i = 0; i < baseline->n_decls; i++) {
		const IdlDecl *b = &baseline->decls[i], *s = idl_find(served, b->kind, b->name);
		if (!s) {
			snprintf(why, sizeof(why), "%s %s is missing", b->kind, b->name);
			return why;
		}
		for (size_t g = 0; g < 2; g++) {
			const char *part = g ? " reply" : "";
			for (size_t j = 0; j < b->n_fields[g]; j++) {
				const IdlField *bf = &b->fields[g][j], *sf = idl_field(s, g, bf->name);
				if (!sf || strcmp(sf->type, bf->type) != 0) {
					snprintf(why, sizeof(why), "%s%s.%s is %s, the contract's is %s",
					         b->name, part, bf->name, sf ? sf->type : "missing",
					         bf->type);
					return why;
				}
			}
			for (size_t j = 0; j < s->n_fields[g]; j++) {
				const IdlField *sf = &s->fields[g][j];
				if (!idl_field(b, g, sf->name) && sf->type[0] != '?') {
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
static Idl *baseline_parse(void) {
	_cleanup_free_ char *doc = read_source("doc/protocol.md");
	_cleanup_free_ char *interface = doc_block(doc, CONTRACT_INTERFACE);
	_cleanup_free_ char *adopted = doc_block(doc, CONTRACT_ADOPTED);
	Idl *idl = calloc(1, sizeof(Idl));

	assert_non_null(idl);
	idl_parse(idl, interface);
	idl_parse(idl, adopted);
	return idl;
}

/* Why text breaks the contract's declarations, or NULL. */
static const char *declaration_violation(const char *text) {
	_cleanup_free_ Idl *baseline = baseline_parse(), *served = calloc(1, sizeof(Idl));

	assert_non_null(served);
	idl_parse(served, text);
	return idl_violation(baseline, served);
}

/* Why text breaks the contract's lines, or NULL. */
static const char *contract_line_violation(const char *text) {
	_cleanup_free_ char *doc = read_source("doc/protocol.md");
	_cleanup_free_ char *contract = doc_block(doc, CONTRACT_INTERFACE);

	return line_violation(contract, text);
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
	{ "  deviceOpen: bool\n", "  slot: ?int,\n  deviceOpen: bool\n", false, true },
	/* A contract comment reworded. */
	{ "# The group is attached to another VM.\n", "# The group is busy.\n", false, true },
	/* A marked extension that adds a field every old client would have to send or expect. */
	{ "  deviceOpen: bool\n", "  # Extension: a slot.\n  slot: int,\n  deviceOpen: bool\n", true,
	  false },
	/* A marked optional field, a new method, a new error. */
	{ "  deviceOpen: bool\n", "  # Extension: a slot.\n  slot: ?int,\n  deviceOpen: bool\n", true,
	  true },
	{ "error ProtocolError (reason: string)\n",
	  "error ProtocolError (reason: string)\n\n# Extension.\nmethod Status() -> (ok: bool)\n"
	  "# Extension.\nerror Busy (what: ?string)\n",
	  true, true },
	/* An extension adopted into the baseline changed or gone. */
	{ "  memlock: ?int,\n", "  memlock: int,\n", true, false },
	{ "  memlock: ?int,\n", "", true, false },
	{ "method Bind(address: string) -> (device: Device)\n", "", true, false },
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

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(served_text_is_the_canonical_file),
		cmocka_unit_test(interface_keeps_the_contract),
		cmocka_unit_test(changes_are_judged),
		cmocka_unit_test(baseline_is_the_shared_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
