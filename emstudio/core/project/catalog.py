"""The project catalog: one SQLite file (WAL) listing every artefact and job."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from emstudio.core.errors import NameConflictError, NotFoundError, ProjectError, SchemaTooNewError
from emstudio.core.project import schema
from emstudio.core.project.records import JobRecord, MeshSetRecord, ModelRecord, VolumeRecord

CATALOG_FILE = "project.sqlite"
BUSY_TIMEOUT_MS = 30_000
UNUSABLE_IN_NAMES = "/\\:"  # path separators; ":" splits PROJECT:NAME


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def name_taken(what: str, name: str, choose: str) -> NameConflictError:
    """The error for a ``what`` (volume, model...) whose name is in use; ``choose``: the way out."""
    return NameConflictError(f"A {what} named {name!r} already exists in this project: {choose}.")


def free_name(taken: Callable[[str], bool], base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken yet."""
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name


def checked_name(
    name: str | None, what: str, option: str, taken: Callable[[str], bool], choose: str
) -> str:
    """``name`` without surrounding blanks; NameConflictError when it is empty (give ``option``:
    a command-line option, or "name" in the app), holds a path separator, a colon or a control
    character, or is ``taken``."""
    name = (name or "").strip()
    if not name:
        give = f": give {option} NAME" if option.startswith("--") else ""
        raise NameConflictError(f"A {what} needs a name{give}.")
    unusable = sorted({c for c in name if c in UNUSABLE_IN_NAMES or not c.isprintable()})
    if unusable:
        raise NameConflictError(
            f"{name!r}: a {what} name cannot hold {' '.join(map(repr, unusable))} (names become "
            f"file names, and PROJECT:NAME refers to a volume); give another {option}."
        )
    if taken(name):
        raise name_taken(what, name, choose)
    return name


