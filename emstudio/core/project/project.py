"""A project folder (``*.emproj``): catalog, arrays, models, meshes, jobs; see DESIGN.md."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from emstudio import __version__
from emstudio.core.errors import DestinationError, ProjectError
from emstudio.core.project import atomic
from emstudio.core.project.catalog import CATALOG_FILE, Catalog, utc_now
from emstudio.core.project.lock import ProjectLock
from emstudio.core.project.records import JobRecord, VolumeRecord

SUBFOLDERS = ("data", "models", "meshes", "jobs")
CANCEL_REQUEST_FILE = "cancel"  # jobs/<id>/cancel: the user asked this job to stop
PROJECT_SUFFIX = ".emproj"


def project_around(folder: Path) -> Path | None:
    """The project folder that ``folder`` is, or lies in (links resolved), if any."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / CATALOG_FILE).is_file():
            return candidate
    return None


class Project:
    """An open project. Open for writing, it holds the project lock until ``close()``.

    On every open for writing, leftovers of an interrupted operation are removed: temporary
    ``.tmp-*`` entries and arrays that no catalog row references, and jobs left "running" by a
    dead process are marked "interrupted".
    """

    def __init__(self, path: Path, catalog: Catalog, lock: ProjectLock | None) -> None:
        self.path = path
        self.catalog = catalog
        self._lock = lock
        self.job_id: str | None = None  # set while a job runs: its staging folders carry it

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, name: str | None = None) -> Project:
        """Create a new empty project folder (built under a temporary name, then renamed)."""
        path = Path(path).absolute()
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise DestinationError(f"{path}: already exists and is not an empty folder.")
        parent = path.parent
        if not parent.is_dir():
            raise DestinationError(f"{parent}: folder does not exist.")
        enclosing = project_around(parent)
        if enclosing is not None:
            raise DestinationError(
                f"{path}: is inside the project {enclosing}, whose folders emstudio manages (it "
                "would remove what it does not know there); choose a place outside it."
            )
        if not os.access(parent, os.W_OK):
            raise DestinationError(f"{parent}: folder is not writable.")
        staging = parent / f"{atomic.TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            for sub in SUBFOLDERS:
                (staging / sub).mkdir()
            catalog = Catalog(staging / CATALOG_FILE)
            try:
                catalog.migrate(new=True)
                catalog.set_meta("name", name or path.name.removesuffix(PROJECT_SUFFIX))
                catalog.set_meta("created_at", utc_now())
                catalog.set_meta("created_by", f"emstudio {__version__}")
                catalog._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                catalog.close()
            atomic.fsync_tree(staging)
            if path.exists():
                path.rmdir()
            os.replace(staging, path)
            atomic.fsync_dir(parent)
        except OSError as exc:
            atomic.remove_tree(staging)
            raise DestinationError(f"{path}: cannot create the project ({exc.strerror}).") from exc
        except BaseException:
            atomic.remove_tree(staging)
            raise
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path, mode: str = "write") -> Project:
        """Open a project; ``mode="read"`` takes no lock and never changes anything."""
        path = Path(path).absolute()
        if not (path / CATALOG_FILE).is_file():
            reason = "does not exist" if not path.exists() else "is not an emstudio project"
            raise ProjectError(
                f"{path}: {reason} (a project is a folder, usually named *.emproj, holding "
                f"{CATALOG_FILE}; create one with New project or `emstudio project create`)."
            )
        if mode == "read":
            catalog = Catalog(path / CATALOG_FILE, readonly=True)
            try:
                catalog.check_version()
            except BaseException:
                catalog.close()
                raise
            return cls(path, catalog, None)
        if mode != "write":
            raise ValueError(f"mode must be 'read' or 'write', not {mode!r}")
        if not os.access(path, os.W_OK):
            raise ProjectError(f"{path}: the project folder is read-only; open it read-only.")
        lock = ProjectLock(path)
        owner = lock.acquire()
        try:
            catalog = Catalog(path / CATALOG_FILE)
            catalog.migrate()
            project = cls(path, catalog, lock)
            if owner:  # a job process of the holder must not clean up its siblings' work
                project.recover()
        except BaseException:
            lock.release()
            raise
        return project

    def close(self) -> None:
        self.catalog.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties -----------------------------------------------------------------------------
    def job_environment(self) -> dict[str, str]:
        """Environment entries for a job process started while this project is held open:
        the child may then open the project for writing (it shares the holder's lock)."""
        return self._lock.child_environment() if self._lock else {}

    @property
    def name(self) -> str:
        return str(self.catalog.get_meta("name", self.path.name))

    @property
    def writable(self) -> bool:
        return not self.catalog.readonly

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def jobs_dir(self) -> Path:
        return self.path / "jobs"

    def resolve(self, relative: str) -> Path:
        return self.path / relative

    # -- artefacts ------------------------------------------------------------------------------
    def staging_path(self, suffix: str = ".zarr") -> Path:
        """A fresh temporary location under data/ for an artefact being written.

        Inside a job it is named after the job (``.tmp-<job>-<uuid>``), so whoever sees the job
        die can remove exactly its leftovers while other jobs keep writing.
        """
        owner = f"{self.job_id}-" if self.job_id else ""
        return self.data_dir / f"{atomic.TMP_PREFIX}{owner}{uuid.uuid4().hex}{suffix}"

    def commit_volume(self, staging: Path, record: VolumeRecord) -> VolumeRecord:
        """Move a complete, durable store into place, then register it (catalog row last).

        ``staging`` must already be on disk (``VolumeWriter.finalize`` syncs what it wrote).
        """
        self._require_writable()
        final = self.data_dir / f"{record.id}.zarr"
        os.replace(staging, final)
        atomic.fsync_dir(self.data_dir)
        record.path = final.relative_to(self.path).as_posix()
        if not record.created_at:
            record.created_at = utc_now()
        try:
            self.catalog.add_volume(record)
        except BaseException:
            atomic.remove_tree(final)
            raise
        return record

    def recover(self) -> list[str]:
        """Remove what an interrupted operation left behind; returns what was cleaned, for logs.

        Jobs whose process is gone are marked interrupted. Work of jobs still running (started
        by an earlier session of the app and kept running) is left alone.
        """
        cleaned: list[str] = []
        alive: set[str] = set()
        for job in self.catalog.jobs("running"):
            if job.pid is not None and _process_alive(job.pid):
                alive.add(job.id)
                continue
            if (self.jobs_dir / job.id / CANCEL_REQUEST_FILE).exists():
                status, why = "cancelled", "Cancelled by the user."
            else:
                status, why = "interrupted", "The process running this job ended unexpectedly."
            self.catalog.set_job_status(job.id, status, why)
            cleaned.append(f"job {job.id} marked {status}")
        referenced = self.catalog.volume_paths()
        for folder in (self.path, self.data_dir, self.path / "models", self.path / "meshes"):
            for entry in folder.iterdir() if folder.is_dir() else ():
                rel = entry.relative_to(self.path).as_posix()
                if entry.name.startswith(atomic.TMP_PREFIX):
                    owner = entry.name[len(atomic.TMP_PREFIX) :].split("-", 1)[0]
                    stale = owner not in alive
                else:  # an array no catalog row names (only safe to judge when no job runs)
                    stale = folder == self.data_dir and rel not in referenced and not alive
                if stale:
                    atomic.remove_tree(entry)
                    cleaned.append(rel)
        return cleaned

    def remove_job_leftovers(self, job_id: str) -> list[str]:
        """Delete the staging folders of one (dead) job; returns what was removed."""
        removed = []
        for folder in (self.data_dir, self.path / "models", self.path / "meshes"):
            for entry in folder.glob(f"{atomic.TMP_PREFIX}{job_id}-*") if folder.is_dir() else ():
                atomic.remove_tree(entry)
                removed.append(entry.relative_to(self.path).as_posix())
        return removed

    def _require_writable(self) -> None:
        if not self.writable:
            raise ProjectError(f"{self.path}: the project is open read-only.")


def job_as_seen(job: JobRecord) -> dict[str, Any]:
    """A job's row for a listing: one marked running whose process has ended shows as
    interrupted (so recorded the next time the project is opened for writing)."""
    row = job.to_json()
    if job.status == "running" and job.pid is not None and not _process_alive(job.pid):
        row["status"] = "interrupted"
        row["message"] = "The process running this job has ended without a word."
    return row


def _process_alive(pid: int) -> bool:
    """Best effort: does a process with this pid exist on this machine?"""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return True
    with contextlib.suppress(psutil.Error):
        return psutil.pid_exists(pid)
    return False
