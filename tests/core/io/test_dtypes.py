"""The conversion rules of emstudio.core.io.dtypes, one test per rule, and the range scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo
from emstudio.core.io.dtypes import (
    Conversion,
    ValueRange,
    needs_value_range,
    plan_conversion,
    scan_value_range,
)
from emstudio.core.io.source_base import SourceBase
from emstudio.core.io.tiff import TiffSource


class ArraySource(SourceBase):
    """An in-memory VolumeSource that counts the slabs it hands out."""

    def __init__(self, data: np.ndarray, channels: int = 1) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []
        self.info = SourceInfo("mem.tif", "tiff", data.shape[:3], data.dtype, channels=channels)

    def _read(self, z0: int, z1: int) -> np.ndarray:
        self.reads.append((z0, z1))
        return self.data[z0:z1].copy()


def convert(
    data: np.ndarray, kind: str = "image", channels: int = 1
) -> tuple[Conversion, np.ndarray]:
    source = ArraySource(data, channels)
    stats = scan_value_range(source)
    conversion = plan_conversion(source.info, kind, stats)
    return conversion, conversion.apply(source.read_slab(0, data.shape[0]))


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_uint8_uint16_kept_without_stats(dtype: type) -> None:
    data = np.array([[[0, 7], [200, np.iinfo(dtype).max]]] * 2, dtype=dtype)
    conversion = plan_conversion(ArraySource(data).info, "image", None)
    out = conversion.apply(data)
    assert out.dtype == dtype and conversion.lossless
    np.testing.assert_array_equal(out, data)
    assert "unchanged" in conversion.rule


def test_bool_image_becomes_0_255() -> None:
    data = np.array([[[True, False]], [[False, True]]])
    conversion, out = convert(data)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[[255, 0]], [[0, 255]]])
    assert "255" in conversion.rule


@pytest.mark.parametrize(
    ("dtype", "values", "target"),
    [
        (np.int16, [0, 3, 255], np.uint8),
        (np.int8, [0, 5, 127], np.uint8),
        (np.int32, [0, 256, 65535], np.uint16),
        (np.uint32, [1, 2, 300], np.uint16),
        (np.uint64, [1, 2, 3], np.uint8),
        (np.float32, [0.0, 12.0, 1000.0], np.uint16),
        (np.float64, [0.0, 1.0, 255.0], np.uint8),
    ],
)
def test_whole_values_in_range_stored_losslessly(dtype, values, target) -> None:
    data = np.array(values, dtype=dtype).reshape(3, 1, 1)
    conversion, out = convert(data)
    assert conversion.method == "cast" and conversion.lossless
    assert out.dtype == target
    np.testing.assert_array_equal(out, np.array(values).reshape(3, 1, 1))
    assert "lossless" in conversion.rule


def test_float_values_rescaled_to_uint16_with_nonfinite_as_zero() -> None:
    data = np.array([-1.0, 0.5, 3.0, np.nan, np.inf, -np.inf, 1.0, 2.0], np.float32)
    conversion, out = convert(data.reshape(2, 2, 2))
    assert out.dtype == np.uint16 and not conversion.lossless
    expected = np.rint((np.array([-1.0, 0.5, 3.0, 0, 0, 0, 1.0, 2.0]) + 1) / 4 * 65535)
    expected[3:6] = 0
    np.testing.assert_array_equal(out.ravel(), expected)
    assert out.ravel()[0] == 0 and out.ravel()[2] == 65535
    assert "[-1, 3]" in conversion.rule and "NaN" in conversion.rule


def test_negative_integers_rescaled() -> None:
    data = np.array([-32768, 0, 32767], np.int16).reshape(3, 1, 1)
    conversion, out = convert(data)
    assert conversion.method == "rescale"
    np.testing.assert_array_equal(out.ravel(), [0, 32768, 65535])


def test_large_integers_rescaled() -> None:
    data = np.array([0, 100_000], np.int32).reshape(2, 1, 1)
    _, out = convert(data)
    np.testing.assert_array_equal(out.ravel(), [0, 65535])


def test_constant_non_integral_volume_becomes_zero() -> None:
    data = np.full((2, 2, 2), 0.25, np.float32)
    conversion, out = convert(data)
    assert conversion.method == "rescale"
    np.testing.assert_array_equal(out, 0)


def test_rgb_uint8_to_bt601_luminance() -> None:
    pixels = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]
    data = np.array(pixels, np.uint8).reshape(1, 1, 5, 3).repeat(2, axis=0)
    conversion, out = convert(data, channels=3)
    assert out.dtype == np.uint8 and out.shape == (2, 1, 5)
    # 0.299*255 = 76.2, 0.587*255 = 149.7, 0.114*255 = 29.1, 0.299*10+0.587*20+0.114*30 = 18.15
    np.testing.assert_array_equal(out[0, 0], [76, 150, 29, 255, 18])
    assert "0.299 R + 0.587 G + 0.114 B" in conversion.rule


def test_rgba_uint16_drops_alpha_keeps_depth() -> None:
    data = np.array([[[[65535, 65535, 65535, 0], [1000, 2000, 3000, 65535]]]], np.uint16)
    data = data.repeat(2, axis=0)
    conversion, out = convert(data, channels=4)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(
        out[0, 0], [65535, 299 + 1174 + 342]
    )  # 0.299*1000 + 0.587*2000 + 0.114*3000
    assert "alpha" in conversion.rule


def test_rgb_float_refused() -> None:
    info = SourceInfo("rgb.tif", "tiff", (2, 1, 1), np.dtype(np.float32), channels=3)
    with pytest.raises(InputFileError, match="RGB image with float32"):
        plan_conversion(info, "image", None)


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_complex_values_are_refused_without_a_scan(kind) -> None:
    info = ArraySource(np.zeros((2, 1, 1), np.complex64)).info
    assert not needs_value_range(info, kind)
    with pytest.raises(InputFileError, match="complex64 values"):
        plan_conversion(info, kind, None)


def test_stats_required_for_other_dtypes() -> None:
    info = SourceInfo("f.tif", "tiff", (2, 1, 1), np.dtype(np.float32))
    with pytest.raises(ValueError, match="scan_value_range"):
        plan_conversion(info, "image", None)
    with pytest.raises(ValueError, match="kind"):
        plan_conversion(info, "mask", None)


# --- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "top", "target"),
    [
        (np.uint16, 41, np.uint16),  # uint8/uint16 labels are kept as they are
        (np.int32, 255, np.uint8),
        (np.int64, 256, np.uint16),
        (np.uint32, 70_000, np.uint32),
        (np.int64, 2**32 - 1, np.uint32),
        (np.float32, 300, np.uint16),
    ],
)
def test_labels_smallest_unsigned_type(dtype, top, target) -> None:
    data = np.array([0, 1, top], dtype=dtype).reshape(3, 1, 1)
    conversion, out = convert(data, "labels")
    assert out.dtype == target and conversion.lossless
    np.testing.assert_array_equal(out.ravel(), [0, 1, top])
    assert str(np.dtype(target)) in conversion.rule


def test_uint8_labels_kept_and_bool_labels_0_1() -> None:
    data = np.array([0, 3, 200], np.uint8).reshape(3, 1, 1)
    conversion = plan_conversion(ArraySource(data).info, "labels", None)
    assert conversion.method == "keep"
    conversion, out = convert(np.array([False, True]).reshape(2, 1, 1), "labels")
    np.testing.assert_array_equal(out.ravel(), [0, 1])
    assert out.dtype == np.uint8


@pytest.mark.parametrize(
    ("data", "channels", "message"),
    [
        (np.array([0, -1, 5], np.int16).reshape(3, 1, 1), 1, "negative values"),
        (np.array([0, 0.5, 2], np.float32).reshape(3, 1, 1), 1, "not whole numbers"),
        (np.array([0, np.nan, 2], np.float32).reshape(3, 1, 1), 1, "NaN"),
        (np.zeros((2, 1, 1, 3), np.uint8), 3, "RGB"),
        (np.array([0, 2**33], np.uint64).reshape(2, 1, 1), 1, "more than uint32"),
    ],
    ids=["negative", "fractional", "nan", "rgb", "too-large"],
)
def test_bad_labels_refused(data, channels, message) -> None:
    source = ArraySource(data, channels)
    stats = scan_value_range(source)
    with pytest.raises(InputFileError, match=message) as err:
        plan_conversion(source.info, "labels", stats)
    assert err.value.path == "mem.tif"


def test_uint16_labels_without_range_stay_uint16() -> None:
    data = np.array([0, 1, 41], np.uint16).reshape(3, 1, 1)
    conversion = plan_conversion(ArraySource(data).info, "labels", None)
    assert conversion.target_dtype == np.uint16 and conversion.method == "keep"


@pytest.mark.parametrize(
    ("dtype", "channels", "expected"),
    [
        (np.uint8, 1, False),
        (np.uint16, 1, False),
        (np.bool_, 1, False),
        (np.uint8, 3, False),
        (np.int16, 1, True),
        (np.float32, 1, True),
        (np.uint32, 1, True),
    ],
)
def test_needs_value_range(dtype, channels, expected) -> None:
    info = SourceInfo("a.tif", "tiff", (2, 1, 1), np.dtype(dtype), channels=channels)
    assert needs_value_range(info, "image") is expected
    assert needs_value_range(info, "labels") is expected


# --- value range ------------------------------------------------------------------------------


def test_scan_reads_slab_by_slab_and_reports_progress() -> None:
    data = np.arange(10 * 4 * 4, dtype=np.int32).reshape(10, 4, 4) - 7
    source = ArraySource(data)
    calls: list[tuple[int, int]] = []
    stats = scan_value_range(source, lambda done, total: calls.append((done, total)), 3 * 64)
    assert stats == ValueRange(min=-7, max=152, all_integral=True, has_nonfinite=False)
    assert source.reads == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]


def test_scan_floats() -> None:
    data = np.array([1.0, 2.5, np.nan, -np.inf], np.float64).reshape(4, 1, 1)
    stats = scan_value_range(ArraySource(data))
    assert (stats.min, stats.max) == (1.0, 2.5)
    assert not stats.all_integral and stats.has_nonfinite
    all_nan = scan_value_range(ArraySource(np.full((2, 1, 1), np.nan)))
    assert (all_nan.min, all_nan.max, all_nan.has_nonfinite) == (0, 0, True)


def test_scan_and_convert_a_real_tiff(tmp_path: Path) -> None:
    data = np.linspace(-1, 1, 4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8)
    tifffile.imwrite(tmp_path / "f.tif", data, photometric="minisblack")
    with TiffSource(tmp_path / "f.tif") as source:
        conversion = plan_conversion(source.info, "image", scan_value_range(source))
        out = conversion.apply(source.read_slab(0, 4))
    assert out.min() == 0 and out.max() == 65535 and out.dtype == np.uint16
