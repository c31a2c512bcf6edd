// FTS5 extension code the Swift side cannot write: an auxiliary ranking function (FTS5 calls it
// with its own C API structs) and direct use of FTS5's tokenizers (GRDB's wrapper builds a
// Foundation Data and String per token, too slow to run over every indexed document).
#include "cfts5.h"
#include <sqlite3.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static fts5_api *projector_fts5_api(sqlite3 *db) {
    fts5_api *api = NULL;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(statement);
    sqlite3_finalize(statement);
    return api;
}

double projector_idf(long long rows, double df) {
    double idf = log((0.5 + (double)rows - df) / (0.5 + df));
    return idf <= 0.0 ? 1e-6 : idf;
}

// bm25 of the current row: per phrase, its column-weighted frequency in the row, scaled by the
// row's length, times idf(df[phrase]); with df NULL every idf is 1 (see projector_weight).
static int projector_score(
    const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_value **weights, int weightCount, sqlite3_value **df,
    int dfCount, double *score) {
    const double k1 = 1.2;
    const double b = 0.75;
    int columns = api->xColumnCount(fts);
    int phrases = api->xPhraseCount(fts);
    sqlite3_int64 rows = 0;
    sqlite3_int64 tokens = 0;
    int rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
    double local[16];
    double *frequency = phrases <= 16 ? local : calloc((size_t)phrases, sizeof(double));
    if (frequency == NULL) return SQLITE_NOMEM;
    memset(frequency, 0, sizeof(double) * (size_t)phrases);
    int instances = 0;
    if (rc == SQLITE_OK) rc = api->xInstCount(fts, &instances);
    for (int i = 0; rc == SQLITE_OK && i < instances; i++) {
        int phrase, column, offset;
        rc = api->xInst(fts, i, &phrase, &column, &offset);
        if (rc == SQLITE_OK && phrase >= 0 && phrase < phrases) {
            frequency[phrase] += (column < columns && column < weightCount) ? sqlite3_value_double(weights[column]) : 1.0;
        }
    }
    int length = 0;
    if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
    double average = rows > 0 && tokens > 0 ? (double)tokens / (double)rows : 1.0;
    *score = 0.0;
    for (int i = 0; rc == SQLITE_OK && i < phrases; i++) {
        double idf = df == NULL ? 1.0 : projector_idf(rows, i < dfCount ? sqlite3_value_double(df[i]) : 0.0);
        *score += idf * ((frequency[i] * (k1 + 1.0)) / (frequency[i] + k1 * (1.0 - b + b * (double)length / average)));
    }
    if (frequency != local) free(frequency);
    return rc;
}

static void projector_bm25(
    const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *context, int count, sqlite3_value **values) {
    int columns = api->xColumnCount(fts);
    int weights = count < columns ? count : columns;
    double score = 0.0;
    int rc = projector_score(api, fts, values, weights, values + weights, count - weights, &score);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(context, rc);
        return;
    }
    sqlite3_result_double(context, -score);
}

// projector_weight(fts, budget, w0 .. wN-1): counts its calls in the query's auxiliary data.
static void projector_weight(
    const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *context, int count, sqlite3_value **values) {
    if (count < 1) {
        sqlite3_result_error(context, "projector_weight needs a budget", -1);
        return;
    }
    sqlite3_int64 *calls = api->xGetAuxdata(fts, 0);
    if (calls == NULL) {
        calls = sqlite3_malloc64(sizeof(sqlite3_int64));
        if (calls == NULL || api->xSetAuxdata(fts, calls, sqlite3_free) != SQLITE_OK) {
            sqlite3_result_error_nomem(context);
            return;
        }
        *calls = 0;
    }
    if (++*calls > sqlite3_value_int64(values[0])) {
        sqlite3_result_null(context);
        return;
    }
    double score = 0.0;
    int rc = projector_score(api, fts, values + 1, count - 1, NULL, 0, &score);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(context, rc);
        return;
    }
    sqlite3_result_double(context, score);
}

// projector_frequency(fts, w0 .. wN-1): the current row's column-weighted count of phrase 0
// (what bm25 calls its frequency).
static void projector_frequency(
    const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *context, int count, sqlite3_value **values) {
    int columns = api->xColumnCount(fts);
    int instances = 0;
    int rc = api->xInstCount(fts, &instances);
    double frequency = 0.0;
    for (int i = 0; rc == SQLITE_OK && i < instances; i++) {
        int phrase, column, offset;
        rc = api->xInst(fts, i, &phrase, &column, &offset);
        if (rc == SQLITE_OK && phrase == 0) {
            frequency += (column < columns && column < count) ? sqlite3_value_double(values[column]) : 1.0;
        }
    }
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(context, rc);
        return;
    }
    sqlite3_result_double(context, frequency);
}

static void projector_rows(
    const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *context, int count, sqlite3_value **values) {
    (void)count;
    (void)values;
    sqlite3_int64 rows = 0;
    int rc = api->xRowCount(fts, &rows);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(context, rc);
        return;
    }
    sqlite3_result_int64(context, rows);
}

