/*
 * schema_citus.c — the distributed layout on a Citus coordinator: the
 * tables a schema run created become reference tables (users, products,
 * events) and a table hash-distributed by product_id (transactions, whose
 * primary key then holds product_id too, as Citus requires of every unique
 * key); the loader's own tables stay local to the coordinator.  Tables that
 * existed before are left as their owner distributed them (or not).
 */
#include <stddef.h>

#include "db.h"
#include "schema_impl.h"

enum etl_code
schema_distribute(struct ctx *c)
{
	static const char *const reference[] = {"users", "products", "events"};
	if (!db_citus_coordinator(c->conn))
		return ETL_OK;
	bool all = schema_created(c, "transactions");
	for (size_t i = 0; i < sizeof reference / sizeof reference[0]; i++)
		all = all && schema_created(c, reference[i]);
	if (!all) {
		if (schema_created(c, "transactions") || schema_created(c, "products") ||
		    schema_created(c, "users") || schema_created(c, "events"))
			return schema_result_add(
			        c->res, c->err,
			        "note: Citus: some of the app's tables existed "
			        "already; the new ones stay local (distribute them "
			        "with create_reference_table / "
			        "create_distributed_table)");
		return ETL_OK;
	}
	/* The foreign key goes while the tables change their kind, and comes
	 * back between the distributed table and the reference table. */
	static const struct {
		const char *object, *sql, *said;
	} steps[] = {
	        {"transactions_product_id_fkey",
	         "ALTER TABLE transactions DROP CONSTRAINT transactions_product_id_fkey", NULL},
	        {"transactions_pkey",
	         "ALTER TABLE transactions DROP CONSTRAINT transactions_pkey, "
	         "ADD CONSTRAINT transactions_pkey PRIMARY KEY (transaction_id, product_id)",
	         "primary key of transactions: (transaction_id, product_id), as Citus requires"},
	        {"users", "SELECT create_reference_table('users')", "reference table users"},
	        {"products", "SELECT create_reference_table('products')",
	         "reference table products"},
	        {"events", "SELECT create_reference_table('events')", "reference table events"},
	        {"transactions", "SELECT create_distributed_table('transactions', 'product_id')",
	         "distributed table transactions (by product_id)"},
	        {"transactions_product_id_fkey",
	         "ALTER TABLE transactions ADD CONSTRAINT transactions_product_id_fkey "
	         "FOREIGN KEY (product_id) REFERENCES products (product_id) ON DELETE RESTRICT",
	         NULL},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		enum etl_code rc = schema_apply(c, steps[i].object, steps[i].sql);
		if (rc == ETL_OK && steps[i].said != NULL)
			rc = schema_result_add(c->res, c->err, "%s %s",
			                       schema_verb(c, "created", "would create"),
			                       steps[i].said);
		if (rc != ETL_OK)
			return rc;
	}
	return ETL_OK;
}
