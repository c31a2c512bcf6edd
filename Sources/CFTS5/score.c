// bm25 over the document sets: each matching document's score from its terms' stored impacts
// (column-weighted frequencies, quantized) and its stored length, the best k kept in a heap.
// FTS5 scores a document by reading its position lists and its size record (about a microsecond
// each); this reads a byte per term and a byte for the length.
#include "cfts5.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

double projector_impact_value(int code, double base) { return code <= 0 ? 0.0 : base * pow(1.06, code - 1); }

int projector_impact_code(double frequency, double base) {
    if (frequency <= 0.0 || base <= 0.0) return 0;
    double code = 1.0 + floor(log(frequency / base) / log(1.06) + 0.5);
    return code < 1.0 ? 1 : (code > 255.0 ? 255 : (int)code);
}

double projector_length_value(int code) { return code <= 0 ? 0.0 : pow(1.05, code - 1) - 1.0; }

int projector_length_code(long long length) {
    double code = 1.0 + floor(log(1.0 + (double)(length < 0 ? 0 : length)) / log(1.05) + 0.5);
    return code > 255.0 ? 255 : (int)code;
}

void projector_bm25_table(float *table, double base, double average) {
    const double k1 = 1.2, b = 0.75;
    if (average <= 0.0) average = 1.0;
    for (int length = 0; length < 256; length++) {
        double norm = k1 * (1.0 - b + b * projector_length_value(length) / average);
        table[length] = 0.0f;
        for (int impact = 1; impact < 256; impact++) {
            double frequency = projector_impact_value(impact, base);
            table[impact << 8 | length] = (float)(frequency * (k1 + 1.0) / (frequency + norm));
        }
    }
}

static int better(projector_hit a, projector_hit b) { return a.score > b.score || (a.score == b.score && a.rowid > b.rowid); }

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

void projector_score_chunk(
    long long base, const uint64_t *candidates, int term_count, const uint64_t *const *term_bits,
    const uint8_t *const *term_impacts, const double *idf, const float *table, const uint8_t *lengths,
    projector_top *top) {
    int ranks[64];
    if (term_count > 64) term_count = 64;
    for (int t = 0; t < term_count; t++) ranks[t] = 0;
    for (int word = 0; word < 256; word++) {
        uint64_t bits = candidates[word];
        while (bits) {
            int bit = __builtin_ctzll(bits);
            bits &= bits - 1;
            int offset = word * 64 + bit;
            int length = lengths ? lengths[offset] : 0;
            const float *row = table + length;
            double score = 0.0;
            for (int t = 0; t < term_count; t++) {
                const uint64_t *mine = term_bits[t];
                if (!mine || !(mine[word] >> bit & 1)) continue;
                int rank = ranks[t] + __builtin_popcountll(mine[word] & ((1ULL << bit) - 1));
                score += idf[t] * row[(int)term_impacts[t][rank] << 8];
            }
            keep(top, (projector_hit){score, base + offset});
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
