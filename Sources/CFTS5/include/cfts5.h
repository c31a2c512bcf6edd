#ifndef CFTS5_H
#define CFTS5_H

// sqlite3.h stays out of this header: Swift sees SQLite through GRDB's module, and a second
// copy of its declarations here would make every sqlite3_* call ambiguous.
struct sqlite3;

/// Registers the FTS5 auxiliary function projector_bm25 on this connection.
///
/// projector_bm25(fts, w0 .. wN-1, df0 .. dfP-1) is FTS5's bm25 with the column weights w and,
/// per phrase of the MATCH expression, its document frequency df given by the caller. The
/// built-in bm25 computes each phrase's document frequency by walking the phrase's whole
/// doclist once per query, which costs as much as counting every hit; the search engine already
/// knows it from its document sets. A missing df counts as 0 (a rare phrase).
///
/// projector_weight(fts, budget, w0 .. wN-1) is the same score with every idf taken as 1, for the
/// first `budget` rows of its query (NULL after). With a MATCH of one phrase, that row's bm25 is
/// projector_idf(rows, df) times it: the phrase's documents are listed and weighed in one pass
/// although df is known only once the list ends (a second pass costs as much as the first, and
/// a phrase of a common and a middling word costs FTS5 a walk along the middling word's doclist).
/// projector_rows(fts) is the rows count that the idf is computed over.
///
/// Also registers projector_in(rowid, window): whether rowid is in window, a blob of ascending
/// native int64s. A filtered query's ranking pass keeps only its window's rows with it: a
/// `+rowid IN (…)` list is an SQL text to parse and an index to build per query, and a plain
/// `rowid IN (…)` makes FTS5 run the whole MATCH once per value.
int projector_fts5_register(struct sqlite3 *db);

/// bm25's inverse document frequency of a phrase in df of rows documents (never below 1e-6).
double projector_idf(long long rows, double df);

typedef struct projector_tokenizer projector_tokenizer;

/// An FTS5 tokenizer of this connection by name and arguments ("unicode61",
/// {"remove_diacritics", "2"}): the very code FTS5 indexes with. NULL when it does not exist.
projector_tokenizer *projector_tokenizer_open(struct sqlite3 *db, const char *name, const char **arguments, int count);

/// Calls token(context, bytes, length, start, end) for each token of text, with the byte range
/// of text it came from; a non-zero return stops the walk and is returned. flags:
/// FTS5_TOKENIZE_QUERY (1), FTS5_TOKENIZE_PREFIX (2), FTS5_TOKENIZE_DOCUMENT (4).
int projector_tokenize(
    projector_tokenizer *tokenizer, int flags, const char *text, int length, void *context,
    int (*token)(void *context, const char *bytes, int length, int start, int end));

void projector_tokenizer_close(projector_tokenizer *tokenizer);

#include <stdint.h>

/// Where each of `count` (at most 64) words, as the index stores them and one after another in
/// `words` (`prefix[i]`: any token starting with word i), first occurs among the tokens of text:
/// its byte offset in `first` (-1: nowhere). For unicode61 only, whose only ASCII token
/// characters are letters and digits: runs of those are searched 16 bytes at a time, and only
/// runs holding other bytes are tokenized. Many times faster than tokenizing the whole text.
void projector_words_present(
    projector_tokenizer *tokenizer, const char *text, int length, const char *words, const int *lengths,
    const unsigned char *prefix, int count, int *first);

/// projector_tokenize(tokenizer, FTS5_TOKENIZE_DOCUMENT, ...) for a unicode61 tokenizer, the same
/// tokens at the same places, several times faster: runs of ASCII letters and digits are
/// lowercased here, and only runs holding other bytes go through the tokenizer.
int projector_tokenize_unicode61(
    projector_tokenizer *tokenizer, const char *text, int length, void *context,
    int (*token)(void *context, const char *bytes, int length, int start, int end));

/// A token boundary at least `tokens` tokens before `offset` (unicode61), or 0.
int projector_tokens_back(const char *text, int offset, int tokens);

/// Interned set keys ("w:word", "p:ab", "p:abc", "f:…", "g:…", "a:") by number, and the map from
/// a document's text to its keys. One thread uses it at a time.
typedef struct projector_keys projector_keys;

