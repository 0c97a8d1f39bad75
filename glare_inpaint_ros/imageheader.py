"""Encoded images (PNG, JPEG, BMP, TIFF, WebP, PNM): read the size from the header, then decode
safely.

One place for the decompression-bomb rule, used by the ROS nodes (``input_transport:
compressed``), the bag tool (CompressedImage topics) and ``glare-inpaint images``:

* :func:`read_header` parses the container header by hand (PNG IHDR, JPEG SOF marker, BMP info
  header, TIFF first IFD, WebP VP8/VP8L/VP8X chunk, PNM/PAM/PFM text header) and returns the
  format and ``width x height`` without decoding a pixel. A few dozen bytes can claim a
  100000x100000 image; this is how that is seen before any allocation.
* :func:`decode_image` refuses data whose header claims more than ``max_pixels`` (an
  :class:`ImageTooLargeError`), data in a format it cannot read the header of, and turns every
  decoder failure (``cv2.error``, a ``None`` result, a size that differs from the header's) into an
  :class:`~glare_inpaint_ros.encodings.ImageFormatError`: a caller counts one exception type.

No ROS import.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .encodings import Buffer, ImageFormatError

#: Default of ``input.max_pixels``: 50 megapixels (8660x5773, a 0.15 GB bgr8 frame once decoded).
DEFAULT_MAX_PIXELS = 50_000_000
#: Formats :func:`read_header` understands (anything else is refused: its size cannot be checked).
FORMATS = ("png", "jpeg", "bmp", "tiff", "webp", "pnm")


class ImageTooLargeError(ImageFormatError):
    """The header claims more pixels than allowed (a decompression bomb, or just too big)."""


@dataclass(frozen=True)
class ImageHeader:
    """What an encoded image's header says."""

    format: str  # noqa: A003 (public API name)
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _view(data: Buffer) -> memoryview:
    """A flat byte view of ``data`` (no copy)."""
    if isinstance(data, np.ndarray):
        return memoryview(np.ascontiguousarray(data).view(np.uint8).reshape(-1))
    return memoryview(data).cast("B")


def _png(b: bytes) -> tuple[int, int]:
    # 8-byte signature, then the IHDR chunk: length(4) "IHDR" width(4) height(4), big endian.
    if len(b) < 24 or b[12:16] != b"IHDR":
        raise ImageFormatError("PNG without an IHDR chunk")
    return struct.unpack(">II", b[16:24])


