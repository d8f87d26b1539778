-- siprems-etl's load history: one row per load of a file, identified by a
-- SHA-256 fingerprint of the file's bytes (not its name).  Each committed
-- batch moves records_done in the same transaction as its rows, so a load
-- interrupted at any point resumes exactly after its last committed batch.
CREATE TABLE etl_loads (
    load_id       BIGSERIAL PRIMARY KEY,
    fingerprint   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    file_bytes    BIGINT,
    status        TEXT NOT NULL,
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_loaded   BIGINT NOT NULL DEFAULT 0,
    rows_updated  BIGINT NOT NULL DEFAULT 0,
    rows_skipped  BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    records_done  BIGINT NOT NULL DEFAULT 0,
    reject_file   TEXT,
    reject_bytes  BIGINT NOT NULL DEFAULT 0,
    on_conflict   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 1,
    message       TEXT,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    finished_at   TIMESTAMPTZ,
    etl_version   TEXT NOT NULL
);
CREATE INDEX etl_loads_fingerprint ON etl_loads (fingerprint, kind);
CREATE INDEX etl_loads_started_at ON etl_loads (started_at);
