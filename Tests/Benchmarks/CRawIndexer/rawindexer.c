// The baseline a search projection is measured against: what a careful hand-written indexer
// over libsqlite3 does for the same spec, with nothing of the host (no Swift, no document sets,
// no preparing thread). Real text makes it honest: JSON is read with SQLite's own functions and
// HTML is stripped by a small state machine, both cheaper than the host's libxml2 walk.
#define _GNU_SOURCE
#include "rawindexer.h"
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *bytes;
    size_t length;
    size_t capacity;
} buffer;

static void put(buffer *b, char c) {
    if (b->length + 2 > b->capacity) {
        b->capacity = b->capacity ? b->capacity * 2 : 4096;
        b->bytes = realloc(b->bytes, b->capacity);
    }
    b->bytes[b->length++] = c;
    b->bytes[b->length] = 0;
}

static int starts_with_tag(const char *p, const char *name) {
    size_t n = strlen(name);
    return strncasecmp(p, name, n) == 0 && (p[n] == '>' || p[n] == ' ' || p[n] == '/' || p[n] == '\t' || p[n] == '\n');
}

/// Text of an HTML page: tags dropped, script/style/head skipped, a few entities decoded,
/// whitespace folded, a line break at block tags.
static void strip_html(const char *html, buffer *out) {
    static const char *skipped[] = {"script", "style", "head", "noscript", "template", "svg", "title", NULL};
    static const char *blocks[] = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                                   "pre", "section", "table", "ul", "ol", "dd", "dt", "blockquote", NULL};
    out->length = 0;
    if (out->bytes) out->bytes[0] = 0;
    int space = 0;
    const char *p = html;
    while (*p) {
        if (*p == '<') {
            const char *name = p + 1;
            int closing = *name == '/';
            if (closing) name++;
            if (strncmp(p, "<!--", 4) == 0) {
                const char *end = strstr(p + 4, "-->");
                p = end ? end + 3 : p + strlen(p);
                continue;
            }
            if (!closing) {
                for (const char **s = skipped; *s; s++) {
                    if (starts_with_tag(name, *s)) {
                        char close[32];
                        snprintf(close, sizeof close, "</%s", *s);
                        const char *end = strcasestr(p, close);
                        p = end ? end : p + strlen(p);
                        goto next;
                    }
                }
            }
            for (const char **s = blocks; *s; s++) {
                if (starts_with_tag(name, *s)) {
                    if (out->length && out->bytes[out->length - 1] != '\n') put(out, '\n');
                    space = 0;
                    break;
                }
            }
            const char *end = strchr(p, '>');
            p = end ? end + 1 : p + strlen(p);
            continue;
        }
        char c = *p;
        if (c == '&') {
            if (strncmp(p, "&amp;", 5) == 0) { c = '&'; p += 4; }
            else if (strncmp(p, "&lt;", 4) == 0) { c = '<'; p += 3; }
            else if (strncmp(p, "&gt;", 4) == 0) { c = '>'; p += 3; }
            else if (strncmp(p, "&quot;", 6) == 0) { c = '"'; p += 5; }
            else if (strncmp(p, "&nbsp;", 6) == 0) { c = ' '; p += 5; }
        }
        if (isspace((unsigned char)c)) {
            space = 1;
        } else {
            if (space && out->length && out->bytes[out->length - 1] != '\n') put(out, ' ');
            space = 0;
            put(out, c);
        }
        p++;
    next:;
    }
}

static int fail(sqlite3 *db, char *error, int size) {
    snprintf(error, (size_t)size, "%s", db ? sqlite3_errmsg(db) : "cannot open");
    return -1;
}

static int exec(sqlite3 *db, const char *sql, char *error, int size) {
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, error, size);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = NULL;
    sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL);
    return statement;
}

static void append(char *sql, size_t size, const char *text) { strncat(sql, text, size - strlen(sql) - 1); }

