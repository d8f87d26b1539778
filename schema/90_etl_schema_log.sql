-- siprems-etl's own record of the schema changes it applied.
CREATE TABLE etl_schema_log (
    id          BIGSERIAL PRIMARY KEY,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    object      TEXT NOT NULL,
    statement   TEXT NOT NULL,
    etl_version TEXT NOT NULL
);
