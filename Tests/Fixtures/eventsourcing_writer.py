"""Writes events with the Python `eventsourcing` library (from PyPI), as an application would.

Used by Projector's tests of reading eventsourcing stores in place. Dogs are registered and
taught tricks by several threads at once; the script prints, as JSON, what a projection of
the events must hold: {"dogs": {"<uuid hex>": {"name": ..., "tricks": [...], "version": n}}}.

    python eventsourcing_writer.py sqlite PATH PREFIX COUNT
    python eventsourcing_writer.py postgres HOST PORT USER DBNAME SCHEMA PREFIX COUNT
"""

import json
import os
import sys
import threading

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name):
        self.name = name
        self.tricks = []

    @event("TrickAdded")
    def add_trick(self, trick):
        self.tricks.append(trick)


class DogSchool(Application):
    pass


TRICKS = ["roll over", "play dead", "fetch", "sit", "paw", "spin", "l'écoute", "\"quote\""]


def main(argv):
    if argv[1] == "sqlite":
        os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        os.environ["SQLITE_DBNAME"] = argv[2]
        prefix, count = argv[3], int(argv[4])
    else:
        os.environ["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
        os.environ["POSTGRES_HOST"] = argv[2]
        os.environ["POSTGRES_PORT"] = argv[3]
        os.environ["POSTGRES_USER"] = argv[4]
        os.environ["POSTGRES_PASSWORD"] = ""
        os.environ["POSTGRES_DBNAME"] = argv[5]
        os.environ["POSTGRES_SCHEMA"] = argv[6]
        prefix, count = argv[7], int(argv[8])
    school = DogSchool()
    expected = {}
    lock = threading.Lock()

    def work(worker):
        for n in range(worker, count, 4):
            dog = Dog(f"{prefix}-{n}")
            for k in range(n % 5):
                dog.add_trick(TRICKS[(n + k) % len(TRICKS)])
            school.save(dog)
            with lock:
                expected[dog.id.hex] = {"name": dog.name, "tricks": dog.tricks, "version": dog.version}

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"dogs": expected}))


if __name__ == "__main__":
    main(sys.argv)
