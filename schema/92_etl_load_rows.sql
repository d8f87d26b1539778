-- What each load did, so that it can be undone and its rejects retried.
-- etl_load_ids: the id ranges a load reserved from the table's sequence,
-- batch by batch (its inserted rows have ids in them, no other row does),
-- and in xmins the transaction ids its rows were written with, '{…}' (a row
-- whose xmin is not among them was changed since; NULL: not known, on Citus
-- or before 0.4);
-- etl_load_before: the values of rows an --on-conflict update load changed,
-- before it changed them (JSON of the columns it set), and in after_data the
-- values it gave them (so that undo knows a row changed since; NULL in rows
-- written before 0.3); etl_load_rejects: the
-- data records (1-based) a load rejected.  All written in the transaction
-- of the batch they describe.
CREATE TABLE etl_load_ids (
    load_id  BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    last_id  BIGINT NOT NULL,
    xmins    TEXT
);
CREATE INDEX etl_load_ids_load ON etl_load_ids (load_id);
CREATE TABLE etl_load_before (
    load_id BIGINT NOT NULL,
    row_id  BIGINT NOT NULL,
    data    TEXT NOT NULL,
    after_data TEXT
);
CREATE INDEX etl_load_before_load ON etl_load_before (load_id);
CREATE INDEX etl_load_before_row ON etl_load_before (row_id);
CREATE TABLE etl_load_rejects (
    load_id BIGINT NOT NULL,
    record  BIGINT NOT NULL
);
CREATE INDEX etl_load_rejects_load ON etl_load_rejects (load_id, record);
