/* Projector WebAssembly plugin ABI, version 1: the C side.
 *
 * A plugin is a module exporting `memory`, `projector_abi_version` (returns 1) and
 * `projector_apply` (called once per event, returns 0 when applied) or, faster,
 * `projector_apply_batch` (called once per transaction, taking each event with
 * `projector_next`: PJ_APPLY_EACH below writes it). It imports only the functions below,
 * from the module "projector". It sees the event through `projector_event(_values)`,
 * writes its own tables through `projector_sql_exec`/`projector_sql_query`, feeds its search
 * index through `projector_search_upsert`/`projector_search_delete`, and logs. Nothing else:
 * no files, clock, random numbers, network or environment, so a rebuild gives the same store.
 *
 * Values (SQL arguments, result rows, search documents) are encoded as a sequence of
 * tagged values: one tag byte, then 8 little-endian bytes for an integer or a double, or a
 * 4-byte little-endian length and UTF-8 bytes for text. A query result is a 4-byte column
 * count, a 4-byte row count, then the values row by row. PJ_* helpers below build and read them.
 *
 * Build: clang --target=wasm32 -O2 -mbulk-memory -ffreestanding -fno-builtin -nostdlib -Wl,--no-entry -Wl,--export-dynamic -o p.wasm p.c
 */
#ifndef PROJECTOR_H
#define PROJECTOR_H

#include <stdint.h>

#define PROJECTOR_ABI_VERSION 1
#define PJ_IMPORT(name) __attribute__((import_module("projector"), import_name(name)))
#define PJ_EXPORT(name) __attribute__((export_name(name)))

enum { PJ_NULL = 0, PJ_INT = 1, PJ_REAL = 2, PJ_TEXT = 3 };
enum { PJ_DEBUG = 0, PJ_INFO = 1, PJ_WARNING = 2, PJ_ERROR = 3 };

/* Makes the transaction's next event the current one, with a fresh fuel budget: 1, or 0 when
 * every event was taken (for projector_apply_batch, which must take them all). */
PJ_IMPORT("next") int32_t projector_next(void);
/* The value at a JSON path of the current event (`$.stream`, `$.type`, `$.position`,
 * `$.data.amount`, `$.metadata.tenant`…): text unescaped, numbers and booleans as written,
 * objects as JSON. Returns its length (copying at most `cap` bytes; call again with a larger
 * buffer when it is longer), or -1 when absent or null. A length of -1 means up to the NUL. */
PJ_IMPORT("event") int32_t projector_event(const char *path, int32_t path_len, char *out, int32_t cap);
/* Several values of the current event in one call: `paths` separated by NUL bytes, the values
 * written to `out` encoded, one per path (text as `event` gives it, or null). Returns the
 * encoded length (longer than `cap`: nothing written, call again). */
PJ_IMPORT("event_values") int32_t projector_event_values(const char *paths, int32_t paths_len, uint8_t *out, int32_t cap);
/* Runs one SQL statement on the plugin's tables with `args` bound to ?1, ?2…; returns the rows
 * changed, or -1 (see projector_last_error). A `sql_len` of -1 means up to the NUL. */
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

/* Copies bytes: one memory.copy when built with -mbulk-memory, else a loop. */
#if defined(__wasm_bulk_memory__)
#define pj_copy(to, from, n) __builtin_memcpy((to), (from), (n))
#else
static inline void pj_copy(void *to, const void *from, int32_t n) {
    for (int32_t i = 0; i < n; i++) ((uint8_t *)to)[i] = ((const uint8_t *)from)[i];
}
#endif

