#!/usr/bin/env python3
"""Soak: `projector serve --demo` under a mixed load for a while, then the figures of record.

Normal queries on keep-alive connections, hostile queries (past the limits, every script, typo
bait), slow clients that send half a request and stall, appends, and a rebuild every 20 s, all
at once. Reports normal-query latency (p50/p99), answers by status class (no 5xx allowed), and
the server's resident memory (sampled every second).

    swift build -c release --product projector
    python3 Tests/Benchmarks/soak.py --binary .build/release/projector --seconds 60
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

NORMAL = ["vim", "text editor", "python", "library", "compression", "network", "editr", "lib", "game",
          "\"text editor\"", "gtk", "audio", "server", "font", "kernel", "documentation", "xml", "perl module"]
HOSTILE = ["漢" * 512, "漢" * 600, "a" * 512, "a" * 5000, "a " * 40, "OR " * 100, "\"" * 999, "😀" * 300,
           "-" * 500, "((((", "NEAR(", "title:vim", "'; DROP TABLE documents; --", "é" * 500, "zqxjkvbw " * 30,
           "\u0000\u0001", "ﬁ" * 400, "👩‍👩‍👧" * 100]


class Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.normal = []
        self.statuses = {}
        self.errors = []

    def record(self, kind, status, seconds=None):
        with self.lock:
            key = f"{kind} {status // 100}xx"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if kind == "normal" and seconds is not None and status == 200:
                self.normal.append(seconds)


def start(binary, folder, token):
    env = dict(os.environ, PROJECTOR_ADMIN_TOKEN=token)
    env.pop("PROJECTOR_CONFIG", None)
    process = subprocess.Popen([binary, "serve", "--demo", "--port", "0"], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return process, int(found.group(1))
    raise SystemExit("projector serve exited before listening")


def wait_live(port, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the demo projections did not become live")


def querier(port, queries, kind, figures, stop, seed):
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        query = rng.choice(queries)
        path = "/v1/search/packages?" + urllib.parse.urlencode({"q": query, "facet": "section"})
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            figures.record(kind, response.status, time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as error:
            figures.record(kind, 599)
            figures.errors.append(f"{kind}: {error}")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if kind == "hostile":
            time.sleep(0.05)


def slow_clients(port, figures, stop):
    """Connections that send half a request and stall, 100 at a time, replaced as they close."""
    held = []
    while not stop.is_set():
        while len(held) < 100:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                if random.random() < 0.5:
                    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                else:
                    sock.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"str")
                held.append(sock)
            except OSError:
                break
        time.sleep(1)
        alive = []
        for sock in held:
            sock.setblocking(False)
            try:
                # A refusal may be answered before the close: read past it to the end.
                while True:
                    data = sock.recv(65536)
                    if data == b"":
                        raise ConnectionResetError
            except BlockingIOError:
                alive.append(sock)
            except OSError:
                sock.close()
                figures.record("slow-closed", 200)
        held = alive
    for sock in held:
        sock.close()


def appender(port, token, figures, stop):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    number = 0
    while not stop.is_set():
        number += 1
        body = json.dumps({"stream": f"package-soak-{number % 50}", "type": "PackagePublished",
                           "data": {"package": f"soak{number}", "summary": "soak test package", "section": "misc"}})
        try:
            connection.request("POST", "/v1/events", body=body, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            figures.record("append", response.status)
        except (OSError, http.client.HTTPException) as error:
            figures.errors.append(f"append: {error}")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        time.sleep(0.2)


def rebuilder(port, token, figures, stop):
    while not stop.wait(20):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/projections/packages/rebuild", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        figures.record("rebuild", response.status)


def rss_megabytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/projector")
    parser.add_argument("--seconds", type=int, default=60)
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    token = "soak-token"
    with tempfile.TemporaryDirectory() as folder:
        process, port = start(binary, folder, token)
        try:
            wait_live(port)
            figures = Figures()
            stop = threading.Event()
            threads = [threading.Thread(target=querier, args=(port, NORMAL, "normal", figures, stop, seed)) for seed in (1, 2)]
            threads.append(threading.Thread(target=querier, args=(port, HOSTILE, "hostile", figures, stop, 3)))
            threads.append(threading.Thread(target=slow_clients, args=(port, figures, stop)))
            threads.append(threading.Thread(target=appender, args=(port, token, figures, stop)))
            threads.append(threading.Thread(target=rebuilder, args=(port, token, figures, stop)))
            rss = [rss_megabytes(process.pid)]
            for thread in threads:
                thread.start()
            deadline = time.time() + arguments.seconds
            while time.time() < deadline:
                time.sleep(1)
                rss.append(rss_megabytes(process.pid))
            stop.set()
            for thread in threads:
                thread.join(timeout=40)
            latencies = sorted(figures.normal)
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
            five = sum(count for key, count in figures.statuses.items() if key.endswith("5xx"))
            print(f"soak {arguments.seconds} s: {len(latencies)} normal queries, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            print("answers: " + ", ".join(f"{key} {count}" for key, count in sorted(figures.statuses.items())))
            print(f"RSS: {rss[0]:.0f} MB at start, {max(rss):.0f} MB peak, {rss[-1]:.0f} MB at the end; every 10 s: "
                  + " ".join(f"{value:.0f}" for value in rss[::10]))
            for error in figures.errors[:5]:
                print("error:", error)
            ok = p99 < 50 and five == 0
            print("targets (normal p99 < 50 ms, no 5xx):", "met" if ok else "NOT met")
            sys.exit(0 if ok else 1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
