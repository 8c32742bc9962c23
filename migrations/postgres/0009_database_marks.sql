-- What wrote this database, when it matters to what may run on it: `demo` once the built-in
-- demo (`serve --demo`, whose accounts' password is published) has seeded it. A plain `serve`
-- refuses a database marked `demo`.
CREATE TABLE IF NOT EXISTS database_marks (
    mark   TEXT PRIMARY KEY,
    set_at TEXT NOT NULL
);