class Catalog:
    """Typed access to ``project.sqlite``. Every write is one transaction."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                self._db = self._open_to_read()
            else:
                self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            self._db.row_factory = sqlite3.Row
            self._db.isolation_level = None  # explicit BEGIN/COMMIT below
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not readonly:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{self.path}: the project catalog cannot be read ({exc}).") from exc

    def _open_to_read(self) -> sqlite3.Connection:
        """A read-only connection; where reading needs a write SQLite cannot make (its shared
        memory file, on a full disk or a read-only mount), the file as it stands (``immutable``:
        what a crash left unmerged in the write-ahead log is not seen), so that a project can
        still be looked at and exported off a full disk."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            db.close()
            return sqlite3.connect(f"{uri}&immutable=1", uri=True)
        return db

    def close(self) -> None:
        self._db.close()

    # -- schema -----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, new: bool = False) -> int:
        """Bring the schema to this emstudio's version; returns the version found before.

        Only a ``new`` catalog may start empty (version 0): an existing project's catalog that
        is empty was damaged (truncated by a crash or a full disk), and building a fresh one
        there would take its volumes for leftovers."""
        found = self._refuse_newer()
        if found == 0 and not new:
            raise self._damaged()
        if found < schema.SCHEMA_VERSION and found > 0:
            self._backup(self.path.with_name(f"{CATALOG_FILE}.bak-v{found}"))
        for version in range(found, schema.SCHEMA_VERSION):
            with self.transaction() as db:
                for statement in schema.MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")
        return found

    def check_version(self) -> None:
        """For read-only use: refuse a catalog this emstudio does not understand."""
        found = self._refuse_newer()
        if found == 0:
            raise self._damaged()
        if found != schema.SCHEMA_VERSION:
            raise ProjectError(
                f"{self.path}: catalog schema version {found} is older than this emstudio's "
                f"({schema.SCHEMA_VERSION}); open the project once for writing to upgrade it."
            )

    def _refuse_newer(self) -> int:
        found = self.schema_version
        if found > schema.SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{self.path}: this project was saved by a newer emstudio (catalog schema "
                f"version {found}; this emstudio knows up to {schema.SCHEMA_VERSION}). "
                "Update emstudio to open it. The project was not changed."
            )
        return found

    def _damaged(self) -> ProjectError:
        backups = sorted(self.path.parent.glob(f"{self.path.name}.bak-v*"))
        hint = f" ({', '.join(b.name for b in backups)} is a backup)" if backups else ""
        return ProjectError(
            f"{self.path}: the project catalog is empty: the file was damaged, perhaps by a "
            f"crash or a full disk. No data were touched. Put back {self.path.name} from a "
            f"backup of the project folder{hint}."
        )

    def _backup(self, target: Path) -> None:
        dest = sqlite3.connect(target)
        try:
            self._db.backup(dest)
        finally:
            dest.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (retries a busy start)."""
        for attempt in range(50):
            try:
                self._db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- key/value metadata ---------------------------------------------------------------------
    def set_meta(self, key: str, value: object) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def get_meta(self, key: str, default: object = None) -> object:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- shared queries -----------------------------------------------------------------------
    def _rows(self, table: str, column: str = "", value: object = None) -> list[sqlite3.Row]:
        """Rows of ``table`` in insertion order; those where ``column`` equals ``value`` when
        both are given."""
        query, args = f"SELECT * FROM {table}", ()
        if column and value:
            query, args = f"{query} WHERE {column} = ?", (value,)
        return self._db.execute(query + " ORDER BY rowid", args).fetchall()

    def _row(self, table: str, column: str, value: object) -> sqlite3.Row | None:
        return self._db.execute(f"SELECT * FROM {table} WHERE {column} = ?", (value,)).fetchone()

    def _named(self, table: str, name: str, what: str) -> sqlite3.Row:
        """The row named ``name``, or NotFoundError listing the ``what``s there are."""
        row = self._row(table, "name", name)
        if row is None:
            known = ", ".join(r["name"] for r in self._rows(table)) or "none"
            raise NotFoundError(f"No {what} named {name!r} in this project ({what}s: {known}).")
        return row

    def _exists(self, table: str, column: str, value: object) -> bool:
        query = f"SELECT 1 FROM {table} WHERE {column} = ?"
        return self._db.execute(query, (value,)).fetchone() is not None

    @contextmanager
    def _inserting(self, what: str, name: str, choose: str) -> Iterator[sqlite3.Connection]:
        """A transaction that turns a duplicate name into NameConflictError."""
        try:
            with self.transaction() as db:
                yield db
        except sqlite3.IntegrityError as exc:
            if "name" in str(exc):
                raise name_taken(what, name, choose) from None
            raise

    # -- volumes ------------------------------------------------------------------------------
    def add_volume(self, record: VolumeRecord) -> None:
        row = record.to_row()
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._inserting("volume", record.name, "choose another name") as db:
            db.execute(f"INSERT INTO volumes ({columns}) VALUES ({marks})", tuple(row.values()))

    def volumes(self, kind: str | None = None) -> list[VolumeRecord]:
        return [VolumeRecord.from_row(r) for r in self._rows("volumes", "kind", kind)]

    def volume(self, name: str) -> VolumeRecord:
        """The volume named ``name``; where none is, but a prediction set is, a NotFoundError
        naming its maps."""
        try:
            return VolumeRecord.from_row(self._named("volumes", name, "volume"))
        except NotFoundError:
            maps = [
                v.name for v in self.volumes("prediction") if v.attrs.get("prediction_set") == name
            ]
            if not maps:
                raise
            raise NotFoundError(
                f"{name!r} is a prediction set, not one volume: name one of its maps, "
                f"{', '.join(map(repr, maps))}."
            ) from None

    def volume_paths(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT path FROM volumes")}

    def has_volume_name(self, name: str) -> bool:
        return self._exists("volumes", "name", name)

    # -- models -------------------------------------------------------------------------------
    def models(self) -> list[ModelRecord]:
        return [ModelRecord.from_row(r) for r in self._rows("models")]

    def add_model(self, record: ModelRecord) -> None:
        with self._inserting("model", record.name, "choose another name") as db:
            db.execute(
                "INSERT INTO models (id, name, path, card, provenance, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.path,
                    json.dumps(record.card),
                    json.dumps(record.provenance),
                    record.created_at or utc_now(),
                ),
            )

    def delete_model_row(self, model_id: str) -> None:
        """Remove a model's row; its files are the caller's (``project.manage``)."""
        with self.transaction() as db:
            db.execute("DELETE FROM models WHERE id = ?", (model_id,))

    def model(self, name: str) -> ModelRecord:
        return ModelRecord.from_row(self._named("models", name, "model"))

    def has_model_name(self, name: str) -> bool:
        return self._exists("models", "name", name)

    # -- jobs ---------------------------------------------------------------------------------
    def add_job(self, job_id: str, kind: str, spec: dict, status: str = "queued") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, status, spec, created_at) VALUES (?, ?, ?, ?, ?)",
                (job_id, kind, status, json.dumps(spec), utc_now()),
            )

    def set_job_status(
        self,
        job_id: str,
        status: str,
        message: str | None = None,
        pid: int | None = None,
        outputs: dict | None = None,
    ) -> None:
        now = utc_now()
        with self.transaction() as db:
            if status == "running":
                db.execute(
                    "UPDATE jobs SET status = ?, started_at = ?, pid = ? WHERE id = ?",
                    (status, now, pid, job_id),
                )
            else:
                db.execute(
                    "UPDATE jobs SET status = ?, finished_at = ?, message = ?, outputs = ? "
                    "WHERE id = ?",
                    (status, now, message, json.dumps(outputs) if outputs else None, job_id),
                )

    def set_job_device(self, job_id: str, device: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET device = ? WHERE id = ?", (device, job_id))

    def jobs(self, status: str | None = None) -> list[JobRecord]:
        return [JobRecord.from_row(r) for r in self._rows("jobs", "status", status)]

    def has_job(self, job_id: str) -> bool:
        return self._exists("jobs", "id", job_id)

    def job(self, job_id: str) -> JobRecord:
        row = self._row("jobs", "id", job_id)
        if row is None:
            raise NotFoundError(f"No job {job_id!r} in this project.")
        return JobRecord.from_row(row)

    # -- changing volumes (the GUI's project panel and label editor) ---------------------------
    def volume_by_id(self, volume_id: str) -> VolumeRecord:
        row = self._row("volumes", "id", volume_id)
        if row is None:
            raise NotFoundError(f"No volume with id {volume_id!r} in this project.")
        return VolumeRecord.from_row(row)

    def update_volume_attrs(self, volume_id: str, attrs: dict) -> None:
        """Replace a volume's attrs (kind-specific JSON: classes, labelled slices...)."""
        with self.transaction() as db:
            found = db.execute(
                "UPDATE volumes SET attrs = ? WHERE id = ?", (json.dumps(attrs), volume_id)
            ).rowcount
        if not found:
            raise NotFoundError(f"No volume with id {volume_id!r} in this project.")

    def rename_volume(self, volume_id: str, name: str) -> None:
        try:
            with self.transaction() as db:
                db.execute("UPDATE volumes SET name = ? WHERE id = ?", (name, volume_id))
        except sqlite3.IntegrityError:
            raise name_taken("volume", name, "choose another name") from None

    def volume_dependents(self, volume_id: str) -> list[str]:
        """Names of the volumes and mesh sets made from or belonging to this volume."""
        volumes = self._db.execute("SELECT name FROM volumes WHERE image_id = ?", (volume_id,))
        meshes = self._db.execute("SELECT name FROM meshes WHERE segmentation_id = ?", (volume_id,))
        return [r[0] for r in volumes.fetchall()] + [r[0] for r in meshes.fetchall()]

    def delete_volume_row(self, volume_id: str) -> None:
        """Remove a volume's row; its files are the caller's (``project.manage.delete_volume``)."""
        dependents = self.volume_dependents(volume_id)
        if dependents:
            raise ProjectError(
                f"Other items belong to this volume: {', '.join(dependents)}. Delete those first."
            )
        with self.transaction() as db:
            db.execute("DELETE FROM volumes WHERE id = ?", (volume_id,))

    # -- mesh sets ------------------------------------------------------------------------------
    def add_mesh_set(self, record: MeshSetRecord) -> None:
        row = record.to_row()
        marks = ", ".join("?" for _ in row)
        with self._inserting("mesh set", record.name, "choose another name") as db:
            db.execute(
                f"INSERT INTO meshes ({', '.join(row)}) VALUES ({marks})", tuple(row.values())
            )

    def delete_mesh_set_row(self, mesh_set_id: str) -> None:
        """Remove a mesh set's row; its files are the caller's (``project.manage``)."""
        with self.transaction() as db:
            db.execute("DELETE FROM meshes WHERE id = ?", (mesh_set_id,))

    def mesh_set_records(self) -> list[MeshSetRecord]:
        return [MeshSetRecord.from_row(r) for r in self._rows("meshes")]

    def mesh_set(self, name: str) -> MeshSetRecord:
        return MeshSetRecord.from_row(self._named("meshes", name, "mesh set"))

    def has_mesh_set_name(self, name: str) -> bool:
        return self._exists("meshes", "name", name)