static inline void pj_put_bytes(pj_values *v, const void *bytes, int32_t n) {
    if (n <= v->cap - v->len) pj_copy(v->bytes + v->len, bytes, n);
    v->len += n;
}
static inline void pj_put(pj_values *v, uint8_t byte) { if (v->len < v->cap) v->bytes[v->len] = byte; v->len++; }
/* WebAssembly is little-endian: a number's bytes are its encoding. */
static inline void pj_put_u64(pj_values *v, uint64_t x) { pj_put_bytes(v, &x, 8); }
static inline void pj_put_u32(pj_values *v, uint32_t x) { pj_put_bytes(v, &x, 4); }
static inline void pj_null(pj_values *v) { pj_put(v, PJ_NULL); }
static inline void pj_int(pj_values *v, int64_t x) { pj_put(v, PJ_INT); pj_put_u64(v, (uint64_t)x); }
static inline void pj_text_n(pj_values *v, const char *s, int32_t n) { pj_put(v, PJ_TEXT); pj_put_u32(v, (uint32_t)n); pj_put_bytes(v, s, n); }
static inline void pj_text(pj_values *v, const char *s) { pj_text_n(v, s, pj_strlen(s)); }

static inline int32_t pj_exec(const char *sql, const pj_values *args) {
    return projector_sql_exec(sql, -1, args ? args->bytes : 0, args ? args->len : 0);
}
static inline void pj_log(int32_t level, const char *text) { projector_log(level, text, pj_strlen(text)); }
static inline void pj_fail(const char *text) { projector_fail(text, pj_strlen(text)); }

/* An event field read into `out` (NUL-terminated); its length, or -1 when absent or too long. */
static inline int32_t pj_event(const char *path, char *out, int32_t cap) {
    int32_t n = projector_event(path, -1, out, cap - 1);
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

/* Defines projector_apply_batch over `fn`, a function applying the current event (returning 0
 * when applied): one call into the plugin per transaction instead of one per event. */
#define PJ_APPLY_EACH(fn)                                                                     \
    PJ_EXPORT("projector_apply_batch") int32_t pj_apply_batch_(void) {                       \
        while (projector_next() > 0) {                                                        \
            int32_t code = fn();                                                              \
            if (code != 0) return code;                                                       \
        }                                                                                     \
        return 0;                                                                             \
    }

/* A decoder over encoded values (event_values' or a query's); `at` past `len` means done. */
typedef struct { const uint8_t *bytes; int32_t len; int32_t at; } pj_reader;
/* One decoded value: its tag, and the integer, the double or the text (not NUL-terminated,
 * pointing into the reader's buffer) it carries. */
typedef struct { int32_t tag; int64_t integer; double real; const char *text; int32_t len; } pj_value;


/* Reads the next value; 0 at the end of the values or when they are malformed. */
static inline int pj_read(pj_reader *r, pj_value *v) {
    if (r->at >= r->len) return 0;
    v->tag = r->bytes[r->at++];
    v->text = 0; v->len = 0;
    if (v->tag == PJ_NULL) return 1;
    if (v->tag == PJ_INT || v->tag == PJ_REAL) {
        if (r->len - r->at < 8) return 0;
        union { uint64_t bits; double real; } x;
        __builtin_memcpy(&x, r->bytes + r->at, 8);
        r->at += 8;
        v->integer = (int64_t)x.bits;
        v->real = x.real;
        return 1;
    }
    if (v->tag != PJ_TEXT || r->len - r->at < 4) return 0;
    __builtin_memcpy(&v->len, r->bytes + r->at, 4);
    r->at += 4;
    if (v->len < 0 || v->len > r->len - r->at) return 0;
    v->text = (const char *)r->bytes + r->at;
    r->at += v->len;
    return 1;
}

/* Reads the values at `paths` (a literal like "$.type\0$.stream", its size given by sizeof)
 * into `out` and readies `r` over them; -1 when they do not fit in `cap`. */
static inline int32_t pj_event_values(const char *paths, int32_t paths_size, uint8_t *out, int32_t cap, pj_reader *r) {
    int32_t n = projector_event_values(paths, paths_size, out, cap);
    if (n < 0 || n > cap) return -1;
    r->bytes = out; r->len = n; r->at = 0;
    return n;
}

#endif
