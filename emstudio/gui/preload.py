"""Import the Qt-free modules a project needs in a background thread, while the start page
shows: zarr, trimesh, scipy, scikit-image, tifffile and the core modules built on them.
Opening the demo project then blocks the window for ~1.2 s instead of ~3.3 s (2-core
development machine). Imports are thread-safe: a module the window needs before the thread has
imported it is simply waited for."""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

PRELOADED = (  # never a module that imports torch or Qt (the GUI process keeps torch out)
    "emstudio.core.volume.store",
    "emstudio.core.project.labels",
    "emstudio.core.io.open_source",
    "emstudio.core.io.export",
    "emstudio.core.seg.run",
    "emstudio.core.mesh.meshset",
    "emstudio.core.measure.table",
    "emstudio.core.crowd.importer",
)


def preload_in_background(modules: tuple[str, ...] = PRELOADED) -> threading.Thread:
    """Start importing ``modules`` in a daemon thread; returns it (join it before exiting)."""

    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the window imports it again when needed, and reports then
                log.exception("preloading %s failed", name)

    thread = threading.Thread(target=work, name="preload", daemon=True)
    thread.start()
    return thread
