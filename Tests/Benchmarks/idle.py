#!/usr/bin/env python3
"""Idle cost and wake-up latency of `projector serve --demo` (or `projector run`).

With nothing appended, the server's CPU time over a window, as a share of one core (from
/proc/PID/stat). Then appends from another process (`projector append`, one process each) and,
for each, the time from the append's commit until the packages index has applied it, seen
through read-your-writes (`minPosition` + `waitMs`).

    swift build -c release --product projector
    python3 Tests/Benchmarks/idle.py --binary .build/release/projector
"""
import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/projector")
    parser.add_argument("--idle-seconds", type=int, default=30)
    parser.add_argument("--appends", type=int, default=200)
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ)
        env.pop("PROJECTOR_CONFIG", None)
        server = subprocess.Popen([binary, "serve", "--demo", "--port", "0"], cwd=folder, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in server.stderr:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            deadline = time.time() + 300
            while time.time() < deadline:
                connection.request("GET", "/health")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    break
                time.sleep(0.5)
            time.sleep(3)  # let the catch-up's last commits and checkpoints settle
            before, started = cpu_seconds(server.pid), time.time()
            time.sleep(arguments.idle_seconds)
            share = (cpu_seconds(server.pid) - before) / (time.time() - started) * 100
            print(f"idle: {share:.2f}% of a core over {arguments.idle_seconds} s")

            latencies = []
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # the idle one was closed
            for number in range(arguments.appends):
                result = subprocess.run([binary, "append", f"idle-{number}", "Pinged", "{}"], cwd=folder, env=env,
                                        capture_output=True, text=True, check=True)
                committed = time.perf_counter()
                position = json.loads(result.stdout)["position"]
                connection.request("GET", f"/v1/search/packages?q=ping&minPosition={position}&waitMs=5000")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"append {number}: status {response.status}")
                latencies.append((time.perf_counter() - committed) * 1000)
            latencies.sort()
            p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
            print(f"append from another process to applied: p50 {statistics.median(latencies):.1f} ms, "
                  f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms over {len(latencies)}")
            print("targets (idle < 0.5% of a core, p99 < 50 ms):", "met" if share < 0.5 and p99 < 50 else "NOT met")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
