// Maps a document's text to the numbers of its set keys (each token's word and its 2- and 3-
// letter prefixes), with how much each weighs, in one pass of the index's own tokenizer. This is
// the search projection's hottest loop on real text: tokens are looked up by their bytes in an
// open-addressing table, so no token ever becomes a Swift string.
#include "cfts5.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t offset;  // of the name in the arena
    uint32_t length;
} key_name;

typedef struct {
    int32_t word, two, three;
} token_keys;

typedef struct {
    uint32_t hash;  // the low half of the name's hash: enough to place it and to rule most others out
    int32_t index;  // key number (names table) or token number (tokens table), -1 when empty
} slot;

typedef struct {
    slot *slots;
    uint32_t mask;
    uint32_t used;
} table;

struct projector_keys {
    char *arena;
    size_t arena_length, arena_capacity;
    key_name *names;
    int32_t key_count, key_capacity;
    table by_name;
    // Tokens: their bytes (in the arena) and their three keys.
    key_name *token_bytes;
    token_keys *token_entries;
    int32_t token_count, token_capacity;
    table by_token;
    // Per key: the document it was last touched in, its weight there, its pairing classes.
    uint32_t *last_document;
    float *weight;
    uint8_t *pairing;
    // The document being mapped.
    uint32_t document;
    int32_t *touched;
    float *touched_weights;
    int32_t touched_count, touched_capacity, weights_capacity;
    int32_t *pair_first, *pair_second;
    float *pair_weights;
    int32_t pair_count, pair_capacity;
    int32_t previous_word;
    float field_weight;
    int32_t tokens;
    int failed;
};

static uint64_t hash_bytes(const char *bytes, int length) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (int i = 0; i < length; i++) hash = (hash ^ (uint8_t)bytes[i]) * 0x100000001b3ULL;
    return hash ^ (hash >> 29);
}

static int grow(void **pointer, int32_t *capacity, int32_t needed, size_t size) {
    if (needed <= *capacity) return 1;
    int32_t next = *capacity ? *capacity : 1024;
    while (next < needed) next *= 2;
    void *grown = realloc(*pointer, (size_t)next * size);
    if (!grown) return 0;
    *pointer = grown;
    *capacity = next;
    return 1;
}

static int table_init(table *t, uint32_t size) {
    t->slots = malloc(sizeof(slot) * size);
    if (!t->slots) return 0;
    for (uint32_t i = 0; i < size; i++) t->slots[i].index = -1;
    t->mask = size - 1;
    t->used = 0;
    return 1;
}

/// Rehashes into a table twice the size (the hash is kept in the slot).
static int table_grow(table *t) {
    table bigger;
    if (!table_init(&bigger, (t->mask + 1) * 2)) return 0;
    for (uint32_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].index < 0) continue;
        uint32_t at = t->slots[i].hash & bigger.mask;
        while (bigger.slots[at].index >= 0) at = (at + 1) & bigger.mask;
        bigger.slots[at] = t->slots[i];
    }
    bigger.used = t->used;
    free(t->slots);
    *t = bigger;
    return 1;
}

static const char *arena_add(projector_keys *keys, const char *bytes, int length, uint32_t *offset) {
    if (keys->arena_length + (size_t)length > keys->arena_capacity) {
        size_t next = keys->arena_capacity ? keys->arena_capacity * 2 : 65536;
        while (next < keys->arena_length + (size_t)length) next *= 2;
        char *grown = realloc(keys->arena, next);
        if (!grown) return NULL;
        keys->arena = grown;
        keys->arena_capacity = next;
    }
    *offset = (uint32_t)keys->arena_length;
    memcpy(keys->arena + keys->arena_length, bytes, (size_t)length);
    keys->arena_length += (size_t)length;
    return keys->arena + *offset;
}

projector_keys *projector_keys_new(void) {
    projector_keys *keys = calloc(1, sizeof(projector_keys));
    if (!keys) return NULL;
    if (!table_init(&keys->by_name, 4096) || !table_init(&keys->by_token, 4096)) {
        projector_keys_free(keys);
        return NULL;
    }
    keys->previous_word = -1;
    return keys;
}

void projector_keys_free(projector_keys *keys) {
    if (!keys) return;
    free(keys->arena);
    free(keys->names);
    free(keys->by_name.slots);
    free(keys->token_bytes);
    free(keys->token_entries);
    free(keys->by_token.slots);
    free(keys->last_document);
    free(keys->weight);
    free(keys->pairing);
    free(keys->touched);
    free(keys->touched_weights);
    free(keys->pair_first);
    free(keys->pair_second);
    free(keys->pair_weights);
    free(keys);
}

int projector_keys_count(const projector_keys *keys) { return keys->key_count; }

