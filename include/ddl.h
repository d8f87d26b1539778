/*
 * ddl.h — the statements of the DDL under schema/, parsed.
 *
 * schema.c asks the catalog about each statement; the parser only knows the
 * subset of SQL those files use, and says so (bad) for anything else.
 */
#ifndef SIPREMS_DDL_H
#define SIPREMS_DDL_H

#include <stdbool.h>

#define NAMELEN 64
#define MAXTOK  512

enum stmt_kind { ST_ENUM, ST_TABLE, ST_INDEX, ST_UNIQUE, ST_FKEY };

/* The type classes an existing column may have to be compatible. */
enum tclass { TC_INT, TC_TEXT, TC_NUMERIC, TC_BOOL, TC_TIMESTAMP, TC_DATE, TC_ENUM };

struct ddl_col {
	char name[NAMELEN];
	enum tclass tclass;
	bool serial;        /* SERIAL/BIGSERIAL: the loader never writes it */
	char dflt[NAMELEN]; /* DEFAULT expression, "" when none */
	bool notnull;       /* NOT NULL or PRIMARY KEY */
	char def[192];      /* the whole definition, for ADD COLUMN */
};

struct ddl_stmt {
	enum stmt_kind kind;
	char name[NAMELEN];  /* object created */
	char table[NAMELEN]; /* table it belongs to */
	char cols[4][NAMELEN];
	bool desc[4];
	int ncols;
	bool unique;
	char ref_table[NAMELEN], ref_col[NAMELEN];
	char labels[8][NAMELEN];
	int nlabels;
	struct ddl_col tcols[32];
	int ntcols;
	char *sql;
};

/*
 * Parses one statement starting at p into s; returns the position after its
 * ';', or NULL at the end of input.  *bad is set on a statement this parser
 * does not know (a bug in schema/, caught by the unit tests).  s->sql is
 * the statement's text, allocated; ddl_free() or free() it.
 */
const char *ddl_parse(const char *p, struct ddl_stmt *s, bool *bad);

/* The type class of an SQL type name ("varchar(255)" -> TC_TEXT). */
enum tclass ddl_type_class(const char *type);

/* Appends the statements of sql to *v (*n of them so far); false for a
 * statement the parser does not know or when out of memory (what was
 * appended stays, for ddl_free). */
bool ddl_parse_all(const char *sql, struct ddl_stmt **v, int *n);

/* Frees n statements and the array. */
void ddl_free(struct ddl_stmt *v, int n);

#endif
