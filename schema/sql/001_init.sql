-- 001_init: placeholder until the collector store lands.
CREATE TABLE IF NOT EXISTS placeholder (id INTEGER PRIMARY KEY);
