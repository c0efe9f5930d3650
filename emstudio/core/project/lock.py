"""One writer per project: an OS-level file lock, released by the OS if the holder dies."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path

from filelock import FileLock, Timeout

from emstudio.core.errors import ProjectLockedError

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock-holder.json"
# A job process started by the lock holder inherits this variable and may write without the lock.
INHERITED_LOCK_ENV = "EMSTUDIO_PROJECT_LOCK_TOKEN"


class ProjectLock:
    """Exclusive write lock on a project folder.

    The lock is an OS file lock (fcntl/msvcrt via ``filelock``), so a crashed holder never leaves
    a stale lock behind. Who holds it (pid, host, command) is written next to it for the message
    another process shows.
    """

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = Path(project_dir)
        self._lock = FileLock(str(self.project_dir / LOCK_FILE), is_singleton=False)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    def acquire(self) -> bool:
        """Take the lock; False when it is inherited (a job process started by the holder)."""
        inherited = os.environ.get(INHERITED_LOCK_ENV)
        if inherited and inherited == self._holder().get("token"):
            return False  # the holder keeps the lock for us
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            holder = self._holder()
            who = (
                f"process {holder.get('pid', '?')} on {holder.get('host', '?')} "
                f"({holder.get('command', 'unknown command')})"
                if holder
                else "another process"
            )
            raise ProjectLockedError(
                f"{self.project_dir}: project is open in another process: {who}. "
                "Close it there (or wait for it to finish) and try again."
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(sys.argv[:3]) or "python",
            "token": self.token,
        }
        (self.project_dir / HOLDER_FILE).write_text(json.dumps(holder), encoding="utf-8")
        return True

    def child_environment(self) -> dict[str, str]:
        """Environment entries that let a job process started by the holder write too."""
        return {INHERITED_LOCK_ENV: self.token} if self.held else {}

    def release(self) -> None:
        if self._lock.is_locked:
            with contextlib.suppress(FileNotFoundError):
                (self.project_dir / HOLDER_FILE).unlink()
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def _holder(self) -> dict:
        try:
            return json.loads((self.project_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