// projector_in(rowid, window): whether rowid is in window, a blob of ascending native int64s.
static void projector_in(sqlite3_context *context, int count, sqlite3_value **values) {
    (void)count;
    sqlite3_int64 rowid = sqlite3_value_int64(values[0]);
    const sqlite3_int64 *window = sqlite3_value_blob(values[1]);
    int size = sqlite3_value_bytes(values[1]) / (int)sizeof(sqlite3_int64);
    int low = 0;
    int high = size;
    while (low < high) {
        int middle = low + (high - low) / 2;
        if (window[middle] < rowid) low = middle + 1; else high = middle;
    }
    sqlite3_result_int(context, window != NULL && low < size && window[low] == rowid);
}

int projector_fts5_register(sqlite3 *db) {
    fts5_api *api = projector_fts5_api(db);
    if (api == NULL) return SQLITE_ERROR;
    int rc = api->xCreateFunction(api, "projector_bm25", NULL, projector_bm25, NULL);
    if (rc == SQLITE_OK) rc = api->xCreateFunction(api, "projector_weight", NULL, projector_weight, NULL);
    if (rc == SQLITE_OK) rc = api->xCreateFunction(api, "projector_rows", NULL, projector_rows, NULL);
    if (rc == SQLITE_OK) rc = api->xCreateFunction(api, "projector_frequency", NULL, projector_frequency, NULL);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_create_function_v2(
        db, "projector_in", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, projector_in, NULL, NULL, NULL);
}

struct projector_tokenizer {
    fts5_tokenizer methods;
    Fts5Tokenizer *instance;
};

projector_tokenizer *projector_tokenizer_open(sqlite3 *db, const char *name, const char **arguments, int count) {
    fts5_api *api = projector_fts5_api(db);
    if (api == NULL) return NULL;
    void *user = NULL;
    projector_tokenizer *tokenizer = calloc(1, sizeof(projector_tokenizer));
    if (tokenizer == NULL) return NULL;
    if (api->xFindTokenizer(api, name, &user, &tokenizer->methods) != SQLITE_OK
        || tokenizer->methods.xCreate(user, arguments, count, &tokenizer->instance) != SQLITE_OK) {
        free(tokenizer);
        return NULL;
    }
    return tokenizer;
}

typedef struct {
    void *context;
    int (*token)(void *context, const char *bytes, int length, int start, int end);
} projector_token_sink;

static int projector_token(void *context, int flags, const char *bytes, int length, int start, int end) {
    (void)flags;
    projector_token_sink *sink = context;
    return sink->token(sink->context, bytes, length, start, end);
}

int projector_tokenize(
    projector_tokenizer *tokenizer, int flags, const char *text, int length, void *context,
    int (*token)(void *context, const char *bytes, int length, int start, int end)) {
    projector_token_sink sink = {context, token};
    return tokenizer->methods.xTokenize(tokenizer->instance, &sink, flags, text, length, projector_token);
}

void projector_tokenizer_close(projector_tokenizer *tokenizer) {
    if (tokenizer == NULL) return;
    tokenizer->methods.xDelete(tokenizer->instance);
    free(tokenizer);
}

typedef struct {
    void *context;
    int (*token)(void *context, const char *bytes, int length, int start, int end);
    int offset;
} projector_shifted_sink;

static int projector_shifted_token(void *context, int flags, const char *bytes, int length, int start, int end) {
    (void)flags;
    projector_shifted_sink *sink = context;
    return sink->token(sink->context, bytes, length, sink->offset + start, sink->offset + end);
}

typedef struct {
    const char *words[64];
    const int *lengths;
    const unsigned char *prefix;
    int count;
    int *first;
} projector_presence;

// Marks the words `token` (at `start` in the text) is, or for a prefix starts with.
static int projector_presence_token(void *context, const char *token, int length, int start, int end) {
    (void)end;
    projector_presence *presence = context;
    for (int i = 0; i < presence->count; i++) {
        int wanted = presence->lengths[i];
        if ((presence->prefix[i] ? length >= wanted : length == wanted) && memcmp(token, presence->words[i], wanted) == 0
            && (presence->first[i] < 0 || start < presence->first[i])) {
            presence->first[i] = start;
        }
    }
    return 0;
}

static int projector_is_alnum(unsigned char byte) {
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9');
}

// Whether a byte belongs to a run between unicode61's ASCII separators: an ASCII letter or digit,
// or any byte of another character (which the tokenizer itself must judge).
static int projector_in_run(char byte) {
    return projector_is_alnum((unsigned char)byte) || (unsigned char)byte >= 0x80;
}

typedef unsigned char projector_v16 __attribute__((vector_size(16)));

// Bit k set when byte k of the 16 compared true (each lane 0 or 0xFF).
static unsigned projector_v16_mask(projector_v16 lanes) {
    uint64_t halves[2];
    memcpy(halves, &lanes, 16);
    unsigned mask = 0;
    for (int half = 0; half < 2; half++) {
        uint64_t bits = halves[half];
        while (bits) {
            int lane = __builtin_ctzll(bits) / 8;
            mask |= 1u << (half * 8 + lane);
            bits &= ~((uint64_t)0xFF << (lane * 8));
        }
    }
    return mask;
}

