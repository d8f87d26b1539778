/*
 * ddl.c — a small tokenizer and parser for the DDL under schema/: one
 * struct ddl_stmt per CREATE TYPE / TABLE / INDEX / ALTER TABLE … ADD
 * CONSTRAINT.  Pure: no database, no I/O; test_ddl covers it.
 */
#include "ddl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a small tokenizer for our own DDL --------------------------------- */

enum tok_type { T_EOF, T_WORD, T_STR, T_PUNCT };

struct tok {
	enum tok_type type;
	char text[NAMELEN];
	const char *start, *end;
};

static const char *
skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		return p;
	}
}

static const char *
next_tok(const char *p, struct tok *t)
{
	p = skip_space(p);
	t->start = p;
	size_t n = 0;
	if (*p == '\0') {
		t->type = T_EOF;
	} else if (isalnum((unsigned char)*p) || *p == '_') {
		t->type = T_WORD;
		while (isalnum((unsigned char)*p) || *p == '_') {
			if (n < NAMELEN - 1)
				t->text[n++] = *p;
			p++;
		}
	} else if (*p == '\'') {
		t->type = T_STR;
		p++;
		/* A quote inside is written twice. */
		while (*p != '\0' && (*p != '\'' || p[1] == '\'')) {
			if (*p == '\'')
				p++;
			if (n < NAMELEN - 1)
				t->text[n++] = *p;
			p++;
		}
		if (*p == '\'')
			p++;
	} else {
		t->type = T_PUNCT;
		t->text[n++] = *p++;
	}
	t->text[n] = '\0';
	t->end = p;
	return p;
}

static bool
is_word(const struct tok *t, const char *w)
{
	return t->type == T_WORD && strcasecmp(t->text, w) == 0;
}

static bool
is_punct(const struct tok *t, char c)
{
	return t->type == T_PUNCT && t->text[0] == c;
}

