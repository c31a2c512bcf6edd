#!/usr/bin/env python3
"""Projector against peer search engines: SQLite FTS5 (naive), tantivy and Xapian, on the same text.

Projector imports the events and builds its search index; every peer then indexes exactly the
documents Projector ended with (read back from its store's `documents` table, so HTML pages are
already Projector's text), with the spec's field weights. Six classes of queries are drawn with
the seed from the FTS5 vocabulary and run against every engine: latency p50/p99, the total of
every query compared with FTS5's exact count(*), and top-10 agreement with FTS5's bm25 order.

    python3 Tests/Benchmarks/peers.py --events debian.ndjson \\
        --spec Sources/ProjectorDemo/Resources/examples/packages.yml \\
        --binary .build/release/projector --workdir /tmp/peers-debian [--keep] [--queries 200] [--seed 1]

For the synthetic corpus (synth1m.ndjson: DocumentCreated/Revised/Tagged, CommentAdded,
DocumentArchived on streams doc-N), a spec that `projector validate` accepts:

    name: documents
    kind: search
    events: [DocumentCreated, DocumentRevised, DocumentTagged, CommentAdded, DocumentArchived]
    id: $.stream
    fields:
      title:   { path: $.data.title, weight: 5 }
      body:    { path: $.data.body, weight: 1 }
      comment: { path: $.data.comment, weight: 1 }     # the latest comment
      tags:    { path: $.data.tags, filter: true }
      author:  { path: $.data.author, filter: true }
      updated: { path: $.time, filter: true }
    delete: [DocumentArchived]
    tokenizer: unicode61
    tieBreak: updated

Needs Python 3.9+ with `tantivy` (PyPI) and `xapian` (python3-xapian) importable.
Writes DIR/results.json (every query, every engine: text sent, total, top-20 ids, latency) and
prints Markdown tables. Without --keep, DIR/.projector and DIR/peers are deleted and rebuilt.

Engines, and how each is asked:
  Projector   `projector serve --port 0` in DIR; every query over ONE keep-alive HTTP connection,
              GET /v1/search/{index}?q=...&limit=20&autocorrect=false. Reported: client-side
              latency (HTTP) and the server's own tookMs (engine). Query text as a user types it:
              `word ` and `two words ` with a trailing space (no prefix), `"a phrase"`, and `abc`
              (the last word of a query without a trailing space is a prefix).
  FTS5 naive  a contentful FTS5 table (doc_id UNINDEXED + the text fields), tokenize='unicode61
              remove_diacritics 2', bulk-inserted in one transaction, no prefix index, no optimize;
              `ORDER BY bm25(t, 0, w1, w2, ...) LIMIT 20` plus an exact `count(*)`.
  tantivy     one text field per spec field (default tokenizer: split on non-alphanumerics,
              lowercase, tokens over 40 bytes dropped; no accent folding), doc_id stored (raw);
              one writer thread. QueryParser over the text fields with field_boosts = weights and
              conjunction_by_default=True; a phrase is `"a b"`. tantivy's QueryParser has no
              `abc*`, so a prefix is `f1:/abc.*/^w1 f2:/abc.*/^w2 ...` (allow_regexes): exact
              matches but a constant score per field, so its prefix top-10 is not bm25.
              searcher.search(query, 20) with .count; ids read from the doc store.
  Xapian      unprefixed terms: a TermGenerator indexes every field into the same term space
              with wdf_inc = the field's weight (and a position gap of 100 between fields, so a
              phrase never spans two fields). With BM25Weight(k1=1.2, k2=0, k3=1, b=0.75,
              min_normlen=0.5) this is FTS5's weighted bm25: term frequency summed over fields times
              their weights (Xapian's document length is weighted too; FTS5's is not). Queries are
              built directly: OP_AND of the words, OP_PHRASE (window 2), OP_WILDCARD with an
              OP_SYNONYM combiner for a prefix; get_mset(0, 20, checkatleast=doccount) for exact
              totals; ids from the document data. TermGenerator keeps `1.2.3`, `foo_bar`, `c++`,
              `don't` as single terms and does not fold accents, so some totals differ from FTS5.

Query classes (N different queries each, --queries; never a repeat, since Projector caches answers
and a repeat would measure its cache: a class with fewer candidates gets fewer queries):
  rare         a word with document frequency 2-30
  common       a word with df between 1% and 5% of the documents
  very common  a word with df over 40% of the documents
  two terms    two different words, each with df between 1% and 10%, AND-ed, at least one
               document containing both
  phrase       two adjacent words of a random document's field text, quoted (kept only when FTS5
               finds the phrase)
  prefix       the first 3 letters (all alphabetic) of a vocabulary word of 4+ letters, the word
               chosen with probability proportional to its df (as a word met in the text)

Latency of the peers is in process: the parse (tantivy), the search, the top-20 ids and the total.
Every engine is warmed up with 20 other queries drawn the same way (never measured); the queries
then run in one seeded shuffled order, the same for every engine. Percentiles are nearest-rank. Top-10 agreement is |top10(engine) ∩
top10(FTS5)| / |top10(FTS5)| (1.0 when both find nothing), averaged per class, where a hit that
ties FTS5's 10th bm25 score exactly counts as in its top 10: FTS5's order among equal scores
(common for very common words and for prefixes) is arbitrary.
"""
import argparse
import glob
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.parse

