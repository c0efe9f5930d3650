"""Job events: written as JSON lines, read back incrementally, garbage tolerated."""

from __future__ import annotations

import json

import pytest

from emstudio.core.errors import CancelledError
from emstudio.jobs.cancel import CancelWatch, request_cancel
from emstudio.jobs.events import EventLog, EventReader, EventTail


def test_half_written_line_waits_for_its_end():
    reader = EventReader()
    line = json.dumps({"event": "progress", "done": 1, "total": 4}).encode()
    assert reader.feed(line[:10]) == []
    assert reader.feed(line[10:]) == []  # no newline yet: still incomplete
    (event,) = reader.feed(b"\n")
    assert event["done"] == 1


def test_garbage_and_blank_lines_become_log_events():
    events = EventReader().feed(b'Warning: something\n\n[1, 2]\n{"event": "done"}\n\xff\xfe\n')
    assert [e["event"] for e in events] == ["log", "log", "done", "log"]
    assert events[0]["message"] == "Warning: something" and events[0]["unparsed"]


def test_event_log_writes_and_tail_follows(tmp_path):
    path = tmp_path / "events.jsonl"
    seen = []
    log = EventLog(path, listeners=[seen.append])
    tail = EventTail(path)
    assert tail.poll() == []
    log.progress(0, 10, "start")
    log.metric("val_dice", 1, 0.5)
    log.progress(10, 10, "end")
    log.close()
    events = tail.poll()
    assert [e["event"] for e in events] == ["progress", "metric", "progress"]
    assert events == seen
    assert events[-1]["eta"] == 0 and tail.poll() == []


def test_progress_raises_once_cancel_is_requested(tmp_path):
    log = EventLog(None, check_cancel=CancelWatch(tmp_path).check)
    log.progress(1, 10)
    request_cancel(tmp_path)
    watch = CancelWatch(tmp_path)
    with pytest.raises(CancelledError):
        watch.check()


def test_the_eta_follows_the_pace_of_the_work_not_of_the_set_up(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("emstudio.jobs.events.time.monotonic", lambda: now[0])
    seen: list[dict] = []
    log = EventLog(None, listeners=[seen.append])
    for seconds, done in ((10.0, 1), (12.0, 3), (14.0, 5)):  # 10 s of set-up, then 1 step/s
        now[0] = seconds
        log.progress(done, 11)
    assert [e["eta"] for e in seen] == [None, 8.0, 6.0]  # not 12 * 8 / 3 = 32 s
