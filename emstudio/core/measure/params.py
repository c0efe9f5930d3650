"""Defaults of the measurements that users can change (a light module: the command line and
dialogs show them)."""

from emstudio.core.errors import EmstudioError

DEFAULT_MAX_DISTANCE_NM = 2000.0  # search radius for the distance to another segmentation


class MeasureParamsError(EmstudioError):
    """A measurement option is out of range."""
