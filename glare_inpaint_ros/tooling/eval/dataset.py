"""Evaluation data sets on disk, and the image file I/O shared by the command-line tools.

Layout of a data set folder::

    ROOT/input/NAME.{png,jpg,jpeg,bmp,tif,tiff}   images with glare (required, at least one)
    ROOT/mask/NAME.*                              optional ground-truth glare masks (>= 128 =
    glare) ROOT/gt/NAME.*                                optional clean ground-truth images

    ROOT/truth/NAME.json                          optional scene truth of rendered sets (text, lane
                                                  edges: :meth:`.content.ContentScene.truth`)

Files are matched by stem, so ``input/a.jpg`` pairs with ``mask/a.png``. When ``mask/`` exists,
every input needs its mask (and likewise for ``gt/``); sizes must match.

When ``gt/`` exists but ``mask/`` does not (real highlight-removal sets such as SHIQ/Shen ship
input + clean image only), the scoring region is *derived*: a pixel is glare when the input is
brighter than the clean image by at least :data:`DERIVED_MASK_THRESHOLD` 8-bit levels in some
channel, ``max_c(input_c - gt_c) >= 20`` (a specular highlight only adds light; the synthetic
set's ground-truth rule). Such a mask is an approximation: samples carry
``mask_source == "derived"`` and reports say so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ...encodings import ImageFormatError
from ...imageheader import DEFAULT_MAX_PIXELS, decode_image

from ...synth import GT_DELTA

#: File name endings (lower case) read as images.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: Minimum brightening in 8-bit levels (input over clean, any channel) of a derived glare pixel:
#: the same rule, and value, as the synthetic set's ground truth (:data:`.synth.GT_DELTA`).
DERIVED_MASK_THRESHOLD: int = GT_DELTA


# --------------------------------------------------------------------------- file I/O


def load_image(path: str | Path, flags: int = cv2.IMREAD_COLOR,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file: header checked first
    (:func:`glare_inpaint_ros.imageheader.decode_image`), then ``cv2.imdecode`` (works with any
    path encoding).

    Raises:
        OSError: the file cannot be read.
        ImageFormatError: empty, not an image, over ``max_pixels`` (:class:`ImageTooLargeError`,
            not decoded) or a decoder failure; the message says which.
    """
    return decode_image(np.fromfile(str(path), dtype=np.uint8), flags, max_pixels)


def read_image(path: str | Path, flags: int = cv2.IMREAD_COLOR,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray | None:
    """:func:`load_image`, or None when the file is missing, unreadable, too large or not a
    decodable image."""
    try:
        return load_image(path, flags, max_pixels)
    except (OSError, ImageFormatError):
        return None


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write ``image`` (OpenCV layout, BGR) to ``path`` atomically, the format taken from its
    extension.

    The file is written under a temporary name in the same folder and renamed into place once
    complete, so ``path`` is never a truncated file (a full disk, a kill): either the old file (or
    none) or the new one.

    Raises:
        ValueError: OpenCV cannot encode the array in that format.
        OSError: the file cannot be written (the temporary file is removed).
    """
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise ValueError(
            f"cannot encode an array of shape {image.shape} ({image.dtype}) as {path.suffix}")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 0o666)  # umask applies, like a plain open
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # name the file we wrote, not the temporary one
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def list_images(folder: str | Path) -> list[Path]:
    """Image files (by extension, case-insensitive) directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file()
                  and p.suffix.lower() in IMAGE_EXTENSIONS)


def derive_mask(image: np.ndarray, clean: np.ndarray,
                threshold: int = DERIVED_MASK_THRESHOLD) -> np.ndarray:
    """Glare mask (uint8, 255 = glare) where ``image`` is brighter than ``clean`` by
    ``>= threshold`` 8-bit levels in at least one channel."""
    if image.shape != clean.shape:
        raise ValueError(
            f"image shape {image.shape} does not match clean image shape {clean.shape}")
    diff = cv2.subtract(image, clean)  # saturating: only brightening counts
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    return np.where(diff >= threshold, np.uint8(255), np.uint8(0))


# --------------------------------------------------------------------------- data set


