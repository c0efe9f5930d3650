"""The catalog's SQLite schema as an ordered list of migrations.

The schema version is SQLite's ``PRAGMA user_version``.
``MIGRATIONS[i]`` takes a catalog from schema version ``i`` to ``i + 1``; version 0 is an empty
file. Never edit a released migration: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the first catalog
    [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,  -- queued|running|done|failed|cancelled|interrupted
            spec TEXT NOT NULL,            -- JSON job spec
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            pid INTEGER,
            message TEXT                   -- for a person: error, cancellation reason, summary
        )""",
        """CREATE TABLE volumes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,            -- image | labels | prediction | segmentation
            path TEXT NOT NULL,            -- relative to the project folder
            shape TEXT NOT NULL,           -- JSON [z, y, x]
            dtype TEXT NOT NULL,
            voxel_size TEXT NOT NULL,      -- JSON VoxelSize
            chunks TEXT NOT NULL,          -- JSON [z, y, x] of level 0
            levels INTEGER NOT NULL,
            image_id TEXT REFERENCES volumes(id),  -- the image a label/prediction volume belongs to
            source TEXT NOT NULL,          -- where the data came from, for a person
            attrs TEXT NOT NULL,           -- JSON, kind-specific (classes, conversion rule, ...)
            provenance TEXT NOT NULL,      -- JSON: job, operation, parameters, inputs, version
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE models (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            card TEXT NOT NULL,            -- JSON model card
            provenance TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX jobs_by_status ON jobs(status)",
    ],
    # 1 -> 2: job outputs and device; mesh sets
    [
        "ALTER TABLE jobs ADD COLUMN outputs TEXT",  # JSON outputs of a finished job
        "ALTER TABLE jobs ADD COLUMN device TEXT",  # e.g. "cuda:0 (NVIDIA H100, 80 GB)", "cpu"
        """CREATE TABLE meshes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,            -- folder under meshes/, relative to the project
            segmentation_id TEXT REFERENCES volumes(id),
            format TEXT NOT NULL,          -- stl | obj | ply | glb
            count INTEGER NOT NULL,        -- number of objects
            attrs TEXT NOT NULL,           -- JSON: smoothing, decimation, ids, combined, ...
            provenance TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
