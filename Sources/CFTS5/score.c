// bm25 over the document sets: each matching document's score from its terms' stored impacts
// (column-weighted frequencies as bytes) and its stored length, the best k kept in a heap.
// FTS5 scores a document by reading its position lists and its size record (about a microsecond
// each); this reads a byte per term and two for the length.
#include "cfts5.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double k1 = 1.2, b = 0.75;
static const int exact = 100;
static const double step = 1.04;

double projector_impact_value(int code, double unit) {
    if (code <= 0) return 0.0;
    return code <= exact ? code * unit : exact * unit * pow(step, code - exact);
}

int projector_impact_code(double frequency, double unit) {
    if (frequency <= 0.0 || unit <= 0.0) return 0;
    double units = frequency / unit;
    if (units < exact + 0.5) return units < 1.0 ? 1 : (int)floor(units + 0.5);
    double code = exact + floor(log(units / exact) / log(step) + 0.5);
    return code > 255.0 ? 255 : (int)code;
}

int projector_length_code(long long length) { return length < 0 ? 0 : (length > 65535 ? 65535 : (int)length); }

void projector_bm25_factors(float *scaled, float *frequency, double unit) {
    for (int code = 0; code < 256; code++) {
        double f = projector_impact_value(code, unit);
        scaled[code] = (float)(f * (k1 + 1.0));
        frequency[code] = (float)f;
    }
}

static inline int better(projector_hit a, projector_hit b) {
    return a.score > b.score || (a.score == b.score && a.rowid > b.rowid);
}

/// Keeps `hit` if it is among the best `capacity`: a heap whose root is the worst kept.
static void keep(projector_top *top, projector_hit hit) {
    projector_hit *heap = top->hits;
    if (top->count < top->capacity) {
        int at = top->count++;
        while (at > 0) {
            int parent = (at - 1) / 2;
            if (!better(heap[parent], hit)) break;
            heap[at] = heap[parent];
            at = parent;
        }
        heap[at] = hit;
        return;
    }
    if (top->capacity == 0 || !better(hit, heap[0])) return;
    int at = 0;
    for (;;) {
        int child = 2 * at + 1;
        if (child >= top->count) break;
        if (child + 1 < top->count && better(heap[child], heap[child + 1])) child++;
        if (!better(hit, heap[child])) break;
        heap[at] = heap[child];
        at = child;
    }
    heap[at] = hit;
}

/// The score a hit must reach to be kept (ties are settled by `keep`).
static inline double floor_of(const projector_top *top) {
    return top->count < top->capacity || top->capacity == 0 ? -INFINITY : top->hits[0].score;
}

// One term (the common case): walk its members in order, so an impact's index is a counter.
__attribute__((target("popcnt"))) static void score_one(
    long long base, const uint64_t *candidates, const uint64_t *bits, const uint8_t *impacts, double idf,
    const float *scaled, const float *frequency, float fixed, float per_token, const uint16_t *lengths,
    projector_top *top) {
    int rank = 0;
    double lowest = floor_of(top);
    for (int word = 0; word < 256; word++) {
        uint64_t members = bits[word];
        uint64_t wanted = members & candidates[word];
        if (wanted == members) {
            while (wanted) {
                int bit = __builtin_ctzll(wanted);
                wanted &= wanted - 1;
                int offset = word * 64 + bit;
                int code = impacts[rank++];
                float norm = fixed + per_token * (lengths ? lengths[offset] : 0);
                double score = idf * (scaled[code] / (frequency[code] + norm));
                if (score < lowest) continue;
                keep(top, (projector_hit){score, base + offset});
                lowest = floor_of(top);
            }
        } else {
            while (wanted) {
                int bit = __builtin_ctzll(wanted);
                wanted &= wanted - 1;
                int offset = word * 64 + bit;
                int code = impacts[rank + __builtin_popcountll(members & ((1ULL << bit) - 1))];
                float norm = fixed + per_token * (lengths ? lengths[offset] : 0);
                double score = idf * (scaled[code] / (frequency[code] + norm));
                if (score < lowest) continue;
                keep(top, (projector_hit){score, base + offset});
                lowest = floor_of(top);
            }
            rank += __builtin_popcountll(members);
        }
    }
}

__attribute__((target("popcnt"))) void projector_score_chunk(
    long long base, const uint64_t *candidates, int term_count, const uint64_t *const *term_bits,
    const uint8_t *const *term_impacts, const double *idf, const float *scaled, const float *frequency,
    double average, const uint16_t *lengths, projector_top *top) {
    if (average <= 0.0) average = 1.0;
    float fixed = (float)(k1 * (1.0 - b)), per_token = (float)(k1 * b / average);
    if (term_count == 1) {
        if (term_bits[0])
            score_one(base, candidates, term_bits[0], term_impacts[0], idf[0], scaled, frequency, fixed, per_token,
                      lengths, top);
        return;
    }
    int ranks[64];
    if (term_count > 64) term_count = 64;
    for (int t = 0; t < term_count; t++) ranks[t] = 0;
    double lowest = floor_of(top);
    for (int word = 0; word < 256; word++) {
        uint64_t bits = candidates[word];
        while (bits) {
            int bit = __builtin_ctzll(bits);
            bits &= bits - 1;
            int offset = word * 64 + bit;
            float norm = fixed + per_token * (lengths ? lengths[offset] : 0);
            double score = 0.0;
            for (int t = 0; t < term_count; t++) {
                const uint64_t *mine = term_bits[t];
                if (!mine || !(mine[word] >> bit & 1)) continue;
                int code = term_impacts[t][ranks[t] + __builtin_popcountll(mine[word] & ((1ULL << bit) - 1))];
                score += idf[t] * (scaled[code] / (frequency[code] + norm));
            }
            if (score < lowest) continue;
            keep(top, (projector_hit){score, base + offset});
            lowest = floor_of(top);
        }
        for (int t = 0; t < term_count; t++) {
            if (term_bits[t]) ranks[t] += __builtin_popcountll(term_bits[t][word]);
        }
    }
}

static int order(const void *a, const void *b) {
    projector_hit x = *(const projector_hit *)a, y = *(const projector_hit *)b;
    return better(x, y) ? -1 : (better(y, x) ? 1 : 0);
}

void projector_top_sort(projector_top *top) { qsort(top->hits, (size_t)top->count, sizeof(projector_hit), order); }
