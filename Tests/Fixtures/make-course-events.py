#!/usr/bin/env python3
"""Writes the bundled course-platform sample (Sources/ProjectorHost/Resources/course-events.ndjson).

A small, deterministic learning platform: students register (with an email), enrol on courses,
complete lessons, some finish, some change their email. Nobody asked "how long do students take
on each course?" when these events were designed; the course-durations example spec answers it.
Ids are fixed (uuid5), so importing the file twice adds nothing.

    python3 Tests/Fixtures/make-course-events.py > Sources/ProjectorHost/Resources/course-events.ndjson
"""
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

NAMESPACE = uuid.UUID("6f0c1e1a-3d2b-4c55-9a7e-2a8d7f3c9b10")
COURSES = {  # course id: (title, lessons, typical days per lesson)
    "swift-basics": ("Swift Basics", 8, 1.5),
    "sql-for-analysts": ("SQL for Analysts", 6, 2.0),
    "event-sourcing": ("Event Sourcing in Practice", 10, 2.5),
    "search-engines": ("Building Search Engines", 7, 3.0),
    "postgres-ops": ("PostgreSQL Operations", 5, 4.0),
}
FIRST = ["Ada", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia",
         "Oskar", "Pia", "Quinn", "Rui", "Sam", "Tove", "Uma", "Vik", "Wen", "Xia", "Yara", "Zed"]
LAST = ["Okafor", "Lind", "Wei", "Novak", "Haddad", "Silva", "Berg", "Kato", "Moreau", "Ito", "Ruiz", "Shah"]

rng = random.Random(20261127)
events = []


def add(stream, kind, data, when):
    events.append({"stream": stream, "type": kind, "data": data, "time": when})


start = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
for number in range(60):
    student = f"student-{number + 1:03d}"
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"{name.lower().replace(' ', '.')}{number + 1}@example.org"
    registered = start + timedelta(days=rng.uniform(0, 200), minutes=rng.randint(0, 600))
    add(student, "StudentRegistered", {"student": student, "name": name, "email": email}, registered)
    if rng.random() < 0.15:
        changed = registered + timedelta(days=rng.uniform(5, 60))
        email = f"{name.lower().split()[0]}{number + 1}@mail.example.com"
        add(student, "StudentEmailChanged", {"student": student, "email": email}, changed)
    for course in rng.sample(sorted(COURSES), rng.randint(1, 3)):
        title, lessons, pace = COURSES[course]
        stream = f"enrolment-{student}-{course}"
        enrolled = registered + timedelta(days=rng.uniform(0, 40), hours=rng.randint(0, 12))
        add(stream, "StudentEnrolled", {"student": student, "course": course, "title": title}, enrolled)
        when = enrolled
        finishes = rng.random() < 0.7
        done = lessons if finishes else rng.randint(0, lessons - 1)
        for lesson in range(1, done + 1):
            when += timedelta(days=rng.expovariate(1 / pace), minutes=rng.randint(5, 90))
            add(stream, "LessonCompleted", {"student": student, "course": course, "lesson": lesson,
                                            "minutes": rng.randint(15, 95)}, when)
        if finishes:
            when += timedelta(hours=rng.randint(1, 48))
            add(stream, "CourseCompleted", {"student": student, "course": course, "lessons": lessons}, when)

events.sort(key=lambda event: event["time"])
for event in events:
    line = {
        "id": str(uuid.uuid5(NAMESPACE, f"{event['stream']}|{event['type']}|{json.dumps(event['data'], sort_keys=True)}")),
        "stream": event["stream"],
        "type": event["type"],
        "data": event["data"],
        "metadata": {"producer": "make-course-events.py"},
        "time": event["time"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{event['time'].microsecond // 1000:03d}Z",
    }
    print(json.dumps(line, separators=(",", ":")))
