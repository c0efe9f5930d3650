"""A volume in the project store: an OME-Zarr (NGFF 0.4, zarr v2 format) multiscale group.

Layout choices (see benchmarks/bench_import.py for the figures behind them):
- images: uncompressed (32, 128, 128) chunks. EM images compress ~1.2x, and raw chunks let
  ``fastslice`` read an XY, XZ or YZ plane without decoding whole chunks; 32 planes per chunk
  keeps XY reads to a few files per tile while XZ/YZ touch few chunks.
- probability maps: the same chunks, Blosc-LZ4 compressed. Maps of sparse structures are
  mostly 0: a model's mitochondria map of real ssTEM (vnc_gerhard2013) shrinks 4.1x, the demo
  phantom's maps 4-6.5x; a dense membrane map (isbi2012) only 1.2x (zstd: 1.4x, at a quarter
  of the speed). LZ4 codes at about 1 GB/s and decodes at 2-4 GB/s per core, faster than most
  disks take or give the bytes (a tri-axis prediction of 8192 x 8192 x 517 writes three maps:
  104 GB uncompressed).
- labels and segmentations: the same chunks, Blosc-LZ4 compressed (mostly zeros: 50-100x).
- compressed volumes are chunked no deeper than a slab of ``COMPRESSED_SLAB_BYTES`` holds, so
  that slabs are written as whole chunks: a partly written compressed chunk must be read,
  merged and encoded again (a 2048 x 2048 uint32 segmentation written in slabs of 8 planes
  into 32-deep chunks took 14.9 s for 128 planes, in whole 32-deep chunks 3.3 s). Volumes
  filled by boxes through all planes (a GPU prediction's columns) keep the full depth: half
  the files of 16-deep chunks, which kept the process writing 517 x 4096 x 4096 maps 0.8-1.3 s
  a column behind the model on an H200; in 32-deep ones it kept up (2026-11-27).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import zarr
from numcodecs.abc import Codec

from emstudio.core.errors import DamagedVolumeError, ProjectError
from emstudio.core.io.base import VoxelSize
from emstudio.core.volume import ngff, pyramid
from emstudio.core.volume.chunkio import (
    WRITE_THREADS,
    ChunkWriter,
    fsync_file,
    fsync_metadata,
    start_writeback,
)
from emstudio.core.volume.fastslice import (
    CompressedChunkSlicer,
    RawChunkSlicer,
    is_blosc_layout,
    is_fast_layout,
)

DEFAULT_CHUNKS = (32, 128, 128)
LABEL_KINDS = ("labels", "segmentation")
SLAB_BUDGET_BYTES = 128 * 2**20  # level-0 slab size: bounds import memory for any plane size
# LZ4 with byte shuffle: on the 32 x 128 x 128 uint32 chunks of benchmarks/bench_postprocess.py's
# segmentation (4 % of the voxels in objects) it codes at 2.9 GB/s and decodes at 1.1 GB/s per
# core, 83x smaller; zstd (level 3) coded at 1.2 and decoded at 0.84 GB/s, 317x smaller. The
# segmentation writes and every mesh and viewer read go faster (writing 256 x 1024 x 2048 took
# 5.4-6.4 instead of 6.9-7.7 s on one core, reading it 0.6-0.8 instead of 1.2-1.4 s), and 83x
# of a mostly empty volume is still small (26 MB for 2 GiB). Stores keep their own codec.
LABEL_CODEC = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)
# probability maps are uint8: there is nothing to shuffle (see the module's docstring)
PREDICTION_CODEC = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.NOSHUFFLE)
CODECS = {"labels": LABEL_CODEC, "segmentation": LABEL_CODEC, "prediction": PREDICTION_CODEC}
COMPRESSED_SLAB_BYTES = 256 * 2**20  # the slab size for compressed volumes, in whole chunks
MIN_COMPRESSED_CHUNK_DEPTH = 8  # below this, planes keep the usual depth (and partial writes)
MAX_QUEUED_WRITES = 4  # blocks (of any level) whose chunk writes may still be running


def chunks_for(shape: tuple[int, int, int], chunks: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(max(1, min(c, s)) for c, s in zip(chunks, shape, strict=True))


def stored_layout(array_dir: Path) -> tuple[tuple[int, int, int], Codec | None]:
    """The chunk shape and the codec (None: raw) of the zarr v2 array in ``array_dir``."""
    meta = json.loads((array_dir / ".zarray").read_text(encoding="utf-8"))
    codec = meta.get("compressor")
    return tuple(meta["chunks"]), None if codec is None else numcodecs.get_codec(codec)


def compressed_chunk_depth(plane_bytes: int, depth: int) -> int:
    """The chunk depth of a compressed volume: ``depth`` halved until a slab of whole chunks
    fits ``COMPRESSED_SLAB_BYTES``; planes so large that even ``MIN_COMPRESSED_CHUNK_DEPTH``
    does not fit keep ``depth`` (thinner chunks would make millions of files)."""
    deepest = depth
    while depth > MIN_COMPRESSED_CHUNK_DEPTH and depth * plane_bytes > COMPRESSED_SLAB_BYTES:
        depth //= 2
    return depth if depth * plane_bytes <= COMPRESSED_SLAB_BYTES else deepest


@dataclass(frozen=True)
class PyramidBoxes:
    """The chunk writers of a store's levels and the factors between them: enough to write a
    box through every level, in this process or in another one (it pickles small)."""

    levels: tuple[ChunkWriter, ...]
    factors: tuple[tuple[int, int, int], ...]
    is_labels: bool

    def write(
        self,
        y0: int,
        x0: int,
        block: np.ndarray,
        pool: ThreadPoolExecutor,
        flusher: ThreadPoolExecutor | None = None,
    ) -> set[Path]:
        """Write ``block``, through all the planes of level 0, at ``(y0, x0)``, and its
        downsampled copies into the coarser levels, chunks coded on ``pool``; the files written,
        once all are written (not yet durable). Given ``flusher``, the disk starts writing each
        row of chunks there as soon as it is written, while the others are coded, so that
        making the files durable afterwards waits only for the last ones. The levels are those
        ``write_slab`` makes where a box's sides halve evenly level after level (boxes of whole
        128-voxel chunks, up to the edges)."""
        first = self.levels[0]
        if block.dtype != first.dtype or block.shape[0] != first.shape[0]:
            raise ValueError(f"box {block.shape} {block.dtype} does not fit volume {first.shape}")
        futures = []
        for level, writer in enumerate(self.levels):
            if level:
                factor = self.factors[level - 1]
                if y0 % factor[1] or x0 % factor[2]:
                    raise ValueError(f"box at ({y0}, {x0}) does not fall on level {level}'s grid")
                block = pyramid.downsample(block, factor, self.is_labels)
                y0, x0 = y0 // factor[1], x0 // factor[2]
            futures += writer.write(0, block, pool, y0, x0)
        if flusher is not None:
            for future in futures:
                future.add_done_callback(partial(_start_writeback_of, flusher))
        return {path for future in futures for path in future.result()}


def _start_writeback_of(flusher: ThreadPoolExecutor, written: Future[list[Path]]) -> None:
    """Start writing a finished chunk task's files to disk, on ``flusher`` (nothing if the
    task was cancelled or failed: its error reaches whoever waits for it)."""
    if not written.cancelled() and written.exception() is None:
        for path in written.result():
            flusher.submit(start_writeback, path)


class VolumeWriter:
    """Creates a multiscale store and fills it from z-slabs in order, all levels at once.

    Each slab written to level 0 is downsampled on the spot into the coarser levels (planes a
    z-halving level cannot use yet wait in a small carry buffer), so the pyramid costs no second
    pass over the data. Call ``finalize()`` at the end, and ``close()`` (or use ``with``).
    """

    def __init__(
        self,
        path: Path,
        shape: tuple[int, int, int],
        dtype: np.dtype | str,
        voxel_size: VoxelSize,
        kind: str,
        name: str,
        chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
        reopen: bool = False,
        threads: int = WRITE_THREADS,
        in_boxes: bool = False,
    ) -> None:
        """``reopen``: go on filling the store already at ``path`` (made by a writer of the
        same shape and type that did not finish: a resumed job), instead of creating it.
        ``threads``: how many threads write chunks (fewer where writing runs beside other
        work of this process, which would wait for the GIL between them). ``in_boxes``: filled
        by ``write_box`` (boxes through all planes, which always cover whole chunks in z), so
        compressed chunks keep the full ``chunks`` depth whatever a slab would hold."""
        self.path = Path(path)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.voxel_size = voxel_size
        self.kind = kind
        self.name = name
        self.is_labels = kind in LABEL_KINDS
        self.factors = pyramid.plan_factors(self.shape, voxel_size.zyx)
        reopen = reopen and (self.path / ".zgroup").is_file()
        if reopen:  # the store goes on with the layout it was begun with (an older version's)
            chunks, compressor = stored_layout(self.path / "0")
        else:
            compressor = CODECS.get(kind)
            if compressor is not None and not in_boxes:
                chunks = (compressed_chunk_depth(self._plane_bytes, chunks[0]), *chunks[1:])
        self.compressed = compressor is not None
        self.chunks = chunks_for(self.shape, chunks)
        self.group = zarr.open_group(str(self.path), mode="r+" if reopen else "w-", zarr_format=2)
        self.arrays: list[zarr.Array] = []
        self._writers: list[ChunkWriter] = []
        level_shape = self.shape
        for level in range(len(self.factors) + 1):
            if level:
                f = self.factors[level - 1]
                level_shape = tuple(-(-level_shape[a] // f[a]) for a in range(3))
            level_chunks = chunks_for(level_shape, chunks)
            if reopen:
                array = self.group[str(level)]
                if array.shape != level_shape or array.dtype != self.dtype:
                    raise ValueError(f"{self.path}: level {level} is not the one to go on with")
            else:
                array = self.group.create_array(
                    name=str(level),
                    shape=level_shape,
                    chunks=level_chunks,
                    dtype=self.dtype,
                    compressors=compressor,
                    fill_value=0,
                )
            self.arrays.append(array)
            self._writers.append(
                ChunkWriter(
                    self.path / str(level), level_shape, level_chunks, self.dtype, compressor
                )
            )
        self._next_z = [0] * len(self._writers)  # next plane to write, per level
        self._carry: list[np.ndarray | None] = [None] * len(self._writers)
        # level-0 planes held back until they complete whole compressed chunks, where a chunk's
        # planes fit the slab budget (else slabs are written through, chunks merged)
        self._held: np.ndarray | None = None
        chunk_row_bytes = self.chunks[0] * self._plane_bytes
        self._in_whole_chunks = self.compressed and chunk_row_bytes <= COMPRESSED_SLAB_BYTES
        self._thread_names = f"chunk-writer-{id(self):x}"
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=self._thread_names)
        # the disk starts writing each chunk file as soon as it is written (the import goes on
        # meanwhile), so the durable commit at the end waits only as long as the disk is behind
        self._flusher = ThreadPoolExecutor(16, thread_name_prefix="chunk-flusher")
        self._written: set[Path] = set()
        # chunk writes run while the next blocks are read and downsampled; blocks stay
        # referenced until written, so the queue length bounds the memory held
        self._queued: deque[tuple[int, list[Future[list[Path]]]]] = deque()

    @property
    def _plane_bytes(self) -> int:
        return max(1, self.shape[1] * self.shape[2] * self.dtype.itemsize)

    @property
    def slab_planes(self) -> int:
        """How many z planes to hand to ``write_slab`` at once (a chunk, or fewer if huge)."""
        budget = COMPRESSED_SLAB_BYTES if self.compressed else SLAB_BUDGET_BYTES
        return max(1, min(self.chunks[0], budget // self._plane_bytes))

    def write_slab(self, z0: int, block: np.ndarray, level: int = 0) -> None:
        """Write the next planes of ``level`` (slabs come in z order, without gaps), and their
        downsampled copies into the coarser levels. Slabs of a level other than 0 are for a
        pyramid whose finer levels others fill (``adopt``). Slabs of any size may come: into a
        compressed store they are written in whole chunks (a partly written chunk would be
        decoded, merged and coded again for each slab that meets it)."""
        if block.dtype != self.dtype:
            raise TypeError(f"slab dtype {block.dtype} != volume dtype {self.dtype}")
        held = self._held if level == 0 and self._held is not None else ()
        expected = self._next_z[level] + len(held)
        if z0 != expected:
            raise ValueError(f"slabs must come in order: expected z {expected}, got {z0}")
        if level == 0 and self._in_whole_chunks:
            block = self._whole_chunks(block)
            if block is None:
                return
        self._put(level, block)

    def _whole_chunks(self, block: np.ndarray) -> np.ndarray | None:
        """The level-0 planes held back and ``block`` up to the last whole chunk (or to the
        last plane); the planes after it are held back for the next slab."""
        if self._held is not None:
            block = np.concatenate([self._held, block])
        depth = self.chunks[0]
        ready = len(block) // depth * depth
        if self._next_z[0] + len(block) == self.shape[0]:
            ready = len(block)
        self._held = block[ready:].copy() if ready < len(block) else None
        return block[:ready] if ready else None

    @property
    def level_writers(self) -> list[ChunkWriter]:
        """Each level's chunk writer: picklable, so worker processes can write boxes of whole
        chunks of the finer levels themselves (see ``adopt``)."""
        return list(self._writers)

    def adopt(self, levels: int, files: Iterable[Path]) -> None:
        """Levels ``0 .. levels - 1`` are filled by others through ``level_writers``: their
        planes count as written, and ``files`` (what they wrote) are made durable by
        ``finalize`` with this writer's own."""
        for level in range(levels):
            self._next_z[level] = self._writers[level].shape[0]
        self._written.update(files)

    @property
    def pyramid_boxes(self) -> PyramidBoxes:
        """How to write boxes through every level of this store, picklable (see
        ``PyramidBoxes``)."""
        return PyramidBoxes(tuple(self._writers), tuple(self.factors), self.is_labels)

    def write_box(self, y0: int, x0: int, block: np.ndarray) -> None:
        """Write a box through all the planes of level 0 at ``(y0, x0)``, and its downsampled
        copies into the coarser levels; return once all are on disk. Boxes may come in any
        order, one at a time (see ``PyramidBoxes.write``)."""
        files = self.pyramid_boxes.write(y0, x0, block, self._pool, self._flusher)
        self.adopt(len(self._writers), ())
        list(self._flusher.map(fsync_file, files))

    def _put(self, level: int, block: np.ndarray) -> None:
        writer = self._writers[level]
        if writer.compressor is not None and self._next_z[level] % writer.chunks[0]:
            self._settle(level)  # it merges into chunks an earlier write began: wait for it
        self._queued.append((level, writer.write(self._next_z[level], block, self._pool)))
        while len(self._queued) > MAX_QUEUED_WRITES:
            self._settle_oldest()
        self._next_z[level] += block.shape[0]
        if level + 1 < len(self._writers):
            self._cascade(level + 1, block, final=False)

    def _settle_oldest(self) -> None:
        """Wait for the oldest queued block's chunk writes and start flushing their files."""
        _, futures = self._queued.popleft()
        for path in {path for future in futures for path in future.result()} - self._written:
            self._written.add(path)
            self._flusher.submit(start_writeback, path)

    def _settle(self, level: int | None = None) -> None:
        """Settle queued writes up to the last one of ``level`` (all of them when None)."""
        while any(level is None or queued == level for queued, _ in self._queued):
            self._settle_oldest()

    def _cascade(self, level: int, block: np.ndarray | None, final: bool) -> None:
        """Feed planes of ``level - 1`` into ``level``, keeping a remainder for z-halving."""
        factor = self.factors[level - 1]
        carry = self._carry[level]
        if carry is not None:
            block = carry if block is None else np.concatenate([carry, block])
        if block is None:
            return
        usable = block.shape[0] if final else block.shape[0] // factor[0] * factor[0]
        self._carry[level] = block[usable:].copy() if usable < block.shape[0] else None
        if usable:
            self._put(level, pyramid.downsample(block[:usable], factor, self.is_labels))

    def finalize(self, attrs: dict[str, Any]) -> None:
        """Complete the pyramid, check every plane was written, write the metadata, and make
        the whole store durable on disk (chunk files, metadata files, folders)."""
        for level in range(1, len(self._writers)):
            self._cascade(level, None, final=True)
        for level, array in enumerate(self.arrays):
            if self._next_z[level] != array.shape[0]:
                raise RuntimeError(
                    f"level {level}: {self._next_z[level]} of {array.shape[0]} planes written"
                )
        self._settle()
        list(self._flusher.map(fsync_file, self._written))
        scales = [self.voxel_size.zyx]
        for f in self.factors:
            scales.append(tuple(s * k for s, k in zip(scales[-1], f, strict=True)))
        method = "subsample" if self.is_labels else "mean"
        self.group.attrs.update(
            {
                "multiscales": ngff.multiscales(self.name, scales, method),
                "emstudio": {"kind": self.kind, "voxel_size": self.voxel_size.to_json(), **attrs},
            }
        )
        fsync_metadata(self.path)

    def close(self, abort: bool = False) -> None:
        """Stop the writer threads; ``abort`` drops queued work (the store is being discarded)."""
        self._pool.shutdown(wait=True, cancel_futures=abort)
        self._flusher.shutdown(wait=not abort, cancel_futures=True)
        # an interrupt inside a thread's start leaves that thread out of the pool's list; it
        # runs its chunk write all the same, and the caller removes the store only after it
        for thread in threading.enumerate():
            if thread.name.startswith(self._thread_names):
                thread.join()

    def __enter__(self) -> VolumeWriter:
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self.close(abort=exc_type is not None)


