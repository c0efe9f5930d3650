"""Words for messages: counted nouns and sizes."""

from __future__ import annotations

from emstudio.core.text import counted, size_text


def test_counted_nouns() -> None:
    assert [counted(1, "object"), counted(2, "object"), counted(0, "mesh", "meshes")] == [
        "1 object", "2 objects", "0 meshes",
    ]  # fmt: skip


def test_sizes_in_the_unit_that_reads_best() -> None:
    assert [size_text(n) for n in (512 * 2**10, 3.25 * 2**20, 1.5 * 2**30)] == [
        "512 KiB", "3.2 MiB", "1.50 GiB",
    ]  # fmt: skip