static void
lower_copy(char *dst, const char *src)
{
	size_t i = 0;
	for (; src[i] != '\0' && i < NAMELEN - 1; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

enum tclass
ddl_type_class(const char *type)
{
	static const struct {
		const char *name;
		enum tclass tc;
	} map[] = {
	        {"serial", TC_INT},
	        {"bigserial", TC_INT},
	        {"integer", TC_INT},
	        {"int", TC_INT},
	        {"bigint", TC_INT},
	        {"smallint", TC_INT},
	        {"varchar", TC_TEXT},
	        {"text", TC_TEXT},
	        {"numeric", TC_NUMERIC},
	        {"boolean", TC_BOOL},
	        {"date", TC_DATE},
	        {"timestamp", TC_TIMESTAMP},
	        {"timestamptz", TC_TIMESTAMP},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcasecmp(type, map[i].name) == 0)
			return map[i].tc;
	return TC_ENUM; /* a user-defined type: ours is the event_type enum */
}

/* Parses "( a [DESC], b )" into s->cols. */
static const char *
parse_col_list(const char *p, struct ddl_stmt *s)
{
	struct tok t;
	p = next_tok(p, &t);
	if (!is_punct(&t, '('))
		return NULL;
	for (;;) {
		p = next_tok(p, &t);
		if (t.type != T_WORD || s->ncols == 4)
			return NULL;
		lower_copy(s->cols[s->ncols], t.text);
		s->desc[s->ncols] = false;
		p = next_tok(p, &t);
		if (is_word(&t, "DESC") || is_word(&t, "ASC")) {
			s->desc[s->ncols] = is_word(&t, "DESC");
			p = next_tok(p, &t);
		}
		s->ncols++;
		if (is_punct(&t, ')'))
			return p;
		if (!is_punct(&t, ','))
			return NULL;
	}
}

/* Parses the body of CREATE TABLE name ( ... ). */
static const char *
parse_table_body(const char *p, struct ddl_stmt *s)
{
	struct tok t;
	p = next_tok(p, &t);
	if (!is_punct(&t, '('))
		return NULL;
	for (;;) {
		if (s->ntcols == (int)(sizeof s->tcols / sizeof s->tcols[0]))
			return NULL;
		struct ddl_col *c = &s->tcols[s->ntcols];
		memset(c, 0, sizeof *c);
		p = next_tok(p, &t);
		if (t.type != T_WORD)
			return NULL;
		const char *def_start = t.start;
		lower_copy(c->name, t.text);
		p = next_tok(p, &t);
		if (t.type != T_WORD)
			return NULL;
		c->tclass = ddl_type_class(t.text);
		c->serial =
		        strcasecmp(t.text, "serial") == 0 || strcasecmp(t.text, "bigserial") == 0;
		/* Skip type arguments and constraints up to the next ',' or the
		 * closing ')' at depth 0, noting DEFAULT's expression. */
		int depth = 0;
		const char *dflt_start = NULL;
		for (;;) {
			const char *before = p;
			p = next_tok(p, &t);
			if (t.type == T_EOF)
				return NULL;
			bool ends = depth == 0 && (is_punct(&t, ',') || is_punct(&t, ')'));
			bool stops_default = ends || is_word(&t, "NOT") || is_word(&t, "NULL") ||
			                     is_word(&t, "PRIMARY") || is_word(&t, "UNIQUE") ||
			                     is_word(&t, "REFERENCES");
			if (dflt_start != NULL && stops_default) {
				size_t n = (size_t)(before - dflt_start);
				while (n > 0 && isspace((unsigned char)dflt_start[n - 1]))
					n--;
				if (n >= NAMELEN)
					n = NAMELEN - 1;
				memcpy(c->dflt, dflt_start, n);
				c->dflt[n] = '\0';
				dflt_start = NULL;
			}
			if (ends) {
				size_t n = (size_t)(before - def_start);
				while (n > 0 && isspace((unsigned char)def_start[n - 1]))
					n--;
				if (n >= sizeof c->def)
					return NULL;
				memcpy(c->def, def_start, n);
				c->def[n] = '\0';
				break;
			}
			if (is_word(&t, "NOT") || is_word(&t, "PRIMARY"))
				c->notnull = true;
			if (is_word(&t, "DEFAULT"))
				dflt_start = skip_space(p);
			if (is_punct(&t, '('))
				depth++;
			else if (is_punct(&t, ')'))
				depth--;
		}
		s->ntcols++;
		if (is_punct(&t, ')'))
			return p;
	}
}

const char *
ddl_parse(const char *p, struct ddl_stmt *s, bool *bad)
{
	struct tok t;
	memset(s, 0, sizeof *s);
	*bad = false;
	p = skip_space(p);
	if (*p == '\0')
		return NULL;
	const char *start = p;
	p = next_tok(p, &t);
	if (is_word(&t, "CREATE")) {
		p = next_tok(p, &t);
		if (is_word(&t, "UNIQUE")) {
			s->unique = true;
			p = next_tok(p, &t);
		}
		if (is_word(&t, "TYPE")) {
			s->kind = ST_ENUM;
			p = next_tok(p, &t);
			lower_copy(s->name, t.text);
			p = next_tok(p, &t); /* AS */
			p = next_tok(p, &t); /* ENUM */
			p = next_tok(p, &t); /* ( */
			while ((p = next_tok(p, &t)) != NULL && t.type == T_STR && s->nlabels < 8) {
				(void)snprintf(s->labels[s->nlabels++], NAMELEN, "%s", t.text);
				p = next_tok(p, &t);
				if (!is_punct(&t, ','))
					break;
			}
		} else if (is_word(&t, "TABLE")) {
			s->kind = ST_TABLE;
			p = next_tok(p, &t);
			lower_copy(s->name, t.text);
			lower_copy(s->table, t.text);
			p = parse_table_body(p, s);
		} else if (is_word(&t, "INDEX")) {
			s->kind = ST_INDEX;
			p = next_tok(p, &t);
			lower_copy(s->name, t.text);
			p = next_tok(p, &t); /* ON */
			p = next_tok(p, &t);
			lower_copy(s->table, t.text);
			p = parse_col_list(p, s);
		} else {
			p = NULL;
		}
	} else if (is_word(&t, "ALTER")) {
		p = next_tok(p, &t); /* TABLE */
		p = next_tok(p, &t);
		lower_copy(s->table, t.text);
		p = next_tok(p, &t); /* ADD */
		p = next_tok(p, &t); /* CONSTRAINT */
		p = next_tok(p, &t);
		lower_copy(s->name, t.text);
		p = next_tok(p, &t);
		if (is_word(&t, "UNIQUE")) {
			s->kind = ST_UNIQUE;
			s->unique = true;
			p = parse_col_list(p, s);
		} else if (is_word(&t, "FOREIGN")) {
			s->kind = ST_FKEY;
			p = next_tok(p, &t); /* KEY */
			p = parse_col_list(p, s);
			if (p != NULL) {
				p = next_tok(p, &t); /* REFERENCES */
				p = next_tok(p, &t);
				lower_copy(s->ref_table, t.text);
				p = next_tok(p, &t); /* ( */
				p = next_tok(p, &t);
				lower_copy(s->ref_col, t.text);
			}
		} else {
			p = NULL;
		}
	} else {
		p = NULL;
	}
	if (p == NULL) {
		*bad = true;
		return NULL;
	}
	/* The statement runs to its ';'. */
	while ((p = next_tok(p, &t)) != NULL && t.type != T_EOF && !is_punct(&t, ';'))
		;
	if (!is_punct(&t, ';')) {
		*bad = true;
		return NULL;
	}
	size_t n = (size_t)(t.end - start);
	s->sql = malloc(n + 1);
	if (s->sql == NULL) {
		*bad = true;
		return NULL;
	}
	memcpy(s->sql, start, n);
	s->sql[n] = '\0';
	return t.end;
}

void
ddl_free(struct ddl_stmt *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].sql);
	free(v);
}

bool
ddl_parse_all(const char *sql, struct ddl_stmt **v, int *n)
{
	const char *p = sql;
	for (;;) {
		struct ddl_stmt s;
		bool bad;
		p = ddl_parse(p, &s, &bad);
		if (bad) {
			free(s.sql);
			return false;
		}
		if (p == NULL)
			return true;
		struct ddl_stmt *nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
		if (nv == NULL) {
			free(s.sql);
			return false;
		}
		*v = nv;
		(*v)[(*n)++] = s;
	}
}
