/*
 * refdata.h — reference data read from the database for validation: the
 * SKUs of existing products.
 */
#ifndef SIPREMS_REFDATA_H
#define SIPREMS_REFDATA_H

#include <libpq-fe.h>

#include "error.h"
#include "keyset.h"

/*
 * Adds every product of the database to skus (payload: product id, price in
 * cents), streaming them with COPY TO STDOUT.  A database without a products
 * table adds nothing.  Returns ETL_OK, ETL_EDB or ETL_ESYSTEM.
 */
enum etl_code refdata_load_skus(PGconn *conn, struct keyset *skus, struct etl_error *err);

#endif
