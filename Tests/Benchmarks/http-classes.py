#!/usr/bin/env python3
"""The search benchmark's query classes (SearchBenchmark.queryClasses: 200 per class, picked from
the index's own vocabulary the same way) asked over one keep-alive HTTP connection to a running
`projector serve`, once each: client-side latency and the engine's tookMs, p50 and p99.

    python3 Tests/Benchmarks/http-classes.py STORE.sqlite PORT [INDEX]

STORE is the search index's store (read for the vocabulary only). Warm the server with a few
other queries first: its first answers after start pay one-off costs (tens of ms). Repeated
queries (the three "term in ~all" words) are answered from the server's cache.
"""
import sqlite3, http.client, json, time, urllib.parse, sys, statistics
store, port = sys.argv[1], int(sys.argv[2])
index = sys.argv[3] if len(sys.argv) > 3 else 'docs'
count = 200
c = sqlite3.connect(f'file:{store}?mode=ro', uri=True)
c.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, documents_fts, row)")
vocab = [(t, d) for t, d in c.execute("SELECT term, doc FROM temp.v WHERE length(term) >= 3")]
vocab.sort(key=lambda x: -x[1])
total = c.execute("SELECT count(*) FROM documents").fetchone()[0]
def terms(lo, hi):
    picked = [t for t, d in vocab if lo * total <= d <= hi * total]
    return [picked[i * 7919 % len(picked)] if picked else 'the' for i in range(count)]
rare, common, medium = terms(0.00002, 0.0001), terms(0.02, 0.08), terms(0.002, 0.01)
top = [t for t, _ in vocab[:3]]
everywhere = [top[i % 3] for i in range(count)]
titles = [r[0] for r in c.execute("SELECT title FROM documents WHERE title IS NOT NULL ORDER BY rowid LIMIT ?", (count * 3,))]
phrases = [f'"{w[1]} {w[2]}"' for w in (t.split(' ') for t in titles) if len(w) >= 3]
letters = "abcdefghilmnoprstu"
prefix2 = [letters[i % 18] + letters[(i // 18 + 3) % 18] for i in range(count)]
prefix3 = [vocab[(i * 31) % 2000][0][:3] for i in range(count)]
classes = [("rare term", [(q + ' ', '') for q in rare]), ("common term", [(q + ' ', '') for q in common]),
           ("term in ~all", [(q + ' ', '') for q in everywhere]), ("two terms", [(f"{m} {c_} ", '') for m, c_ in zip(medium, common)]),
           ("phrase", [(q, '') for q in phrases]), ("2-letter prefix", [(q, '') for q in prefix2]), ("3-letter prefix", [(q, '') for q in prefix3]),
           ("filtered", [(q + ' ', '&filter=kind:CommentAdded') for q in common]), ("faceted", [(q + ' ', '&facet=kind') for q in common])]
conn = http.client.HTTPConnection('127.0.0.1', port)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
print(f"{'class':18} {'HTTP p50':>9} {'p99':>7} | {'tookMs p50':>10} {'p99':>7} | median body KB")
for name, qs in classes:
    lat, took, size = [], [], []
    for q, extra in qs:
        t = time.perf_counter(); conn.request('GET', f'/v1/search/{index}?limit=10&autocorrect=false&q={urllib.parse.quote(q)}{extra}')
        r = conn.getresponse(); body = r.read(); lat.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, (r.status, body[:200])
        took.append(json.loads(body)['tookMs']); size.append(len(body) / 1024)
    print(f"{name:18} {pct(lat, .5):9.2f} {pct(lat, .99):7.2f} | {pct(took, .5):10.2f} {pct(took, .99):7.2f} | {statistics.median(size):.1f}")
