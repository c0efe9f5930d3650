"""Defaults of the measurements that users can change (a light module: the command line and
dialogs show them)."""

DEFAULT_MAX_DISTANCE_NM = 2000.0  # search radius for the distance to another segmentation