const char *projector_keys_name(const projector_keys *keys, int key, int *length) {
    *length = (int)keys->names[key].length;
    return keys->arena + keys->names[key].offset;
}

int projector_keys_intern(projector_keys *keys, const char *name, int length) {
    uint32_t hash = (uint32_t)hash_bytes(name, length);
    uint32_t at = hash & keys->by_name.mask;
    while (keys->by_name.slots[at].index >= 0) {
        slot *s = &keys->by_name.slots[at];
        if (s->hash == hash) {
            key_name *known = &keys->names[s->index];
            if ((int)known->length == length && memcmp(keys->arena + known->offset, name, (size_t)length) == 0) return s->index;
        }
        at = (at + 1) & keys->by_name.mask;
    }
    int32_t number = keys->key_count;
    int32_t capacity = keys->key_capacity;
    if (!grow((void **)&keys->names, &capacity, number + 1, sizeof(key_name))) return -1;
    // The per-key arrays follow the names' capacity.
    if (capacity != keys->key_capacity) {
        uint32_t *last = realloc(keys->last_document, sizeof(uint32_t) * (size_t)capacity);
        float *weight = realloc(keys->weight, sizeof(float) * (size_t)capacity);
        uint8_t *pairing = realloc(keys->pairing, (size_t)capacity);
        if (last) keys->last_document = last;
        if (weight) keys->weight = weight;
        if (pairing) keys->pairing = pairing;
        if (!last || !weight || !pairing) return -1;
        keys->key_capacity = capacity;
    }
    uint32_t offset;
    if (!arena_add(keys, name, length, &offset)) return -1;
    keys->names[number] = (key_name){offset, (uint32_t)length};
    keys->last_document[number] = 0;
    keys->weight[number] = 0;
    keys->pairing[number] = 0;
    keys->key_count++;
    keys->by_name.slots[at] = (slot){hash, number};
    if (++keys->by_name.used * 2 > keys->by_name.mask && !table_grow(&keys->by_name)) return -1;
    return number;
}

/// A token's three keys, made the first time the token is met.
static token_keys *token_entry(projector_keys *keys, const char *bytes, int length) {
    uint32_t hash = (uint32_t)hash_bytes(bytes, length);
    uint32_t at = hash & keys->by_token.mask;
    while (keys->by_token.slots[at].index >= 0) {
        slot *s = &keys->by_token.slots[at];
        if (s->hash == hash) {
            key_name *known = &keys->token_bytes[s->index];
            if ((int)known->length == length && memcmp(keys->arena + known->offset, bytes, (size_t)length) == 0) {
                return &keys->token_entries[s->index];
            }
        }
        at = (at + 1) & keys->by_token.mask;
    }
    int32_t number = keys->token_count;
    int32_t capacity = keys->token_capacity;
    if (!grow((void **)&keys->token_bytes, &capacity, number + 1, sizeof(key_name))) return NULL;
    if (capacity != keys->token_capacity) {
        token_keys *entries = realloc(keys->token_entries, sizeof(token_keys) * (size_t)capacity);
        if (!entries) return NULL;
        keys->token_entries = entries;
        keys->token_capacity = capacity;
    }
    // Names: "w:" + token, "p:" + its first 2 and 3 scalars (UTF-8 lead bytes counted).
    char stack[256];
    char *name = length + 2 <= (int)sizeof stack ? stack : malloc((size_t)length + 2);
    if (!name) return NULL;
    memcpy(name + 2, bytes, (size_t)length);
    name[0] = 'w';
    name[1] = ':';
    token_keys entry = {projector_keys_intern(keys, name, length + 2), -1, -1};
    name[0] = 'p';
    int scalars = 0;
    for (int i = 0; i <= length; i++) {
        if (i == length || ((uint8_t)bytes[i] & 0xC0) != 0x80) {
            if (scalars == 2) entry.two = projector_keys_intern(keys, name, i + 2);
            if (scalars == 3) {
                entry.three = projector_keys_intern(keys, name, i + 2);
                break;
            }
            scalars++;
        }
    }
    if (name != stack) free(name);
    if (entry.word < 0) return NULL;
    uint32_t offset;
    if (!arena_add(keys, bytes, length, &offset)) return NULL;
    keys->token_bytes[number] = (key_name){offset, (uint32_t)length};
    keys->token_entries[number] = entry;
    keys->token_count++;
    // Re-probe: interning above may have grown the names table, not this one.
    at = hash & keys->by_token.mask;
    while (keys->by_token.slots[at].index >= 0) at = (at + 1) & keys->by_token.mask;
    keys->by_token.slots[at] = (slot){hash, number};
    if (++keys->by_token.used * 2 > keys->by_token.mask && !table_grow(&keys->by_token)) return NULL;
    return &keys->token_entries[number];
}

