-- siprems-etl's load history: one row per load of a file, identified by a
-- SHA-256 fingerprint of its decoded records (fingerprint) and its kind, not
-- by its name; file_sha256 is the SHA-256 of the file's bytes (NULL in rows
-- written before 0.2, whose fingerprint was that).  Each committed batch
-- moves records_done in the same transaction as its rows, so a load
-- interrupted at any point resumes exactly after its last committed batch.
-- holder ("host pid start") and lease_until say who runs a load and until
-- when it counts as alive without a word from it; options are the options
-- that decide rows' outcomes; retry_of is the load whose rejected rows this
-- one took again; undoable says whether the ids of its rows were recorded;
-- file_records is the number of data records in the file; prefix_sha256 is
-- the content fingerprint of its first records_done records alone (as a file
-- cut after them would have), so that a file that grew since is known to
-- extend what was committed; head_sha256, when the file's last record had no
-- line end (an export cut mid-line), is the content fingerprint of every
-- record but that one, so that the finished export is known to begin with
-- them; rejects_loaded_by is the load of its corrected reject file that
-- loaded every row it had rejected.
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
    etl_version   TEXT NOT NULL,
    file_sha256   TEXT,
    options       TEXT,
    retry_of      BIGINT,
    holder        TEXT,
    lease_until   TIMESTAMPTZ,
    undoable      BOOLEAN NOT NULL DEFAULT FALSE,
    update_columns TEXT,
    file_records  BIGINT,
    prefix_sha256 TEXT,
    rejects_loaded_by BIGINT,
    head_sha256   TEXT
);
CREATE INDEX etl_loads_fingerprint ON etl_loads (fingerprint, kind);
CREATE INDEX etl_loads_started_at ON etl_loads (started_at);