@dataclass
class Sample:
    """One evaluation image.

    Attributes:
        name: file stem, unique within the data set.
        image: input, ``HxWx3`` uint8 BGR.
        mask: ground-truth glare mask ``HxW`` uint8 (255 = glare), or None.
        gt: clean ground-truth ``HxWx3`` uint8 BGR, or None.
        mask_source: ``"file"`` (from ``mask/``), ``"derived"`` (from ``|input - gt|``) or None.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray | None
    gt: np.ndarray | None
    mask_source: str | None


def _by_stem(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in list_images(folder):
        if path.stem in files:
            raise ValueError(f"{folder}: two images share the name {path.stem!r} "
                             f"({files[path.stem].name}, {path.name})")
        files[path.stem] = path
    return files


class Dataset:
    """A data set folder (see the module docstring); iterate it for :class:`Sample` objects.

    File discovery and pairing happen in the constructor (so layout errors surface at once);
    images are read lazily, one sample at a time.

    Raises:
        ValueError: ``root`` or ``root/input`` missing, no images in ``input/``, an input without
            its mask/gt file, duplicate stems; while iterating, an unreadable file or mismatched
            image/mask/gt sizes (the message names the file).
    """

    def __init__(self, root: str | Path, name: str | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"data set folder {self.root} does not exist")
        input_dir = self.root / "input"
        if not input_dir.is_dir():
            raise ValueError(f"data set folder {self.root} has no input/ sub-folder")
        self.name = name or self.root.name
        self.inputs = _by_stem(input_dir)
        if not self.inputs:
            raise ValueError(f"{input_dir} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
        self.masks = self._paired("mask")
        self.gts = self._paired("gt")

    def _paired(self, sub: str) -> dict[str, Path] | None:
        folder = self.root / sub
        if not folder.is_dir():
            return None
        files = _by_stem(folder)
        missing = sorted(set(self.inputs) - set(files))
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise ValueError(f"{folder}: no file for {len(missing)} input image(s): {shown}")
        return files

    @property
    def has_mask(self) -> bool:
        """True when a glare mask is available (from ``mask/`` or derived from ``gt/``)."""
        return self.masks is not None or self.gts is not None

    @property
    def has_gt(self) -> bool:
        return self.gts is not None

    @property
    def mask_source(self) -> str | None:
        """``"file"``, ``"derived"`` or None (see :class:`Sample`)."""
        if self.masks is not None:
            return "file"
        return "derived" if self.gts is not None else None

    def names(self) -> list[str]:
        return sorted(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def load(self, name: str) -> Sample:
        """Read one sample by stem."""
        image = read_image(self.inputs[name], cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {self.inputs[name]}")
        mask = gt = None
        if self.gts is not None:
            gt = read_image(self.gts[name], cv2.IMREAD_COLOR)
            if gt is None:
                raise ValueError(f"cannot read image {self.gts[name]}")
            _check_size(gt, image, self.gts[name])
        if self.masks is not None:
            raw = read_image(self.masks[name], cv2.IMREAD_GRAYSCALE)
            if raw is None:
                raise ValueError(f"cannot read mask {self.masks[name]}")
            _check_size(raw, image, self.masks[name])
            mask = np.where(raw >= 128, np.uint8(255), np.uint8(0))
        elif gt is not None:
            mask = derive_mask(image, gt)
        return Sample(name, image, mask, gt, self.mask_source)

    def __iter__(self) -> Iterator[Sample]:
        for name in self.names():
            yield self.load(name)

    def truth(self, name: str) -> dict | None:
        """Scene truth of image ``name`` from ``ROOT/truth/NAME.json`` (rendered sets), or None."""
        return _read_truth(self.root / "truth", name)


def _read_truth(folder: Path | None, name: str) -> dict | None:
    if folder is None or not (folder / f"{name}.json").is_file():
        return None
    from ...synth.content import read_truth

    return read_truth(folder / f"{name}.json")


class NoGlareSet:
    """A folder of glare-free images (every change a chain makes to them is harm).

    The images are ``ROOT/input/*`` when ``input/`` exists, else the images directly in ``ROOT``
    (so a data set's ``gt/`` folder is a no-glare set). Scene truth, if any, is read from
    ``truth_dir`` (default ``ROOT/truth``) as ``NAME.json``.

    Raises:
        ValueError: ``root`` missing or without images.
    """

    def __init__(self, root: str | Path, name: str | None = None,
                 truth_dir: str | Path | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"no-glare folder {self.root} does not exist")
        folder = self.root / "input" if (self.root / "input").is_dir() else self.root
        self.images = _by_stem(folder)
        if not self.images:
            raise ValueError(f"{folder} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
        self.name = name or (self.root.name if folder == self.root / "input"
                             or self.root.name not in ("gt", "input")
                             else f"{self.root.parent.name}_{self.root.name}")
        self.truth_dir = Path(truth_dir) if truth_dir is not None else self.root / "truth"

    def names(self) -> list[str]:
        return sorted(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def load(self, name: str) -> np.ndarray:
        """Image ``name`` as BGR uint8."""
        image = read_image(self.images[name], cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {self.images[name]}")
        return image

    def truth(self, name: str) -> dict | None:
        """Scene truth of image ``name`` (``truth_dir/NAME.json``), or None."""
        return _read_truth(self.truth_dir, name)


def _check_size(array: np.ndarray, image: np.ndarray, path: Path) -> None:
    if array.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"{path}: size {array.shape[1]}x{array.shape[0]} does not match its input image "
            f"{image.shape[1]}x{image.shape[0]} (WxH)"
        )
