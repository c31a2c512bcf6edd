#ifndef RAWINDEXER_H
#define RAWINDEXER_H

/// One field of a search spec, as the hand-written loop reads it.
typedef struct {
    const char *name;
    /// `$.data.x…` (read with SQLite's json_extract), `$.stream`, `$.type` or `$.time`.
    const char *path;
    int html;
    int filter;
} raw_field;

/// What the loop indexes: a search spec's fields and delete types, and optionally a per-stream
/// report table (events and last time per stream), as a `kind: sql` spec would keep.
typedef struct {
    const raw_field *fields;
    int field_count;
    const char *const *delete_types;
    int delete_count;
    int prefix_indexes;
    int report;
    int events_per_transaction;
} raw_spec;

/// Indexes every event of the log at `log_path` into a new store at `store_path` the way a
/// hand-written indexer over libsqlite3 would: a documents table, an external-content FTS5
/// index kept in step by hand, documents merged per stream, HTML stripped in C, a checkpoint
/// row per transaction. Returns the number of events read, or -1 (with `error` set).
long long raw_index(const char *log_path, const char *store_path, const raw_spec *spec, char *error, int error_size);

#endif
