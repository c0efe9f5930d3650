"""Progress helpers shared by the CLI, the jobs and the GUI."""

from __future__ import annotations

import pytest

from emstudio.core.progress import describe_duration, scaled


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "under 10 s"),
        (10, "about 10 s"),
        (41, "about 50 s"),
        (600, "about 10 min"),
        (10568, "about 2.9 h"),
    ],
)
def test_durations_read_as_a_person_says_them(seconds, words):
    assert describe_duration(seconds) == words


def test_a_sub_task_reports_its_share_of_the_whole():
    seen = []
    report = scaled(lambda done, total, message: seen.append((done, total)), 50, 40, 100)
    report(1, 2, "")
    assert seen == [(70, 100)]