static void touch(projector_keys *keys, int32_t key, float weight) {
    if (key < 0) return;
    if (keys->last_document[key] == keys->document) {
        keys->weight[key] += weight;
        return;
    }
    if (!grow((void **)&keys->touched, &keys->touched_capacity, keys->touched_count + 1, sizeof(int32_t))) {
        keys->failed = 1;
        return;
    }
    keys->last_document[key] = keys->document;
    keys->weight[key] = weight;
    keys->touched[keys->touched_count++] = key;
}

static void pair(projector_keys *keys, int32_t first, int32_t second, float weight) {
    for (int32_t i = 0; i < keys->pair_count; i++) {
        if (keys->pair_first[i] == first && keys->pair_second[i] == second) {
            keys->pair_weights[i] += weight;
            return;
        }
    }
    int32_t capacity = keys->pair_capacity;
    if (!grow((void **)&keys->pair_first, &capacity, keys->pair_count + 1, sizeof(int32_t))) { keys->failed = 1; return; }
    if (capacity != keys->pair_capacity) {
        int32_t *seconds = realloc(keys->pair_second, sizeof(int32_t) * (size_t)capacity);
        float *weights = realloc(keys->pair_weights, sizeof(float) * (size_t)capacity);
        if (seconds) keys->pair_second = seconds;
        if (weights) keys->pair_weights = weights;
        if (!seconds || !weights) { keys->failed = 1; return; }
        keys->pair_capacity = capacity;
    }
    keys->pair_first[keys->pair_count] = first;
    keys->pair_second[keys->pair_count] = second;
    keys->pair_weights[keys->pair_count++] = weight;
}

static int on_token(void *context, const char *bytes, int length, int start, int end) {
    (void)start;
    (void)end;
    projector_keys *keys = context;
    if (length <= 0) return 0;
    token_keys *entry = token_entry(keys, bytes, length);
    if (!entry) {
        keys->failed = 1;
        return 1;
    }
    token_keys found = *entry;  // the entries array may move as tokens are added
    float weight = keys->field_weight;
    keys->tokens++;
    touch(keys, found.word, weight);
    touch(keys, found.two, weight);
    touch(keys, found.three, weight);
    if (keys->previous_word >= 0 && projector_pairs_counted(keys->pairing[keys->previous_word], keys->pairing[found.word])) {
        pair(keys, keys->previous_word, found.word, weight);
    }
    keys->previous_word = found.word;
    return keys->failed;
}

void projector_keys_begin(projector_keys *keys) {
    keys->document++;
    if (keys->document == 0) {  // the stamps wrapped: start them over
        memset(keys->last_document, 0, sizeof(uint32_t) * (size_t)keys->key_count);
        keys->document = 1;
    }
    keys->touched_count = 0;
    keys->pair_count = 0;
    keys->tokens = 0;
}

int projector_keys_add_text(projector_keys *keys, projector_tokenizer *tokenizer, const char *text, int length, float weight) {
    keys->previous_word = -1;  // a pair never spans two fields
    keys->field_weight = weight;
    projector_tokenize(tokenizer, 4, text, length, keys, on_token);
    return keys->failed ? -1 : 0;
}

/// Touches one more key of the document (a filter value, the set of all documents).
void projector_keys_touch(projector_keys *keys, int key) { touch(keys, key, 0); }

int projector_keys_document(projector_keys *keys, const int32_t **touched, const float **weights) {
    if (keys->failed) return -1;
    int32_t capacity = keys->weights_capacity;
    if (!grow((void **)&keys->touched_weights, &capacity, keys->touched_count + 1, sizeof(float))) return -1;
    keys->weights_capacity = capacity;
    for (int32_t i = 0; i < keys->touched_count; i++) keys->touched_weights[i] = keys->weight[keys->touched[i]];
    *touched = keys->touched;
    *weights = keys->touched_weights;
    return keys->touched_count;
}

int projector_keys_pairs(projector_keys *keys, const int32_t **firsts, const int32_t **seconds, const float **weights) {
    *firsts = keys->pair_first;
    *seconds = keys->pair_second;
    *weights = keys->pair_weights;
    return keys->pair_count;
}

int projector_keys_length(const projector_keys *keys) { return keys->tokens; }

void projector_keys_add_pairing(projector_keys *keys, int key, int classes) {
    if (key >= 0 && key < keys->key_count) keys->pairing[key] |= (uint8_t)classes;
}

uint8_t projector_keys_pairing(const projector_keys *keys, int key) {
    return key >= 0 && key < keys->key_count ? keys->pairing[key] : 0;
}

void projector_keys_set_paired(projector_keys *keys, int key, int paired) {
    if (key < 0 || key >= keys->key_count) return;
    keys->pairing[key] = (uint8_t)(paired ? keys->pairing[key] | PROJECTOR_PAIRED : keys->pairing[key] & ~PROJECTOR_PAIRED);
}
