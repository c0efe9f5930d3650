"""Errors meant for a person: say what is wrong and what to do. The CLI prints them and exits 2."""

from __future__ import annotations

import errno

# what the machine, not emstudio, gets wrong: a read-only place, no permission, a full disk
ENVIRONMENT_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


class EmstudioError(Exception):
    """Base of every error whose message is shown to a user as is (no traceback)."""


class InputFileError(EmstudioError):
    """A file or folder given by the user cannot be used (missing, unreadable, wrong content)."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # crosses to and from child processes
        return type(self), (self.path, self.problem)


class VoxelSizeError(EmstudioError, ValueError):
    """A voxel size given by a person is not three positive, finite numbers of nm."""


class ProjectError(EmstudioError):
    """The project folder is missing, damaged, or cannot be used right now."""


class DamagedVolumeError(ProjectError):
    """A stored volume's chunk file is missing, cut short or unreadable."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(
            f"{path}: {problem}: this volume's data is damaged (an interrupted copy?). Restore "
            "the project folder from a backup, or delete the volume and import it again."
        )


class ProjectLockedError(ProjectError):
    """Another process holds the project open for writing."""


class SchemaTooNewError(ProjectError):
    """The project was written by a newer emstudio than this one."""


class NameConflictError(EmstudioError):
    """An artefact with this name already exists in the project."""


class NotFoundError(EmstudioError):
    """A named artefact (volume, label set, model, job) does not exist in the project."""


class DestinationError(EmstudioError):
    """An output location cannot be written (read-only, full, inside the project...)."""


class CancelledError(EmstudioError):
    """The user cancelled the operation; its partial output has been removed."""


def environment_problem(exc: BaseException, writing_into: object = None) -> str | None:
    """A message for a person when ``exc`` is the machine refusing a file (read-only, no
    permission, disk full), naming the file, or else ``writing_into`` (the folder being
    written, where known); None for anything else."""
    if not isinstance(exc, OSError) or exc.errno not in ENVIRONMENT_ERRNOS:
        return None
    where = exc.filename or writing_into
    message = f"{where}: {exc.strerror or exc}." if where else f"{exc.strerror or exc}."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        message += " Free some space on that disk, then run it again."
    return message
