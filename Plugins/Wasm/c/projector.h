/* Projector WebAssembly plugin ABI, version 1: the C side.
 *
 * A plugin is a module exporting `memory`, `projector_abi_version` (returns 1) and
 * `projector_apply` (called once per event, returns 0 when applied). It imports only the
 * functions below, from the module "projector". It sees the event through `projector_event`,
 * writes its own tables through `projector_sql_exec`/`projector_sql_query`, feeds its search
 * index through `projector_search_upsert`/`projector_search_delete`, and logs. Nothing else:
 * no files, clock, random numbers, network or environment, so a rebuild gives the same store.
 *
 * Values (SQL arguments, result rows, search documents) are encoded as a sequence of
 * tagged values: one tag byte, then 8 little-endian bytes for an integer or a double, or a
 * 4-byte little-endian length and UTF-8 bytes for text. A query result is a 4-byte column
 * count, a 4-byte row count, then the values row by row. PJ_* helpers below build and read them.
 *
 * Build: clang --target=wasm32 -O2 -ffreestanding -fno-builtin -nostdlib -Wl,--no-entry -Wl,--export-dynamic -o p.wasm p.c
 */
#ifndef PROJECTOR_H
#define PROJECTOR_H

#include <stdint.h>

#define PROJECTOR_ABI_VERSION 1
#define PJ_IMPORT(name) __attribute__((import_module("projector"), import_name(name)))
#define PJ_EXPORT(name) __attribute__((export_name(name)))

enum { PJ_NULL = 0, PJ_INT = 1, PJ_REAL = 2, PJ_TEXT = 3 };
enum { PJ_DEBUG = 0, PJ_INFO = 1, PJ_WARNING = 2, PJ_ERROR = 3 };

/* The value at a JSON path of the current event (`$.stream`, `$.type`, `$.position`,
 * `$.data.amount`, `$.metadata.tenant`…): text unescaped, numbers and booleans as written,
 * objects as JSON. Returns its length (copying at most `cap` bytes; call again with a larger
 * buffer when it is longer), or -1 when absent or null. */
PJ_IMPORT("event") int32_t projector_event(const char *path, int32_t path_len, char *out, int32_t cap);
/* Runs one SQL statement on the plugin's tables with `args` bound to ?1, ?2…; returns the rows
 * changed, or -1 (see projector_last_error). */
PJ_IMPORT("sql_exec") int32_t projector_sql_exec(const char *sql, int32_t sql_len, const uint8_t *args, int32_t args_len);
/* Runs a query; writes the encoded result to `out` when it fits in `cap`; returns its length
 * (larger than `cap`: nothing written, call again), or -1 on error. */
PJ_IMPORT("sql_query") int32_t projector_sql_query(
    const char *sql, int32_t sql_len, const uint8_t *args, int32_t args_len, uint8_t *out, int32_t cap);
/* Adds or replaces a document of the plugin's search index: values id, then name, value pairs. */
PJ_IMPORT("search_upsert") int32_t projector_search_upsert(const uint8_t *document, int32_t len);
PJ_IMPORT("search_delete") int32_t projector_search_delete(const char *id, int32_t len);
PJ_IMPORT("log") void projector_log(int32_t level, const char *text, int32_t len);
/* Why the last call returned -1; returns its length. */
PJ_IMPORT("last_error") int32_t projector_last_error(char *out, int32_t cap);
/* The reason this event failed, reported when projector_apply returns non-zero. */
PJ_IMPORT("fail") void projector_fail(const char *text, int32_t len);

static inline int32_t pj_strlen(const char *s) { int32_t n = 0; while (s[n]) n++; return n; }

/* An encoder over a caller's buffer; `len` past `cap` means it did not fit. */
typedef struct { uint8_t *bytes; int32_t len; int32_t cap; } pj_values;

static inline void pj_put(pj_values *v, uint8_t byte) { if (v->len < v->cap) v->bytes[v->len] = byte; v->len++; }
static inline void pj_put_u64(pj_values *v, uint64_t x) { for (int i = 0; i < 8; i++) pj_put(v, (uint8_t)(x >> (8 * i))); }
static inline void pj_put_u32(pj_values *v, uint32_t x) { for (int i = 0; i < 4; i++) pj_put(v, (uint8_t)(x >> (8 * i))); }
static inline void pj_null(pj_values *v) { pj_put(v, PJ_NULL); }
static inline void pj_int(pj_values *v, int64_t x) { pj_put(v, PJ_INT); pj_put_u64(v, (uint64_t)x); }
static inline void pj_text_n(pj_values *v, const char *s, int32_t n) {
    pj_put(v, PJ_TEXT); pj_put_u32(v, (uint32_t)n); for (int32_t i = 0; i < n; i++) pj_put(v, (uint8_t)s[i]);
}
static inline void pj_text(pj_values *v, const char *s) { pj_text_n(v, s, pj_strlen(s)); }

static inline int32_t pj_exec(const char *sql, const pj_values *args) {
    return projector_sql_exec(sql, pj_strlen(sql), args ? args->bytes : 0, args ? args->len : 0);
}
static inline void pj_log(int32_t level, const char *text) { projector_log(level, text, pj_strlen(text)); }
static inline void pj_fail(const char *text) { projector_fail(text, pj_strlen(text)); }

/* An event field read into `out` (NUL-terminated); its length, or -1 when absent or too long. */
static inline int32_t pj_event(const char *path, char *out, int32_t cap) {
    int32_t n = projector_event(path, pj_strlen(path), out, cap - 1);
    if (n < 0 || n >= cap) return -1;
    out[n] = 0;
    return n;
}

/* A decimal integer (optionally negative) parsed from text; 0 in *ok when it is not one. */
static inline int64_t pj_parse_int(const char *s, int32_t n, int *ok) {
    int64_t x = 0; int32_t i = 0, neg = 0;
    if (n > 0 && s[0] == '-') { neg = 1; i = 1; }
    *ok = i < n;
    for (; i < n; i++) { if (s[i] < '0' || s[i] > '9') { *ok = 0; return 0; } x = x * 10 + (s[i] - '0'); }
    return neg ? -x : x;
}

#endif