long long raw_index(const char *log_path, const char *store_path, const raw_spec *spec, char *error, int error_size) {
    sqlite3 *log = NULL, *db = NULL;
    if (sqlite3_open_v2(log_path, &log, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return fail(log, error, error_size);
    if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        return fail(db, error, error_size);
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192; PRAGMA mmap_size=4294967296",
             error, error_size))
        return -1;

    // The schema: what the host's search projection makes for the same spec.
    char sql[8192] = "CREATE TABLE documents(rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL";
    char text_columns[2048] = "", text_values[1024] = "";
    int n = spec->field_count, text_count = 0, first_text = -1;
    for (int i = 0; i < n; i++) {
        append(sql, sizeof sql, ", \"");
        append(sql, sizeof sql, spec->fields[i].name);
        append(sql, sizeof sql, "\" TEXT");
        if (!spec->fields[i].filter) {
            if (text_count++) { append(text_columns, sizeof text_columns, ", "); append(text_values, sizeof text_values, ", "); }
            append(text_columns, sizeof text_columns, "\"");
            append(text_columns, sizeof text_columns, spec->fields[i].name);
            append(text_columns, sizeof text_columns, "\"");
            append(text_values, sizeof text_values, "?");
            if (first_text < 0) first_text = i;
        }
    }
    append(sql, sizeof sql, ");");
    for (int i = 0; i < n; i++) {
        if (!spec->fields[i].filter) continue;
        char line[256];
        snprintf(line, sizeof line, "CREATE INDEX \"documents_by_%s\" ON documents(\"%s\");", spec->fields[i].name, spec->fields[i].name);
        append(sql, sizeof sql, line);
    }
    char line[4096];
    snprintf(line, sizeof line,
             "CREATE INDEX documents_name ON documents(\"%s\" COLLATE NOCASE);"
             "CREATE VIRTUAL TABLE documents_fts USING fts5(%s, content='documents', content_rowid='rowid', "
             "tokenize='unicode61 remove_diacritics 2'%s);"
             "CREATE VIRTUAL TABLE documents_vocab USING fts5vocab(documents_fts, row);"
             "CREATE TABLE checkpoint(name TEXT PRIMARY KEY, position INTEGER NOT NULL);"
             "INSERT INTO checkpoint VALUES ('raw', 0);",
             spec->fields[first_text].name, text_columns, spec->prefix_indexes ? ", prefix='2 3'" : "");
    append(sql, sizeof sql, line);
    if (spec->report) append(sql, sizeof sql, "CREATE TABLE report(stream TEXT PRIMARY KEY, events INTEGER NOT NULL, last_time TEXT);");
    if (exec(db, sql, error, error_size)) return -1;

    // Statements.
    char extract[4096] = "SELECT ";
    for (int i = 0; i < n; i++) {
        const char *path = spec->fields[i].path;
        char part[256];
        if (strncmp(path, "$.data.", 7) == 0) snprintf(part, sizeof part, "%sjson_extract(?1, '$.%s')", i ? ", " : "", path + 7);
        else snprintf(part, sizeof part, "%sNULL", i ? ", " : "");
        append(extract, sizeof extract, part);
    }
    char columns[2048] = "", marks[512] = "", sets[2048] = "";
    for (int i = 0; i < n; i++) {
        char part[256];
        snprintf(part, sizeof part, "%s\"%s\"", i ? ", " : "", spec->fields[i].name);
        append(columns, sizeof columns, part);
        append(marks, sizeof marks, ", ?");
        snprintf(part, sizeof part, ", \"%s\" = ?", spec->fields[i].name);
        append(sets, sizeof sets, part);
    }
    char text[8192];
    sqlite3_stmt *read = prepare(log, "SELECT position, stream, type, data, time FROM events WHERE position > ? ORDER BY position LIMIT 1000");
    sqlite3_stmt *values = prepare(db, extract);
    snprintf(text, sizeof text, "SELECT rowid, %s FROM documents WHERE doc_id = ?", columns);
    sqlite3_stmt *find = prepare(db, text);
    snprintf(text, sizeof text, "INSERT INTO documents(doc_id, position, %s) VALUES (?, ?%s)", columns, marks);
    sqlite3_stmt *insert = prepare(db, text);
    snprintf(text, sizeof text, "UPDATE documents SET position = ?%s WHERE rowid = ?", sets);
    sqlite3_stmt *update = prepare(db, text);
    sqlite3_stmt *remove = prepare(db, "DELETE FROM documents WHERE rowid = ?");
    snprintf(text, sizeof text, "INSERT INTO documents_fts(rowid, %s) VALUES (?, %s)", text_columns, text_values);
    sqlite3_stmt *index = prepare(db, text);
    snprintf(text, sizeof text, "INSERT INTO documents_fts(documents_fts, rowid, %s) VALUES ('delete', ?, %s)", text_columns, text_values);
    sqlite3_stmt *unindex = prepare(db, text);
    sqlite3_stmt *checkpoint = prepare(db, "UPDATE checkpoint SET position = ? WHERE name = 'raw'");
    sqlite3_stmt *report = spec->report
        ? prepare(db, "INSERT INTO report VALUES (?1, 1, ?2) ON CONFLICT(stream) DO UPDATE SET events = events + 1, last_time = ?2")
        : NULL;
    if (!read || !values || !find || !insert || !update || !remove || !index || !unindex || !checkpoint || (spec->report && !report))
        return fail(db, error, error_size);

    char **old = calloc((size_t)n, sizeof(char *));
    char **merged = calloc((size_t)n, sizeof(char *));
    buffer html = {0};
    long long position = 0, count = 0, in_transaction = 0;
    exec(db, "BEGIN", error, error_size);
    for (;;) {
        sqlite3_bind_int64(read, 1, position);
        int rows = 0;
        while (sqlite3_step(read) == SQLITE_ROW) {
            rows++;
            position = sqlite3_column_int64(read, 0);
            const char *stream = (const char *)sqlite3_column_text(read, 1);
            const char *type = (const char *)sqlite3_column_text(read, 2);
            const char *time = (const char *)sqlite3_column_text(read, 4);
            int deleting = 0;
            for (int i = 0; i < spec->delete_count; i++) deleting |= strcmp(type, spec->delete_types[i]) == 0;
            // The stored document, if any.
            sqlite3_bind_text(find, 1, stream, -1, SQLITE_STATIC);
            long long rowid = 0;
            if (sqlite3_step(find) == SQLITE_ROW) {
                rowid = sqlite3_column_int64(find, 0);
                for (int i = 0; i < n; i++) {
                    const unsigned char *value = sqlite3_column_text(find, i + 1);
                    old[i] = value ? strdup((const char *)value) : NULL;
                }
            }
            sqlite3_reset(find);
            if (deleting) {
                if (rowid) {
                    sqlite3_bind_int64(unindex, 1, rowid);
                    for (int i = 0, t = 2; i < n; i++) if (!spec->fields[i].filter) sqlite3_bind_text(unindex, t++, old[i], -1, SQLITE_STATIC);
                    sqlite3_step(unindex); sqlite3_reset(unindex);
                    sqlite3_bind_int64(remove, 1, rowid);
                    sqlite3_step(remove); sqlite3_reset(remove);
                }
            } else {
                sqlite3_bind_text(values, 1, (const char *)sqlite3_column_text(read, 3), -1, SQLITE_STATIC);
                sqlite3_step(values);
                int changed = 0;
                for (int i = 0; i < n; i++) {
                    const char *path = spec->fields[i].path;
                    const unsigned char *value =
                        strcmp(path, "$.time") == 0 ? (const unsigned char *)time
                        : strcmp(path, "$.stream") == 0 ? (const unsigned char *)stream
                        : strcmp(path, "$.type") == 0 ? (const unsigned char *)type
                        : sqlite3_column_text(values, i);
                    if (value && spec->fields[i].html) {
                        strip_html((const char *)value, &html);
                        value = (const unsigned char *)(html.bytes ? html.bytes : "");
                    }
                    merged[i] = value ? strdup((const char *)value) : (rowid && old[i] ? strdup(old[i]) : NULL);
                    if (!spec->fields[i].filter && rowid) {
                        int same = (merged[i] == NULL && old[i] == NULL) || (merged[i] && old[i] && strcmp(merged[i], old[i]) == 0);
                        changed |= !same;
                    }
                }
                sqlite3_reset(values);
                if (rowid && !changed) {
                    sqlite3_bind_int64(update, 1, position);
                    for (int i = 0; i < n; i++) sqlite3_bind_text(update, i + 2, merged[i], -1, SQLITE_STATIC);
                    sqlite3_bind_int64(update, n + 2, rowid);
                    sqlite3_step(update); sqlite3_reset(update);
                } else {
                    if (rowid) {
                        // A changed document moves to a new rowid, as the host does.
                        sqlite3_bind_int64(unindex, 1, rowid);
                        for (int i = 0, t = 2; i < n; i++) if (!spec->fields[i].filter) sqlite3_bind_text(unindex, t++, old[i], -1, SQLITE_STATIC);
                        sqlite3_step(unindex); sqlite3_reset(unindex);
                        sqlite3_bind_int64(remove, 1, rowid);
                        sqlite3_step(remove); sqlite3_reset(remove);
                    }
                    sqlite3_bind_text(insert, 1, stream, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(insert, 2, position);
                    for (int i = 0; i < n; i++) sqlite3_bind_text(insert, i + 3, merged[i], -1, SQLITE_STATIC);
                    if (sqlite3_step(insert) != SQLITE_DONE) return fail(db, error, error_size);
                    sqlite3_reset(insert);
                    sqlite3_bind_int64(index, 1, sqlite3_last_insert_rowid(db));
                    for (int i = 0, t = 2; i < n; i++) if (!spec->fields[i].filter) sqlite3_bind_text(index, t++, merged[i], -1, SQLITE_STATIC);
                    if (sqlite3_step(index) != SQLITE_DONE) return fail(db, error, error_size);
                    sqlite3_reset(index);
                }
                for (int i = 0; i < n; i++) { free(merged[i]); merged[i] = NULL; }
            }
            for (int i = 0; i < n; i++) { free(old[i]); old[i] = NULL; }
            if (report) {
                sqlite3_bind_text(report, 1, stream, -1, SQLITE_STATIC);
                sqlite3_bind_text(report, 2, time, -1, SQLITE_STATIC);
                sqlite3_step(report); sqlite3_reset(report);
            }
            count++;
            if (++in_transaction >= spec->events_per_transaction) {
                sqlite3_bind_int64(checkpoint, 1, position);
                sqlite3_step(checkpoint); sqlite3_reset(checkpoint);
                if (exec(db, "COMMIT; BEGIN", error, error_size)) return -1;
                in_transaction = 0;
            }
        }
        sqlite3_reset(read);
        if (rows == 0) break;
    }
    sqlite3_bind_int64(checkpoint, 1, position);
    sqlite3_step(checkpoint); sqlite3_reset(checkpoint);
    if (exec(db, "COMMIT", error, error_size)) return -1;
    sqlite3_stmt *all[] = {read, values, find, insert, update, remove, index, unindex, checkpoint, report};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) if (all[i]) sqlite3_finalize(all[i]);
    free(old);
    free(merged);
    free(html.bytes);
    sqlite3_close(db);
    sqlite3_close(log);
    return count;
}
