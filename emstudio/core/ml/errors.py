"""Errors of training and prediction meant for a person (the CLI prints them and exits 2)."""

from __future__ import annotations

from emstudio.core.errors import EmstudioError


class ModelFileError(EmstudioError):
    """A model file is corrupted, foreign, or does not match its card."""


class ModelMismatchError(EmstudioError):
    """A model does not fit the data it is asked to work on (classes, channels, voxel size)."""


class LabelsError(EmstudioError):
    """A label set cannot be used for training (no labelled slice, unknown class, wrong shape)."""


class TrainingSetupError(EmstudioError):
    """Training parameters that cannot work (patch larger than the image, bad values)."""


class TrainingDivergedError(EmstudioError):
    """The model's weights stopped being numbers: nothing it learnt can be kept."""


class PredictionSetupError(EmstudioError):
    """Prediction settings that cannot work (a batch, tile or memory budget below one)."""


class DeviceError(EmstudioError):
    """The requested compute device is absent, or ran out of memory even at the smallest batch."""


class VolumeKindError(EmstudioError):
    """A volume of the wrong kind was given (e.g. a label set where an image is needed)."""