# Start-of-frame markers (baseline, progressive, lossless, arithmetic...): not DHT (C4), JPG (C8),
# DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(b: memoryview) -> tuple[int, int]:
    # Walk the marker segments (APPn such as EXIF can be up to 64 KiB each) up to the first SOF.
    i, n = 2, len(b)
    while i < n:
        if b[i] != 0xFF:
            raise ImageFormatError(f"JPEG: no marker at byte {i}")
        while i < n and b[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = b[i]
        i += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        if i + 2 > n:
            break
        length = struct.unpack_from(">H", b, i)[0]
        if length < 2:
            raise ImageFormatError(f"JPEG: bad segment length {length}")
        if marker in _SOF:
            if i + 7 > n:
                break
            height, width = struct.unpack_from(">HH", b, i + 3)
            if height == 0:  # height given later by a DNL marker: libjpeg cannot read these
                raise ImageFormatError("JPEG with height 0 (DNL) is not supported")
            return width, height
        i += length
    raise ImageFormatError("JPEG without a frame header (SOF) before the image data")


def _bmp(b: bytes) -> tuple[int, int]:
    if len(b) < 26:
        raise ImageFormatError("BMP header truncated")
    size = struct.unpack("<I", b[14:18])[0]
    if size == 12:  # OS/2 BITMAPCOREHEADER
        w, h = struct.unpack("<HH", b[18:22])
    else:
        w, h = struct.unpack("<ii", b[18:26])
    return abs(w), abs(h)  # negative height: a top-down bitmap


def _tiff(b: memoryview) -> tuple[int, int]:
    # The first IFD may sit anywhere (libtiff often writes it after the pixel data).
    end = "<" if b[:2] == b"II" else ">"
    big = struct.unpack_from(end + "H", b, 2)[0] == 43
    try:
        if big:  # BigTIFF: 8-byte offsets and counts, 20-byte entries
            offset = struct.unpack_from(end + "Q", b, 8)[0]
            count = struct.unpack_from(end + "Q", b, offset)[0]
            start, entry, value_at = offset + 8, 20, 12
        else:
            offset = struct.unpack_from(end + "I", b, 4)[0]
            count = struct.unpack_from(end + "H", b, offset)[0]
            start, entry, value_at = offset + 2, 12, 8
        dims: dict[int, int] = {}
        for k in range(min(count, 4096)):
            at = start + k * entry
            tag, typ = struct.unpack_from(end + "HH", b, at)
            if tag not in (256, 257):
                continue
            fmt = {3: "H", 4: "I", 16: "Q"}.get(typ)
            if fmt is None:
                raise ImageFormatError(f"TIFF: image size tag of type {typ}")
            dims[tag] = struct.unpack_from(end + fmt, b, at + value_at)[0]
    except struct.error:
        raise ImageFormatError("TIFF header truncated (first IFD outside the data)") from None
    if 256 not in dims or 257 not in dims:
        raise ImageFormatError("TIFF without ImageWidth/ImageLength in its first IFD")
    return dims[256], dims[257]


def _webp(b: bytes) -> tuple[int, int]:
    chunk = b[12:16]
    if chunk == b"VP8X" and len(b) >= 30:
        w = int.from_bytes(b[24:27], "little") + 1
        h = int.from_bytes(b[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 " and len(b) >= 30 and b[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", b[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(b) >= 25 and b[20] == 0x2F:
        bits = int.from_bytes(b[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise ImageFormatError("WebP without a readable VP8/VP8L/VP8X header")


_PNM_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n?)*(\d+)")


def _pnm(b: bytes) -> tuple[int, int]:
    if b[1:2] == b"7":  # PAM: "WIDTH n" / "HEIGHT n" lines up to ENDHDR
        head = b.split(b"ENDHDR", 1)[0]
        w, h = re.search(rb"\bWIDTH\s+(\d+)", head), re.search(rb"\bHEIGHT\s+(\d+)", head)
        if not (w and h):
            raise ImageFormatError("PAM header without WIDTH/HEIGHT")
        return int(w.group(1)), int(h.group(1))
    pos, nums = 2, []
    for _ in range(2):
        m = _PNM_TOKEN.match(b, pos)
        if not m:
            raise ImageFormatError("PNM header without width/height")
        nums.append(int(m.group(1)))
        pos = m.end()
    return nums[0], nums[1]


#: signature -> format; a format's header parser.
_SIGNATURES: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\x89PNG\r\n\x1a\n",), "png"),
    ((b"\xff\xd8",), "jpeg"),
    ((b"BM",), "bmp"),
    ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "tiff"),
    ((b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7", b"PF", b"Pf"), "pnm"),
)


def sniff(data: Buffer) -> str | None:
    """The format of encoded image data from its first bytes (one of :data:`FORMATS`), None if
    unknown."""
    b = bytes(_view(data)[:16])
    if b[:4] == b"RIFF" and b[8:12] == b"WEBP":
        return "webp"
    for signatures, fmt in _SIGNATURES:
        if b.startswith(signatures):
            return fmt
    return None


def read_header(data: Buffer) -> ImageHeader:
    """Format and size of an encoded image, from its header only.

    Raises:
        ImageFormatError: empty data, a format that is not one of :data:`FORMATS`, or a header
            that is truncated or malformed (``undecodable <format> data ...``).
    """
    view = _view(data)
    if not len(view):
        raise ImageFormatError("no image data (0 bytes)")
    fmt = sniff(view)
    if fmt is None:
        raise ImageFormatError(f"undecodable data ({len(view)} bytes, starts "
                               f"{bytes(view[:8]).hex()}): not an "
                               f"image format whose size can be checked ({', '.join(FORMATS)})")
    head = bytes(view[:4096])  # the fixed-position headers; JPEG and TIFF walk the whole view
    parse = {"png": _png, "jpeg": _jpeg, "bmp": _bmp, "tiff": _tiff, "webp": _webp,
             "pnm": _pnm}[fmt]
    try:
        w, h = parse(view if fmt in ("jpeg", "tiff") else head)
    except (ImageFormatError, struct.error, IndexError, ValueError) as exc:
        raise ImageFormatError(f"undecodable {fmt} data ({len(view)} bytes): {exc}") from None
    return ImageHeader(fmt, int(w), int(h))


def check_size(header: ImageHeader, max_pixels: int) -> None:
    """Raise :class:`ImageTooLargeError` when ``header`` claims more than ``max_pixels`` (0 = no
    limit)."""
    if header.width <= 0 or header.height <= 0:
        raise ImageFormatError(
            f"{header.format} header claims a {header.width}x{header.height} image")
    if max_pixels and header.pixels > max_pixels:
        raise ImageTooLargeError(
            f"{header.format} image of {header.width}x{header.height} = {header.pixels / 1e6:.1f} "
            "MP is over "
            f"input.max_pixels = {max_pixels / 1e6:.1f} MP: not decoded")


def decode_image(data: Buffer, flags: int = cv2.IMREAD_UNCHANGED,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """``cv2.imdecode`` behind the header check; every failure is an :class:`ImageFormatError`.

    Args:
        data: the encoded bytes (bytes, array('B'), memoryview or uint8 ndarray).
        flags: ``cv2.IMREAD_*``.
        max_pixels: refuse images whose header claims more pixels (0 = no limit).

    Raises:
        ImageTooLargeError: over ``max_pixels``, nothing decoded.
        ImageFormatError: unreadable header, unknown format, or a decoder failure.
    """
    header = read_header(data)
    check_size(header, max_pixels)
    buf = (data.view(np.uint8).reshape(-1) if isinstance(data, np.ndarray)
           else np.frombuffer(data, dtype=np.uint8))
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cv2.error"
        raise ImageFormatError(
            f"{header.format} decoder failed ({buf.size} bytes): {reason}") from None
    if img is None:
        raise ImageFormatError(f"undecodable {header.format} data ({buf.size} bytes)")
    if sorted(img.shape[:2]) != sorted((header.height,
                                        header.width)):  # EXIF orientation may swap them
        raise ImageFormatError(f"{header.format} decoded to {img.shape[1]}x{img.shape[0]}, "
                               f"header said {header.width}x{header.height}")
    return img