import tantivy
import xapian

CLASSES = ["rare", "common", "very common", "two terms", "phrase", "prefix"]
ENGINES = ["projector", "fts5", "tantivy", "xapian"]
TOP = 20
WARMUP = 20   # warm-up queries per engine, drawn like the others but never measured
SPARE = 4     # extra queries drawn per class for the warm-up


# ---------------------------------------------------------------- Projector: import, index, store

def spec_name(spec_path):
    """The projection's name: the spec's top-level `name:` (the only YAML this script reads)."""
    with open(spec_path, encoding="utf-8") as spec:
        for line in spec:
            found = re.match(r"""^name:\s*["']?([^"'\s#]+)""", line)
            if found:
                return found.group(1)
    raise SystemExit(f"{spec_path}: no top-level name:")


def live_store(workdir, name):
    """Path of the projection's live store file, or None when none is built yet."""
    stores = os.path.join(workdir, ".projector", "stores")
    pointer = os.path.join(stores, f"{name}.generations.json")
    if os.path.exists(pointer):
        with open(pointer, encoding="utf-8") as file:
            live = json.load(file)["live"]
        path = live if os.path.isabs(live) else os.path.join(stores, live)
    else:
        path = os.path.join(stores, f"{name}.sqlite")
    return path if os.path.exists(path) else None


def projector_env():
    env = dict(os.environ)
    env.pop("PROJECTOR_CONFIG", None)
    return env


def run_timed(command, workdir):
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=projector_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}")
    return seconds, (done.stdout + done.stderr).strip()


def build_projector(args, name):
    """Import the events and run the projections once in DIR (or reuse them with --keep)."""
    os.makedirs(args.workdir, exist_ok=True)
    if args.keep and live_store(args.workdir, name):
        print(f"projector: reusing the store in {args.workdir} (--keep)")
        return {"import_s": None, "index_s": None}
    shutil.rmtree(os.path.join(args.workdir, ".projector"), ignore_errors=True)
    os.makedirs(os.path.join(args.workdir, "projections"), exist_ok=True)
    shutil.copy(args.spec, os.path.join(args.workdir, "projections", os.path.basename(args.spec)))
    import_s, output = run_timed([args.binary, "import", os.path.abspath(args.events)], args.workdir)
    print(f"projector import: {import_s:.1f} s  ({output.splitlines()[-1] if output else ''})")
    index_s, _ = run_timed([args.binary, "run", "--once"], args.workdir)
    print(f"projector run --once: {index_s:.1f} s")
    if not live_store(args.workdir, name):
        raise SystemExit(f"no store for projection '{name}' after run --once")
    return {"import_s": import_s, "index_s": index_s}