projector_keys *projector_keys_new(void);
void projector_keys_free(projector_keys *keys);
/// How many keys are interned; key numbers are 0 ..< count.
int projector_keys_count(const projector_keys *keys);
/// A key's name (its bytes stay valid until the next key is interned).
const char *projector_keys_name(const projector_keys *keys, int key, int *length);
/// The number of a key by name, interned at first use; -1 when out of memory.
int projector_keys_intern(projector_keys *keys, const char *name, int length);

/// Starts mapping a new document.
void projector_keys_begin(projector_keys *keys);
/// Adds one text field: each token touches its word key and its 2- and 3-letter prefix keys
/// (with `weight` per occurrence); adjacent tokens make a pair as ``projector_pairs_counted`` says.
int projector_keys_add_text(projector_keys *keys, projector_tokenizer *tokenizer, const char *text, int length, float weight);
/// Touches a key by number (a filter value, the set of all documents), with no weight.
void projector_keys_touch(projector_keys *keys, int key);
/// The document's distinct keys in the order first touched, and the weight each was touched with.
int projector_keys_document(projector_keys *keys, const int32_t **touched, const float **weights);
/// The document's distinct adjacent pairs (``projector_pairs_counted``), and each one's weight.
int projector_keys_pairs(projector_keys *keys, const int32_t **firsts, const int32_t **seconds, const float **weights);
/// The document's tokens, over all its text fields.
int projector_keys_length(const projector_keys *keys);
/// A word's classes for pairs (bits): in 1 of 64 documents; in a pair that has a set; in
/// very many documents; in enough documents to pair with a very common word.
enum { PROJECTOR_FREQUENT = 1, PROJECTOR_PAIRED = 2, PROJECTOR_COMMON = 4, PROJECTOR_PAIRABLE = 8 };
/// Whether the pairs of two adjacent words are reported: both frequent, both paired, or one
/// common and the other pairable.
static inline int projector_pairs_counted(uint8_t first, uint8_t second) {
    return (first & second & (PROJECTOR_FREQUENT | PROJECTOR_PAIRED)) != 0
        || (((first | second) & PROJECTOR_COMMON) != 0 && (first & second & PROJECTOR_PAIRABLE) != 0);
}
/// Adds classes to a word's key: its adjacent pairs are reported by them from the next document on.
void projector_keys_add_pairing(projector_keys *keys, int key, int classes);
/// A key's classes for pairs (0 for a key out of range).
uint8_t projector_keys_pairing(const projector_keys *keys, int key);
/// Marks (or unmarks) a word as part of a pair that has a set: pairs of two such words are
/// reported whatever their frequency, so a pair's set stays exact.
void projector_keys_set_paired(projector_keys *keys, int key, int paired);

/// A document's column-weighted frequency of a term (bm25's) as a byte: 0 for none, exact
/// multiples of `unit` (the weights' common divisor) up to 100, then steps of 4%.
int projector_impact_code(double frequency, double unit);
double projector_impact_value(int code, double unit);
/// A document's token count as stored: exact up to 65,535.
int projector_length_code(long long length);

/// bm25's term factor f(k1+1)/(f + k1(1-b+b·len/average)), read per impact code: `scaled`
/// holds f(k1+1), `frequency` f (256 floats each).
void projector_bm25_factors(float *scaled, float *frequency, double unit);

typedef struct {
    double score;
    long long rowid;
} projector_hit;

/// The best `capacity` hits seen (higher score first, then the newer rowid).
typedef struct {
    projector_hit *hits;
    int count;
    int capacity;
} projector_top;

/// Scores the candidates of one chunk of 16,384 rowids from `base`: per term, its membership
/// bits in the chunk (NULL: none there), its members' impact codes in rowid order and its idf;
/// per rowid, its length (NULL: all unknown, as 0). Each candidate is offered to `top`.
void projector_score_chunk(
    long long base, const uint64_t *candidates, int term_count, const uint64_t *const *term_bits,
    const uint8_t *const *term_impacts, const double *idf, const float *scaled, const float *frequency,
    double average, const uint16_t *lengths, projector_top *top);

/// Sorts the kept hits, best first.
void projector_top_sort(projector_top *top);

#endif
