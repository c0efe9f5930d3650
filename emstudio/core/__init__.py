"""Qt-free core of emstudio: importable in a plain process, a job process or a Dask worker."""
