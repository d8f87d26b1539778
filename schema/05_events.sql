-- Holidays, promotions and other events the forecasts use as regressors
-- (database guide: "events").
CREATE TABLE events (
    event_id              SERIAL PRIMARY KEY,
    event_name            VARCHAR(255) NOT NULL,
    event_date            DATE NOT NULL,
    type                  event_type NOT NULL,
    description           TEXT,
    include_in_prediction BOOLEAN DEFAULT TRUE
);
ALTER TABLE events ADD CONSTRAINT events_event_name_event_date_key
    UNIQUE (event_name, event_date);
CREATE INDEX idx_events_date ON events (event_date);
CREATE INDEX idx_events_type ON events (type);