def read_documents(store, name):
    """The text fields (name -> weight, in store column order) and every document's text."""
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    row = con.execute("SELECT definition FROM projector_checkpoint WHERE name = ?", (name,)).fetchone()
    if not row or not row[0]:
        raise SystemExit(f"{store}: no definition for '{name}' in projector_checkpoint")
    fields = json.loads(row[0])["fields"]   # the spec as Projector parsed it
    columns = [info[1] for info in con.execute("PRAGMA table_info(documents)")]
    text = {c: float(fields[c].get("weight", 1)) for c in columns
            if c in fields and not fields[c].get("filter", False)}
    select = ", ".join(f'"{c}"' for c in text)
    docs = con.execute(f"SELECT doc_id, {select} FROM documents ORDER BY rowid").fetchall()
    con.close()
    return text, docs


# ---------------------------------------------------------------- sizes, statistics

def size_on_disk(path):
    if os.path.isfile(path):
        return sum(os.path.getsize(p) for p in glob.glob(path + "*") if os.path.isfile(p))
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def human(size):
    for unit in ["B", "KB", "MB", "GB"]:
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------- FTS5 naive

def fts_literal(word):
    return '"' + word.replace('"', '""') + '"'


def fts5_match(query):
    words = query["words"]
    if query["kind"] == "phrase":
        return fts_literal(" ".join(words))
    if query["kind"] == "prefix":
        return fts_literal(words[0]) + "*"
    return " ".join(fts_literal(w) for w in words)


class Fts5:
    name = "fts5"

    def __init__(self, path, fields, docs):
        if os.path.exists(path):
            os.remove(path)
        started = time.perf_counter()
        self.con = sqlite3.connect(path)
        columns = ", ".join(f'"{f}"' for f in fields)
        self.con.execute(f"CREATE VIRTUAL TABLE t USING fts5(doc_id UNINDEXED, {columns}, "
                         "tokenize='unicode61 remove_diacritics 2')")
        marks = ", ".join("?" * (len(fields) + 1))
        with self.con:
            self.con.executemany(f"INSERT INTO t(doc_id, {columns}) VALUES ({marks})", docs)
        self.build_s = time.perf_counter() - started
        self.size = size_on_disk(path)
        self.weights = ", ".join(["0"] + [f"{w:g}" for w in fields.values()])
        self.top_sql = f"SELECT doc_id FROM t WHERE t MATCH ? ORDER BY bm25(t, {self.weights}) LIMIT {TOP}"
        self.count_sql = "SELECT count(*) FROM t WHERE t MATCH ?"
        self.con.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, t, row)")

    def vocabulary(self):
        """(term, document frequency) for every term, in term order."""
        return self.con.execute("SELECT term, doc FROM temp.vocab").fetchall()

    def count(self, query):
        return self.con.execute(self.count_sql, (fts5_match(query),)).fetchone()[0]

    def scores(self, query, ids):
        """FTS5's weighted bm25 of each of `ids` for `query` (lower is better)."""
        marks = ", ".join("?" * len(ids))
        return dict(self.con.execute(
            f"SELECT doc_id, bm25(t, {self.weights}) FROM t WHERE t MATCH ? AND doc_id IN ({marks})",
            (fts5_match(query), *ids)).fetchall()) if ids else {}

    def search(self, query):
        match = fts5_match(query)
        ids = [r[0] for r in self.con.execute(self.top_sql, (match,))]
        total = self.con.execute(self.count_sql, (match,)).fetchone()[0]
        return total, ids, match


# ---------------------------------------------------------------- tantivy

