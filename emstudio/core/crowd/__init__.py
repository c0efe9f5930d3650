"""Crowdsourced labels: Zooniverse export parsing, subject -> slice mapping, stroke joining and
rasterisation, consensus (mean, majority, STAPLE), volunteer reliability, and a crowd simulator.

The path of an import: ``export`` (rows -> classifications, bad rows counted in ``report``) ->
``mapping`` + ``tracings`` (strokes -> joined outlines per slice and volunteer) -> ``aggregate``
(``raster``, ``consensus``/``staple``, ``reliability``, ``outline``) -> ``labelset`` (the label
volume) + ``sidecar`` (every tracing and score, for the GUI and re-aggregation). ``importer``
runs it; ``simulate``/``volunteer``/``simulate_labels`` make an export from ground truth.
"""
