"""Z,Y,X values on the command line: sizes (positive numbers) and voxel indices (0 or more)."""

from __future__ import annotations

import re

import pytest

from emstudio.cli.commands._common import ArgumentValueError, one_line, parse_triple
from emstudio.cli.commands.ui import parse_slice


def test_sizes_are_three_positive_numbers():
    assert parse_triple("40, 8,8", "--voxel-size") == [40.0, 8.0, 8.0]
    assert parse_triple("4,64,64", "--block", int) == [4, 64, 64]
    assert parse_triple(None, "--block", int) is None
    for bad in ("0,8,8", "8,8", "a,8,8", "1.5,8,8", "-4,8,8"):
        message = f"--block must be three positive numbers Z,Y,X, got {bad!r}."
        with pytest.raises(ArgumentValueError, match=re.escape(message)):
            parse_triple(bad, "--block", int)
    for bad in ("nan,8,8", "inf,8,8", "8,-inf,8"):  # float() takes these
        with pytest.raises(ArgumentValueError, match="three positive numbers"):
            parse_triple(bad, "--voxel-size")


def test_slice_is_three_voxel_indices():
    assert parse_slice("0, 5,7") == (0, 5, 7)
    assert parse_slice(None) is None
    for bad in ("-1,2,3", "1,2", "1,2,x"):
        message = f"--slice must be three voxel indices Z,Y,X (0 or more), got {bad!r}."
        with pytest.raises(ArgumentValueError, match=re.escape(message)):
            parse_slice(bad)


def test_a_job_message_keeps_to_its_line_in_listings():
    assert one_line("failed:\n  line one\n\tline two ") == "failed: line one line two"