class Tantivy:
    name = "tantivy"

    def __init__(self, path, fields, docs):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        started = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("doc_id", stored=True, tokenizer_name="raw", index_option="basic")
        for field in fields:
            builder.add_text_field(field)   # default tokenizer, positions, not stored
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=path)
        writer = self.index.writer(heap_size=256_000_000, num_threads=1)
        names = list(fields)
        for row in docs:
            values = {"doc_id": row[0]}
            values.update((n, v) for n, v in zip(names, row[1:]) if v)
            writer.add_document(tantivy.Document(**values))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.build_s = time.perf_counter() - started
        self.size = size_on_disk(path)
        self.searcher = self.index.searcher()
        self.fields = names
        self.boosts = dict(fields)
        self.segments = self.searcher.num_segments

    def text(self, query):
        words = query["words"]
        if query["kind"] == "phrase":
            return '"' + " ".join(words) + '"'
        if query["kind"] == "prefix":
            pattern = re.sub(r"([^\w])", r"\\\1", words[0]) + ".*"
            return " ".join(f"{f}:/{pattern}/^{self.boosts[f]:g}" for f in self.fields)
        return " ".join(words)

    def search(self, query):
        text = self.text(query)
        if query["kind"] == "prefix":
            parsed = self.index.parse_query(text, self.fields, allow_regexes=True)
        else:
            parsed = self.index.parse_query(text, self.fields, field_boosts=self.boosts,
                                            conjunction_by_default=True)
        result = self.searcher.search(parsed, TOP)
        ids = [self.searcher.doc(address)["doc_id"][0] for _, address in result.hits]
        return result.count, ids, text


# ---------------------------------------------------------------- Xapian

class Xapian:
    name = "xapian"

    def __init__(self, path, fields, docs):
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        db = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OVERWRITE)
        generator = xapian.TermGenerator()
        weights = [max(1, int(round(w))) for w in fields.values()]   # wdf_inc is a whole number
        if any(w != float(v) for w, v in zip(weights, fields.values())):
            print(f"note: Xapian wdf_inc rounds the weights to {weights}", file=sys.stderr)
        for row in docs:
            doc = xapian.Document()
            generator.set_document(doc)
            for value, weight in zip(row[1:], weights):
                if value:
                    generator.index_text(value, weight)
                    generator.increase_termpos(100)
            doc.set_data(row[0])
            db.add_document(doc)
        db.commit()
        db.close()
        self.build_s = time.perf_counter() - started
        self.size = size_on_disk(path)
        self.db = xapian.Database(path)
        self.doccount = self.db.get_doccount()
        self.enquire = xapian.Enquire(self.db)
        self.enquire.set_weighting_scheme(xapian.BM25Weight(1.2, 0, 1, 0.75, 0.5))

    @staticmethod
    def make_query(query):
        words = query["words"]
        if query["kind"] == "phrase":
            return xapian.Query(xapian.Query.OP_PHRASE, words, len(words))
        if query["kind"] == "prefix":
            return xapian.Query(xapian.Query.OP_WILDCARD, words[0], 0,
                                xapian.Query.WILDCARD_LIMIT_ERROR, xapian.Query.OP_SYNONYM)
        if len(words) == 1:
            return xapian.Query(words[0])
        return xapian.Query(xapian.Query.OP_AND, words)

    def search(self, query):
        made = self.make_query(query)
        self.enquire.set_query(made)
        mset = self.enquire.get_mset(0, TOP, self.doccount)
        ids = [m.document.get_data().decode("utf-8") for m in mset]
        return mset.get_matches_estimated(), ids, str(made)


# ---------------------------------------------------------------- Projector over HTTP

def projector_text(query):
    words = query["words"]
    if query["kind"] == "phrase":
        return '"' + " ".join(words) + '"'
    if query["kind"] == "prefix":
        return words[0]
    return " ".join(words) + " "   # trailing space: no prefix


