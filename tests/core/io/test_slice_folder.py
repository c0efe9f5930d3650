"""Folders (and lists) of 2D slice files: order, formats, voxel size, bad folders."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.slice_folder import open_slice_files, open_slice_folder


def planes(n: int, shape=(12, 16), dtype=np.uint8) -> list[np.ndarray]:
    """Plane k is filled with value k + 1 (so the z order is visible), plus a gradient."""
    grad = np.arange(shape[0] * shape[1]).reshape(shape) % 7
    return [(grad + 10 * (k + 1)).astype(dtype) for k in range(n)]


def write_tiffs(folder: Path, images: list[np.ndarray], **kwargs) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for k, image in enumerate(images):
        path = folder / f"img{k + 1}.tif"  # img1 .. img12: lexical order would be wrong
        tifffile.imwrite(path, image, **kwargs)
        paths.append(path)
    return paths


def test_tiff_folder_in_natural_order(tmp_path: Path) -> None:
    images = planes(12)
    write_tiffs(tmp_path / "s", images)
    (tmp_path / "s" / "notes.txt").write_text("not an image")
    (tmp_path / "s" / "._img1.tif").write_bytes(b"macOS resource fork junk")
    with open_slice_folder(tmp_path / "s") as src:
        assert isinstance(src, VolumeSource)
        assert src.info.shape == (12, 12, 16)
        assert src.info.dtype == np.uint8
        assert src.info.format == "tiff-folder"
        assert [p.name for p in src.files][:3] == ["img1.tif", "img2.tif", "img3.tif"]
        np.testing.assert_array_equal(src.read_slab(0, 12), np.stack(images))
        np.testing.assert_array_equal(src.read_slab(9, 11), np.stack(images[9:11]))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_folder(tmp_path: Path, dtype: type) -> None:
    folder = tmp_path / "png"
    folder.mkdir()
    images = planes(3, dtype=dtype)
    for k, image in enumerate(images):
        iio.imwrite(folder / f"slice_{k:03d}.png", image)
    with open_slice_folder(folder) as src:
        assert src.info.format == "png-folder"
        assert src.info.dtype == dtype
        assert not src.info.voxel_size.known
        np.testing.assert_array_equal(src.read_slab(0, 3), np.stack(images))


def test_jpeg_folder_notes_lossy(tmp_path: Path) -> None:
    folder = tmp_path / "jpg"
    folder.mkdir()
    for k, image in enumerate(planes(2)):
        iio.imwrite(folder / f"{k}.jpg", image)
    with open_slice_folder(folder) as src:
        assert src.info.format == "jpeg-folder"
        assert any("lossy" in note for note in src.info.notes)
        assert src.read_slab(0, 2).shape == (2, 12, 16)


def test_rgb_and_grey_alpha_png(tmp_path: Path) -> None:
    rgb_folder, la_folder = tmp_path / "rgb", tmp_path / "la"
    rgb_folder.mkdir()
    la_folder.mkdir()
    grey = planes(2)
    for k, g in enumerate(grey):
        iio.imwrite(rgb_folder / f"{k}.png", np.dstack([g, g // 2, g // 3]))
        iio.imwrite(la_folder / f"{k}.png", np.dstack([g, np.full_like(g, 255)]))
    with open_slice_folder(rgb_folder) as src:
        assert src.info.channels == 3
        slab = src.read_slab(0, 2)
        assert slab.shape == (2, 12, 16, 3)
        np.testing.assert_array_equal(slab[1, ..., 1], grey[1] // 2)
    with open_slice_folder(la_folder) as src:
        assert src.info.channels == 1
        np.testing.assert_array_equal(src.read_slab(0, 2), np.stack(grey))
        assert any("alpha" in note for note in src.info.notes)


def test_voxel_size_from_first_tiff_imagej_metadata(tmp_path: Path) -> None:
    write_tiffs(
        tmp_path / "s",
        planes(3),
        imagej=True,
        resolution=(1 / 0.0046, 1 / 0.0046),
        metadata={"spacing": 0.05, "unit": "micron"},
    )
    with open_slice_folder(tmp_path / "s") as src:
        assert src.info.voxel_size.known
        assert src.info.voxel_size.origin == "imagej"
        np.testing.assert_allclose(src.info.voxel_size.zyx, (50, 4.6, 4.6), rtol=1e-6)


def test_xy_only_metadata_leaves_voxel_size_unknown(tmp_path: Path) -> None:
    write_tiffs(
        tmp_path / "s", planes(2), imagej=True, resolution=(0.25, 0.25), metadata={"unit": "nm"}
    )
    with open_slice_folder(tmp_path / "s") as src:
        assert not src.info.voxel_size.known
        assert any("x = 4 nm" in note for note in src.info.notes)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="is empty"):
        open_slice_folder(tmp_path / "empty")


def test_folder_without_images_lists_what_it_found(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "readme.txt").write_text("x")
    (folder / "volume.mrc").write_bytes(b"x")
    with pytest.raises(InputFileError, match=r"no image slices.*readme\.txt"):
        open_slice_folder(folder)


def test_mixed_slice_sizes_name_the_offending_file(tmp_path: Path) -> None:
    images = planes(4)
    images[2] = np.zeros((12, 17), np.uint8)
    paths = write_tiffs(tmp_path / "s", images)
    with pytest.raises(InputFileError) as err:
        open_slice_folder(tmp_path / "s")
    message = str(err.value)
    assert err.value.path == str(paths[2])
    assert "12 x 17" in message and "12 x 16" in message and "img1.tif" in message


def test_mixed_dtypes_refused(tmp_path: Path) -> None:
    images = planes(3)
    images[1] = images[1].astype(np.uint16)
    write_tiffs(tmp_path / "s", images)
    with pytest.raises(InputFileError, match=r"img2\.tif.*uint16.*img1\.tif.*uint8"):
        open_slice_folder(tmp_path / "s")


def test_single_slice_is_not_a_stack(tmp_path: Path) -> None:
    write_tiffs(tmp_path / "s", planes(1))
    with pytest.raises(InputFileError, match="only one image slice"):
        open_slice_folder(tmp_path / "s")


def test_multipage_file_in_slice_folder_refused(tmp_path: Path) -> None:
    paths = write_tiffs(tmp_path / "s", planes(2))
    tifffile.imwrite(paths[1], np.stack(planes(3)), photometric="minisblack")
    with pytest.raises(InputFileError, match=r"img2\.tif: holds 3 planes"):
        open_slice_folder(tmp_path / "s")


def test_damaged_slice_fails_on_read(tmp_path: Path) -> None:
    folder = tmp_path / "png"
    folder.mkdir()
    for k, image in enumerate(planes(3)):
        iio.imwrite(folder / f"{k}.png", image)
    data = (folder / "1.png").read_bytes()
    (folder / "1.png").write_bytes(data[: len(data) - 30])  # header intact, pixels cut
    with open_slice_folder(folder) as src, pytest.raises(InputFileError, match=r"1\.png"):
        src.read_slab(0, 3)


def test_given_files_are_put_in_natural_order(tmp_path: Path) -> None:
    images = planes(11)
    paths = write_tiffs(tmp_path / "s", images)
    lexical = sorted(paths, key=lambda p: p.name)  # img1, img10, img11, img2, ...
    with open_slice_files(lexical) as src:
        np.testing.assert_array_equal(src.read_slab(0, 11), np.stack(images))
        assert any("natural order" in note for note in src.info.notes)
