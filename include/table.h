/*
 * table.h — the one description of each kind of input file.
 *
 * For each kind (users, products, events, sales) it names the target table,
 * the CSV columns with their validation rule, which database column each one
 * fills, and the unique key.  load, check, schema and generate all read this
 * description instead of keeping their own copies.
 */
#ifndef SIPREMS_TABLE_H
#define SIPREMS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In dependency (load) order: users, products, events, then sales. */
enum kind {
	KIND_USERS,
	KIND_PRODUCTS,
	KIND_EVENTS,
	KIND_SALES,
	KIND_COUNT,
	KIND_NONE = -1,
};

enum rule {
	RULE_SKU,       /* trimmed, 1–100 chars, SKU pattern (not for COL_REF) */
	RULE_TEXT,      /* UTF-8 text of at most max_chars characters */
	RULE_MONEY,     /* plain decimal, at most 2 decimals, within NUMERIC(10,2) */
	RULE_INT,       /* integer within [min, max] */
	RULE_DATE,      /* YYYY-MM-DD, a real calendar date */
	RULE_TIMESTAMP, /* date with optional time and offset */
	RULE_BOOL,      /* true/false, t/f, yes/no, y/n, 1/0 */
	RULE_LABEL,     /* one of the column's labels, any letter case */
	RULE_EMAIL,     /* trimmed e-mail address */
	RULE_PWHASH,    /* werkzeug pbkdf2/scrypt or bcrypt hash */
	RULE_PASSWORD,  /* plaintext, stored only as a pbkdf2 hash */
};

/* What an empty field means. */
enum empty_rule {
	EMPTY_REJECT,  /* the value is required */
	EMPTY_NULL,    /* NULL */
	EMPTY_DEFAULT, /* the column's `empty` text, validated like a value */
	EMPTY_REF,     /* the referenced row's value (t->ref_source): a sale's price */
	EMPTY_ONE_OF,  /* users.password_hash / password: one of the two */
};

#define TABLE_MAXCOLS   8 /* columns of the widest kind */
#define TABLE_MAXLABELS 8 /* labels of a RULE_LABEL column */

#define COL_REQUIRED 0x01 /* the header must carry this column */
#define COL_KEY      0x02 /* part of the kind's unique key */
#define COL_SECRET   0x04 /* never echoed: not in messages, not in reject files */
#define COL_REF      0x08 /* names a row of t->ref_kind by its key: the value is its id */
#define COL_NOCASE   0x10 /* a key compared regardless of (ASCII) letter case: e-mail */

struct col_def {
	const char *name;      /* CSV header name, lowercase */
	const char *db_column; /* database column it fills */
	enum rule rule;
	enum empty_rule empty_rule;
	unsigned flags;
	int min_chars, max_chars;  /* RULE_TEXT/SKU/EMAIL: length in characters */
	int64_t min, max;          /* RULE_INT: inclusive range */
	const char *empty;         /* EMPTY_DEFAULT: the value an empty field takes */
	const char *const *labels; /* RULE_LABEL: the values, lowercase, NULL-terminated */
};

struct table_def {
	enum kind kind;
	const char *name;      /* "products": the KIND of a KIND=FILE argument */
	const char *table;     /* database table: "products", "transactions" */
	const char *id_column; /* serial primary key, never written */
	const struct col_def *cols;
	int ncols;
	int key[2]; /* unique key: indexes into cols; nkey == 0 for sales */
	int nkey;
	/* A column naming a row of another kind (sales.sku -> products): its
	 * index (-1: none), the kind, and the column of that kind an EMPTY_REF
	 * column takes (products.price). */
	int ref_col;
	enum kind ref_kind;
	int ref_source;
	/* A column an update by key also sets to now() (users.updated_at), or NULL. */
	const char *touch_on_update;
};

/* A column the loader fills, as the live table has it. */
struct live_col {
	char typname[64]; /* pg_type.typname; "" when the table lacks it */
	int max_chars;    /* a varchar(n)'s n; 0 without a limit */
	bool required;    /* NOT NULL without a default: a value must be sent */
};

/* The live table of a kind. */
struct live_table {
	struct live_col cols[TABLE_MAXCOLS]; /* by the kind's column */
	/* Timestamp columns, NOT NULL without a default, that no column of a
	 * file fills (an ORM's created_at): the load's timestamp goes in. */
	char audit[4][64];
	bool audit_tz[4]; /* TIMESTAMPTZ */
	int naudit;
};

/* The description of a kind; kind must be valid. */
const struct table_def *table_get(enum kind kind);

/* The kind named s ("products"…), or KIND_NONE. */
enum kind table_kind_from_name(const char *s);

/* The index of CSV column name (case-insensitive, len bytes) in t, or -1. */
int table_col_index(const struct table_def *t, const char *name, size_t len);

/* True for the columns a reject file adds (reject_line, reject_reason),
 * which every kind accepts and ignores. */
bool table_is_reject_column(const char *name, size_t len);

/* The index of the first column of t with rule r, or -1. */
int table_rule_col(const struct table_def *t, enum rule r);

/* The key's column names joined by '+' ("event_name+event_date"); for a
 * kind without a key, the name of its reference column ("sku"). */
const char *table_key_name(const struct table_def *t);

/* The kind whose ref_col names rows of kind, or NULL. */
const struct table_def *table_referrer(enum kind kind);

/* The index of label s (len bytes, any case) among c->labels, or -1. */
int table_label_index(const struct col_def *c, const char *s, size_t len);

/* The number of c->labels. */
int table_nlabels(const struct col_def *c);

/* Writes the tables of every kind in the order that removing their rows
 * needs (a referencing table first), joined by ", ", into buf. */
void table_reset_order(char *buf, size_t size);

/* Writes the kinds' names as a quoted SQL list ('users', 'products', …). */
void table_kind_list(char *buf, size_t size);

#endif
