"""Project folder, SQLite catalog (schema version + migrations), locking, atomic writes."""

from emstudio.core.project.project import PROJECT_SUFFIX, Project
from emstudio.core.project.records import JobRecord, ModelRecord, VolumeRecord

__all__ = ["PROJECT_SUFFIX", "JobRecord", "ModelRecord", "Project", "VolumeRecord"]