def write_boxes(writers: list[VolumeWriter], y0: int, x0: int, blocks: list[np.ndarray]) -> None:
    """Box ``k`` of ``blocks`` into store ``k`` at ``(y0, x0)`` (``VolumeWriter.write_box``),
    the stores side by side in threads (their pyramids are computed on the way)."""
    with ThreadPoolExecutor(len(writers), "store-box") as pool:
        list(pool.map(lambda writer, block: writer.write_box(y0, x0, block), writers, blocks))


class Volume:
    """Read access to a stored multiscale volume (ours, or any NGFF 0.4 image)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():  # a project's store deleted by hand, or a wrong path
            raise ProjectError(
                f"{self.path}: the volume's data folder is missing; restore it from a backup "
                "of the project, or delete the volume from the project."
            )
        try:
            self.group = zarr.open_group(str(self.path), mode="r")
            attrs = dict(self.group.attrs)
            self.attrs: dict[str, Any] = attrs.get("emstudio", {})
            multiscale = attrs["multiscales"][0]
            self._paths = [d["path"] for d in multiscale["datasets"]]
            self.scales = ngff.level_scales(attrs)
            self.arrays = [self.group[p] for p in self._paths]
        except (ValueError, KeyError, IndexError, TypeError, zarr.errors.BaseZarrError) as exc:
            # a .zattrs or .zarray emptied or cut short, a level's folder deleted
            raise DamagedVolumeError(
                self.path, f"its metadata cannot be read ({type(exc).__name__}: {exc})"
            ) from None
        self._slicers: dict[int, RawChunkSlicer | None] = {}
        if "voxel_size" in self.attrs:
            self.voxel_size = VoxelSize.from_json(self.attrs["voxel_size"])
        else:
            self.voxel_size = VoxelSize(*self.scales[0], known=True, origin="ome-zarr")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.arrays[0].shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.arrays[0].dtype)

    @property
    def levels(self) -> int:
        return len(self.arrays)

    @property
    def chunks(self) -> tuple[int, int, int]:
        return tuple(self.arrays[0].chunks)

    def level_shape(self, level: int) -> tuple[int, int, int]:
        return tuple(self.arrays[level].shape)

    def read(self, z0: int, z1: int, level: int = 0) -> np.ndarray:
        """Planes z0..z1-1 (through our chunk reader where it can: it notices damage)."""
        return np.asarray(self.boxes(level)[z0:z1, :, :])

    def iter_slabs(self, planes: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(z0, block) over level 0, ``planes`` at a time (default: one chunk of planes)."""
        step = planes or self.chunks[0]
        for z0 in range(0, self.shape[0], step):
            yield z0, self.read(z0, min(z0 + step, self.shape[0]))

    def plane(self, axis: int, index: int, level: int = 0) -> np.ndarray:
        """A full 2D plane: axis 0 -> XY (y, x), 1 -> XZ (z, x), 2 -> YZ (z, y)."""
        slicer = self._slicer(level)
        if slicer is not None:
            return slicer.plane(axis, index)
        key: list[Any] = [slice(None)] * 3
        key[axis] = index
        return np.asarray(self.arrays[level][tuple(key)])

    def boxes(self, level: int = 0) -> RawChunkSlicer | zarr.Array:
        """The array to read boxes from: our chunk reader where the layout allows it (raw or
        Blosc chunks: fast, and cheap to send to worker processes), else the zarr array."""
        return self._slicer(level) or self.arrays[level]

    def _slicer(self, level: int) -> RawChunkSlicer | None:
        if level not in self._slicers:
            meta_file = self.path / self._paths[level] / ".zarray"
            slicer = None
            if meta_file.is_file():
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                array = self.arrays[level]
                layout = (
                    meta_file.parent,
                    array.shape,
                    array.chunks,
                    array.dtype,
                    meta.get("fill_value") or 0,
                    meta.get("dimension_separator", "."),
                )
                if is_fast_layout(meta):
                    slicer = RawChunkSlicer(*layout)
                    if self.attrs.get("kind") == "image":  # an import writes every chunk
                        slicer = slicer.whole()
                elif is_blosc_layout(meta):
                    slicer = CompressedChunkSlicer(*layout, codec=meta["compressor"])
            self._slicers[level] = slicer
        return self._slicers[level]
