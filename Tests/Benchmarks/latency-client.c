// Every request's own latency, for checking wrk's percentiles (wrk corrects for coordinated
// omission by adding synthetic samples for every stall, so one slow burst fills its p99).
// Keeps CONNS keep-alive connections busy for SECONDS, cycling the request paths in PATHS (one
// per line), and prints percentiles over all requests and, with SKIP, over those started after
// SKIP seconds.
//
//   cc -O2 -o /tmp/latency-client Tests/Benchmarks/latency-client.c
//   /tmp/latency-client PORT CONNS SECONDS PATHS [SKIP]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; double start; char buffer[1 << 16]; int length; int next; } connection;
typedef struct { double start, millis; } sample;

static char *paths[256];
static int pathCount;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void send_request(connection *c) {
    char request[1024];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", paths[c->next++ % pathCount]);
    c->start = now();
    c->length = 0;
    if (write(c->fd, request, n) != n) { perror("write"); exit(1); }
}

static int by_millis(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *label, sample *samples, long count, double skip) {
    double *values = malloc(sizeof(double) * (count + 1));
    long n = 0;
    for (long i = 0; i < count; i++) if (samples[i].start >= skip) values[n++] = samples[i].millis;
    if (n == 0) { printf("%s: no requests\n", label); free(values); return; }
    qsort(values, n, sizeof(double), by_millis);
    printf("%s: %ld requests, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", label, n,
           values[n / 2], values[n * 90 / 100], values[n * 99 / 100], values[n * 999 / 1000], values[n - 1]);
    free(values);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s PORT CONNS SECONDS PATHS [SKIP]\n", argv[0]); return 2; }
    int port = atoi(argv[1]), connections = atoi(argv[2]);
    double seconds = atof(argv[3]), skip = argc > 5 ? atof(argv[5]) : 0;
    FILE *file = fopen(argv[4], "r");
    if (!file) { perror(argv[4]); return 2; }
    char line[1024];
    while (pathCount < 256 && fgets(line, sizeof line, file)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*line) paths[pathCount++] = strdup(line);
    }
    fclose(file);
    if (pathCount == 0) { fprintf(stderr, "%s: no paths\n", argv[4]); return 2; }

    long capacity = 1 << 20, count = 0;
    sample *samples = malloc(sizeof(sample) * capacity);
    connection *all = calloc(connections, sizeof(connection));
    int poll = epoll_create1(0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001) };
    double began = now();
    for (int i = 0; i < connections; i++) {
        all[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(all[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(all[i].fd, (struct sockaddr *)&address, sizeof address)) { perror("connect"); return 1; }
        all[i].next = i;
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = &all[i] };
        epoll_ctl(poll, EPOLL_CTL_ADD, all[i].fd, &event);
        send_request(&all[i]);
    }
    struct epoll_event events[64];
    while (now() - began < seconds) {
        int ready = epoll_wait(poll, events, 64, 100);
        for (int i = 0; i < ready; i++) {
            connection *c = events[i].data.ptr;
            int n = read(c->fd, c->buffer + c->length, sizeof c->buffer - 1 - c->length);
            if (n <= 0) { fprintf(stderr, "connection closed by the server\n"); return 1; }
            c->length += n;
            c->buffer[c->length] = 0;
            char *end = strstr(c->buffer, "\r\n\r\n");
            if (!end) continue;
            char *header = strcasestr(c->buffer, "\r\ncontent-length:");
            if (!header || header > end) { fprintf(stderr, "a response without Content-Length\n"); return 1; }
            if (c->length < (end + 4 - c->buffer) + atoi(header + 17)) continue;
            double finished = now();
            if (count == capacity) samples = realloc(samples, sizeof(sample) * (capacity *= 2));
            samples[count++] = (sample){ c->start - began, (finished - c->start) * 1000 };
            send_request(c);
        }
    }
    double elapsed = now() - began;
    printf("%ld requests in %.1f s: %.0f requests/s\n", count, elapsed, count / elapsed);
    report("all", samples, count, 0);
    if (skip > 0) {
        char label[64];
        snprintf(label, sizeof label, "after %.1f s", skip);
        report(label, samples, count, skip);
    }
    return 0;
}