// The first place where the ASCII word stands as a whole token of ASCII letters
// and digits (or starts one, for a prefix), case aside; -1 if none.
static int projector_ascii_find(const char *text, int length, const char *word, int size, int prefix) {
    if (size == 0 || size > length) return -1;
    projector_v16 fold = {0}, head = {0}, tail = {0};
    for (int lane = 0; lane < 16; lane++) {
        fold[lane] = 0x20;
        head[lane] = (unsigned char)word[0];
        tail[lane] = (unsigned char)word[size - 1];
    }
    for (int block = 0; block <= length - size; block += 16) {
        unsigned mask;
        if (block + 16 + size - 1 <= length) {
            projector_v16 a, b;
            memcpy(&a, text + block, 16);
            memcpy(&b, text + block + size - 1, 16);
            mask = projector_v16_mask((projector_v16)(((a | fold) == head) & ((b | fold) == tail)));
        } else {
            mask = 0;
            for (int lane = 0; lane < 16 && block + lane <= length - size; lane++) mask |= 1u << lane;
        }
        while (mask) {
            int at = block + __builtin_ctz(mask);
            mask &= mask - 1;
            if (at > 0 && projector_in_run(text[at - 1])) continue;
            int equal = 1;
            for (int i = 0; i < size && equal; i++) {
                unsigned char c = (unsigned char)text[at + i];
                equal = (c >= 'A' && c <= 'Z' ? c | 0x20 : c) == (unsigned char)word[i];
            }
            if (!equal) continue;
            unsigned char after = at + size < length ? (unsigned char)text[at + size] : ' ';
            // A run with other bytes in it is the real tokenizer's to read.
            if (after >= 0x80 || (!prefix && projector_is_alnum(after))) continue;
            return at;
        }
    }
    return -1;
}

void projector_words_present(
    projector_tokenizer *tokenizer, const char *text, int length, const char *words, const int *lengths,
    const unsigned char *prefix, int count, int *first) {
    if (count > 64) count = 64;
    projector_presence presence = {{0}, lengths, prefix, count, first};
    for (int i = 0, offset = 0; i < count; offset += lengths[i], i++) presence.words[i] = words + offset;
    // ASCII letters and digits are unicode61's only ASCII token characters: a word of them, with
    // other ASCII bytes or the text's ends around it, is one token, lowercased.
    int bound = 0;
    for (int i = 0; i < count; i++) {
        int ascii = 1;
        for (int k = 0; k < lengths[i]; k++) ascii &= (unsigned char)presence.words[i][k] < 0x80;
        first[i] = ascii ? projector_ascii_find(text, length, presence.words[i], lengths[i], prefix[i]) : -1;
        bound = first[i] < 0 ? length : (first[i] > bound ? first[i] : bound);
    }
    // Runs holding other bytes are tokenized for real, as far as an earlier place could matter.
    int limit = bound < length ? bound : length;
    for (int index = 0; index < limit; index++) {
        // Eight bytes at a time past plain ASCII.
        uint64_t eight;
        while (index + 8 <= limit && (memcpy(&eight, text + index, 8), (eight & 0x8080808080808080ull) == 0)) index += 8;
        if (index >= limit || (unsigned char)text[index] < 0x80) continue;
        int start = index, end = index;
        while (start > 0 && projector_in_run(text[start - 1])) start--;
        while (end < length && projector_in_run(text[end])) end++;
        projector_shifted_sink sink = {&presence, projector_presence_token, start};
        tokenizer->methods.xTokenize(tokenizer->instance, &sink, 4, text + start, end - start, projector_shifted_token);
        index = end;
    }
}

int projector_tokenize_unicode61(
    projector_tokenizer *tokenizer, const char *text, int length, void *context,
    int (*token)(void *context, const char *bytes, int length, int start, int end)) {
    char lowered[256];
    int index = 0;
    while (index < length) {
        while (index < length && !projector_in_run(text[index])) index++;
        int start = index, ascii = 1;
        while (index < length && projector_in_run(text[index])) {
            ascii &= (unsigned char)text[index] < 0x80;
            index++;
        }
        int run = index - start, code = 0;
        if (run == 0) break;
        if (ascii && run <= (int)sizeof lowered) {
            for (int i = 0; i < run; i++) {
                char c = text[start + i];
                lowered[i] = c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
            }
            code = token(context, lowered, run, start, index);
        } else {
            projector_shifted_sink sink = {context, token, start};
            code = tokenizer->methods.xTokenize(tokenizer->instance, &sink, 4, text + start, run, projector_shifted_token);
        }
        if (code != 0) return code;
    }
    return 0;
}

int projector_tokens_back(const char *text, int offset, int tokens) {
    int index = offset;
    while (index > 0 && tokens > 0) {
        // Back over separators, then over one run; only a run of ASCII letters and digits surely
        // is one token.
        while (index > 0 && !projector_in_run(text[index - 1])) index--;
        int ascii = 1;
        while (index > 0 && projector_in_run(text[index - 1])) {
            ascii &= (unsigned char)text[index - 1] < 0x80;
            index--;
        }
        if (ascii) tokens--;
    }
    return index;
}