class ProjectorServer:
    """`projector serve --port 0` in DIR, and one keep-alive connection to it."""
    name = "projector"

    def __init__(self, binary, workdir, index):
        self.index = index
        self.process = subprocess.Popen([binary, "serve", "--port", "0"], cwd=workdir, env=projector_env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.process.stderr:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.port = int(found.group(1))
                break
        if self.port is None:
            raise SystemExit("projector serve exited before listening")
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        deadline = time.time() + 300
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                probe.request("GET", "/health")
                status = probe.getresponse().status
                probe.close()
                if status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("projector serve: /health never answered 200")
            time.sleep(0.2)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def search(self, query):
        """(total, ids, text, {tookMs, ranking, response bytes}), timed by the caller."""
        text = projector_text(query)
        path = (f"/v1/search/{urllib.parse.quote(self.index)}?q={urllib.parse.quote(text)}"
                f"&limit={TOP}&autocorrect=false")
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        answer = json.loads(body)
        return (answer["total"], [h["id"] for h in answer["hits"]], text,
                {"tookMs": answer["tookMs"], "ranking": answer.get("ranking"), "bytes": len(body)})

    def stop(self):
        self.connection.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------- queries

WORD = re.compile(r"[^\W_]+")


def fold(token):
    """unicode61 remove_diacritics 2, approximately: lowercase, combining marks dropped."""
    return "".join(c for c in unicodedata.normalize("NFKD", token.lower()) if not unicodedata.combining(c))


def unique(rng, pick, n, tries):
    """Up to n different values of pick() (None: no candidate this time)."""
    seen, out = set(), []
    for _ in range(tries):
        if len(out) == n:
            break
        value = pick()
        if value is not None and tuple(value) not in seen:
            seen.add(tuple(value))
            out.append(value)
    return out


def make_queries(fts, docs, n, rng):
    """Per class, up to n different queries to measure, and up to SPARE more for the warm-up.

    Drawn with rng from the FTS5 vocabulary (and documents, for phrases). A query never repeats:
    Projector caches answers, so a repeated query would measure its cache, not its engine; a
    class with fewer candidates (very common words, on a small corpus) has fewer queries.
    """
    vocab = fts.vocabulary()
    total_docs = len(docs)
    df = dict(vocab)
    words = lambda lo, hi: [t for t, d in vocab if lo <= d <= hi]
    want = n + SPARE
    sample = lambda pool: [[w] for w in rng.sample(pool, min(want, len(pool)))]
    drawn = {
        "rare": sample(words(2, 30)),
        "common": sample(words(max(1, math.ceil(0.01 * total_docs)), max(1, math.floor(0.05 * total_docs)))),
        "very common": sample(words(math.floor(0.40 * total_docs) + 1, total_docs)),
    }

    middling = words(max(1, math.ceil(0.01 * total_docs)), max(1, math.floor(0.10 * total_docs)))

    def pair():
        if len(middling) < 2:
            return None
        a, b = sorted(rng.sample(middling, 2))
        return [a, b] if fts.count({"kind": "terms", "words": [a, b]}) > 0 else None
    drawn["two terms"] = unique(rng, pair, want, 200 * want)

    def phrase():
        texts = [v for v in rng.choice(docs)[1:] if v]
        tokens = [fold(t) for t in WORD.findall(rng.choice(texts))] if texts else []
        if len(tokens) < 2:
            return None
        i = rng.randrange(len(tokens) - 1)
        words_ = tokens[i:i + 2]
        if words_[0] in df and words_[1] in df and fts.count({"kind": "phrase", "words": words_}) > 0:
            return words_
        return None
    drawn["phrase"] = unique(rng, phrase, want, 200 * want)

    prefixable = [(t, d) for t, d in vocab if len(t) >= 4 and t[:3].isalpha()]
    terms, weights = [t for t, _ in prefixable], [d for _, d in prefixable]
    drawn["prefix"] = unique(rng, lambda: [rng.choices(terms, weights)[0][:3]] if terms else None, want, 200 * want)

    kinds = {"two terms": "terms", "phrase": "phrase", "prefix": "prefix"}
    measured, spare = [], []
    for cls in CLASSES:
        if len(drawn[cls]) < n:
            print(f"note: class '{cls}': {len(drawn[cls])} different queries, not {n}", file=sys.stderr)
        for i, words_ in enumerate(drawn[cls]):
            (measured if i < n else spare).append({"class": cls, "kind": kinds.get(cls, "terms"), "words": words_})
    return measured, spare[:WARMUP]


# ---------------------------------------------------------------- running

def run_engine(engine, queries, warmup, order):
    """Run every query once (after the warm-up); per query: total, ids, text, ms (+ tookMs)."""
    for query in warmup:
        engine.search(query)
    results = [None] * len(queries)
    for i in order:
        started = time.perf_counter()
        answer = engine.search(queries[i])
        ms = (time.perf_counter() - started) * 1000
        record = {"total": answer[0], "ids": answer[1], "sent": answer[2], "ms": round(ms, 4)}
        if len(answer) > 3:
            record.update(answer[3])
        results[i] = record
    return results


def agreement(reference, other, scores=None):
    """|top10(other) within top10(reference)| / |top10(reference)|; with `scores` (FTS5's bm25
    of the ids), a hit outside the reference's top 10 that ties its 10th score counts too."""
    a, b = set(reference[:10]), set(other[:10])
    if not a:
        return 1.0 if not b else 0.0
    if scores is None or len(reference) < 10 or reference[9] not in scores:
        return len(a & b) / len(a)
    tenth = scores[reference[9]]
    tied = {i for i in b - a if i in scores and scores[i] <= tenth + 1e-9 * abs(tenth)}
    return min(1.0, len((a & b) | tied) / len(a))


def summarize(queries, results):
    rows = {}
    for cls in CLASSES:
        idx = [i for i, q in enumerate(queries) if q["class"] == cls]
        if not idx:
            continue
        row = {"n": len(idx), "median_hits": statistics.median(results["fts5"][i]["total"] for i in idx)}
        for engine in ENGINES:
            r = [results[engine][i] for i in idx]
            ms = [x["ms"] for x in r]
            row[engine] = {
                "p50": percentile(ms, 50), "p99": percentile(ms, 99),
                "mismatches": sum(1 for x, i in zip(r, idx) if x["total"] != results["fts5"][i]["total"]),
                "top10": statistics.mean(
                    agreement(results["fts5"][i]["ids"], x["ids"], results["fts5"][i].get("scores")) for x, i in zip(r, idx)),
            }
            if engine == "projector":
                took = [x["tookMs"] for x in r]
                row[engine]["took_p50"], row[engine]["took_p99"] = percentile(took, 50), percentile(took, 99)
        rows[cls] = row
    return rows


def markdown(rows, builds, corpus):
    ms = lambda a, b: f"{a:.2f} / {b:.2f} ms"
    lines = ["| class (median hits) | Projector HTTP p50 / p99 | engine tookMs p50 / p99 | FTS5 naive | tantivy | Xapian |",
             "| --- | --- | --- | --- | --- | --- |"]
    for cls, row in rows.items():
        p = row["projector"]
        lines.append(f"| {cls} ({row['median_hits']:g}) | {ms(p['p50'], p['p99'])} | {ms(p['took_p50'], p['took_p99'])} | "
                     + " | ".join(ms(row[e]["p50"], row[e]["p99"]) for e in ["fts5", "tantivy", "xapian"]) + " |")
    lines += ["", "Top-10 agreement with FTS5 naive · totals differing from FTS5's count(*) (of N queries)", "",
              "| class | N | Projector | tantivy | Xapian |", "| --- | --- | --- | --- | --- |"]
    for cls, row in rows.items():
        lines.append(f"| {cls} | {row['n']} | " + " | ".join(
            f"{row[e]['top10']:.2f} · {row[e]['mismatches']}" for e in ["projector", "tantivy", "xapian"]) + " |")
    lines += ["", f"Index builds ({corpus})", "", "| engine | build | size on disk | note |", "| --- | --- | --- | --- |"]
    for b in builds:
        lines.append(f"| {b['engine']} | {b['build']} | {human(b['size'])} | {b['note']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        description="Benchmark Projector's search against SQLite FTS5 (naive), tantivy and Xapian on the same "
                    "documents: latency p50/p99, exact totals and top-10 agreement per query class.",
        epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", required=True, help="NDJSON event file to import")
    parser.add_argument("--spec", required=True, help="search spec (YAML) copied into DIR/projections/")
    parser.add_argument("--binary", required=True, help="the projector release binary")
    parser.add_argument("--workdir", required=True, help="working folder DIR (Projector's state, peer indexes, results.json)")
    parser.add_argument("--keep", action="store_true", help="reuse the Projector store already built in DIR")
    parser.add_argument("--queries", type=int, default=200, help="queries per class (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for drawing and ordering queries (default 1)")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.workdir = os.path.abspath(args.workdir)
    rng = random.Random(args.seed)

    name = spec_name(args.spec)
    projector_times = build_projector(args, name)
    store = live_store(args.workdir, name)
    fields, docs = read_documents(store, name)
    print(f"{len(docs)} documents; text fields and weights: "
          + ", ".join(f"{f} {w:g}" for f, w in fields.items()))

    peers_dir = os.path.join(args.workdir, "peers")
    if not args.keep:
        shutil.rmtree(peers_dir, ignore_errors=True)
    os.makedirs(peers_dir, exist_ok=True)
    fts = Fts5(os.path.join(peers_dir, "fts5.sqlite"), fields, docs)
    print(f"fts5 naive: built in {fts.build_s:.1f} s, {human(fts.size)}")
    tan = Tantivy(os.path.join(peers_dir, "tantivy"), fields, docs)
    print(f"tantivy: built in {tan.build_s:.1f} s, {human(tan.size)}, {tan.segments} segment(s)")
    xap = Xapian(os.path.join(peers_dir, "xapian"), fields, docs)
    print(f"xapian: built in {xap.build_s:.1f} s, {human(xap.size)}")

    queries, warmup = make_queries(fts, docs, args.queries, rng)
    order = list(range(len(queries)))
    rng.shuffle(order)
    print(f"{len(queries)} queries drawn (seed {args.seed})")

    results = {}
    for engine in (fts, tan, xap):
        started = time.perf_counter()
        results[engine.name] = run_engine(engine, queries, warmup, order)
        print(f"{engine.name}: {time.perf_counter() - started:.1f} s")
    server = ProjectorServer(args.binary, args.workdir, name)
    try:
        started = time.perf_counter()
        results["projector"] = run_engine(server, queries, warmup, order)
        print(f"projector (HTTP): {time.perf_counter() - started:.1f} s")
    finally:
        server.stop()

    # FTS5's own bm25 of every engine's top 10, after the timed runs: what tie-aware agreement reads.
    for i, query in enumerate(queries):
        ids = {x for engine in results for x in results[engine][i]["ids"][:10]}
        results["fts5"][i]["scores"] = fts.scores(query, sorted(ids))
    rows = summarize(queries, results)
    t = projector_times
    builds = [
        {"engine": "Projector", "size": size_on_disk(store),
         "build": "reused (--keep)" if t["import_s"] is None else f"import {t['import_s']:.1f} s + index {t['index_s']:.1f} s",
         "note": "store: documents (text + filters) + FTS5 + document sets with impacts and lengths"},
        {"engine": "FTS5 naive", "size": fts.size, "build": f"{fts.build_s:.1f} s", "note": "contentful: holds the text"},
        {"engine": "tantivy", "size": tan.size, "build": f"{tan.build_s:.1f} s",
         "note": f"1 writer thread, {tan.segments} segment(s); only doc_id stored"},
        {"engine": "Xapian", "size": xap.size, "build": f"{xap.build_s:.1f} s", "note": "positions; only doc_id as data"},
    ]
    table = markdown(rows, builds, f"{os.path.basename(args.events)}, {len(docs)} documents")
    print()
    print(table)

    per_query = []
    for i, q in enumerate(queries):
        entry = dict(q)
        entry.update({e: results[e][i] for e in ENGINES})
        per_query.append(entry)
    out = os.path.join(args.workdir, "results.json")
    with open(out, "w", encoding="utf-8") as file:
        json.dump({"events": os.path.abspath(args.events), "spec": os.path.abspath(args.spec), "seed": args.seed,
                   "queries_per_class": args.queries, "documents": len(docs), "fields": fields,
                   "builds": builds, "summary": rows, "queries": per_query}, file, indent=1, ensure_ascii=False)
    print(f"\nraw results: {out}")


if __name__ == "__main__":
    main()
