-- The type of an event in the events table (database guide: "events").
CREATE TYPE event_type AS ENUM ('holiday', 'promotion', 'seasonal', 'custom');
