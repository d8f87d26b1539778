/*
 * record.h — one record of a file checked as a row of its kind: its shape
 * against the header, each field by the column map against the rules
 * (valid.h), a sales row's SKU against the known products.
 */
#ifndef SIPREMS_RECORD_H
#define SIPREMS_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "colmap.h"
#include "csvrow.h"
#include "keyset.h"
#include "valid.h"

/*
 * Validates a whole record against the header map m.  skus, when not NULL,
 * is the set of known SKUs (payload: product id, price in cents) that a
 * sales row must use; an empty price_per_unit takes the product's price.
 * Returns true with out filled (text values point into rec), or false with
 * every problem of the row, "column: reason; …", in why.
 */
bool record_check(const struct validator *v, const struct colmap *m,
                  const struct csvrow_record *rec, struct keyset *skus, struct valid_row *out,
                  char *why, size_t wsize);

#endif
