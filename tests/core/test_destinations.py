"""Where an output the user names may go: a new file or a new or empty folder, outside the
project."""

from __future__ import annotations

import pytest

from emstudio.core.destinations import check_new_file, check_new_folder
from emstudio.core.errors import DestinationError


def test_a_new_or_empty_folder_outside_the_project_is_taken(tmp_path) -> None:
    project = tmp_path / "p.emproj"
    (project / "data").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    (tmp_path / "file").write_text("x")
    assert check_new_folder(tmp_path / "new", project) == tmp_path / "new"
    assert check_new_folder(tmp_path / "empty", project) == tmp_path / "empty"
    for out, said in (
        (project / "data" / "out", "is inside the project folder, which emstudio manages"),
        (tmp_path / "full", "exists and is not an empty folder"),
        (tmp_path / "file", "is a file; choose a new or empty folder"),
        (tmp_path / "no" / "out", "folder does not exist"),
    ):
        with pytest.raises(DestinationError, match=said):
            check_new_folder(out, project)


def test_a_new_file_outside_the_project_is_taken(tmp_path) -> None:
    project = tmp_path / "p.emproj"
    project.mkdir()
    (tmp_path / "taken.csv").write_text("x")
    assert check_new_file(tmp_path / "m.csv", project) == tmp_path / "m.csv"
    with pytest.raises(DestinationError, match="is inside the project folder"):
        check_new_file(project / "m.csv", project)
    with pytest.raises(DestinationError, match="already exists; choose another name"):
        check_new_file(tmp_path / "taken.csv", project)
