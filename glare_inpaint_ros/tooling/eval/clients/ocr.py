"""OCR client: PP-OCRv4 (``rapidocr-onnxruntime``) reading text, scored by character accuracy.

``rapidocr-onnxruntime`` is an evaluation extra (``pip install .[eval]``); its detection, direction
and recognition ONNX models ship inside the wheel and run offline on the CPU. It is imported when
the first :class:`OcrClient` is created (never by the nodes); a missing install raises ImportError
naming the extra.

Reading: every recognised box's text, in reading order (boxes grouped into lines by their vertical
centre, lines top to bottom, boxes in a line left to right), concatenated. Normalisation
(:func:`normalise`): case-folded, all whitespace removed (line and word breaks are where OCR and
the truth disagree most, and they carry no characters a reader needs).

Score (:func:`char_accuracy`, 0..1): ``1 - levenshtein(reading, truth) / len(truth)``, floored at
0. The truth is the rendered string for rendered frames (``truth["text"]``; a rendered frame whose
``text`` is None has nothing to read and is not scored) and, for real photos, the clean frame's own
reading (not scored when that reading is empty).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from typing import Any

import numpy as np

#: Threads per ONNX Runtime session (intra-op), env ``GLARE_OCR_THREADS``: on the shared 2-core
#: machines one thread was 3x faster than two (0.66 vs 2.1 s per 640x480 frame under load).
DEFAULT_THREADS = int(os.environ.get("GLARE_OCR_THREADS", "1"))


def normalise(text: str) -> str:
    """Case-folded ``text`` with every whitespace character removed."""
    return "".join(text.casefold().split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, each cost 1) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(reading: str, truth: str) -> float:
    """``1 - levenshtein / len(truth)`` (0..1) on :func:`normalise`-d strings; NaN for an empty
    truth."""
    r, t = normalise(reading), normalise(truth)
    if not t:
        return float("nan")
    return max(0.0, 1.0 - levenshtein(r, t) / len(t))


def reading_order(boxes: list[tuple[np.ndarray, str]]) -> str:
    """Texts of ``(quad 4x2 px, text)`` boxes joined in reading order (see the module
    docstring)."""
    items = []
    for quad, text in boxes:
        q = np.asarray(quad, np.float32).reshape(-1, 2)
        items.append(
            (float(q[:, 1].mean()), float(q[:, 1].max() - q[:, 1].min()), float(q[:, 0].min()),
             text))
    items.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for it in items:
        if lines and abs(it[0] - np.mean([x[0] for x in lines[-1]])) < 0.5 * max(it[1], 1.0):
            lines[-1].append(it)
        else:
            lines.append([it])
    return "\n".join(" ".join(x[3] for x in sorted(line, key=lambda x: x[2])) for line in lines)


#: Text detection input: frames whose short side is below this (px) are upscaled to it (the wheel's
#: default 736 upscales a 640x480 frame 1.5x for no gain on printed text, at 1.6x the time).
DET_MIN_SIDE = 480

_ENGINES: dict[int, Any] = {}


def _engine(threads: int) -> Any:
    """One shared RapidOCR engine per thread count (creating one loads three ONNX models, ~1 s)."""
    if threads not in _ENGINES:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ImportError(
                "the OCR client needs rapidocr-onnxruntime, an evaluation extra: pip install "
                "'.[eval]' "
                "(or pass --clients lanes)"
            ) from exc
        _ENGINES[threads] = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1,
                                     det_limit_side_len=DET_MIN_SIDE)
    return _ENGINES[threads]


class OcrClient:
    """PP-OCRv4 reader as a downstream client (see the module docstring)."""

    name = "ocr"

    #: Readings remembered (by image content): identical frames (a chain that passed the frame
    #: through, several configurations with the same output) are read once.
    CACHE_SIZE = 64

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        self._engine = _engine(int(threads))
        self._cache: OrderedDict[bytes, str] = OrderedDict()

    def read(self, image: np.ndarray) -> str:
        """Text read in ``image`` (BGR uint8), in reading order; ``""`` when nothing is found."""
        image = np.ascontiguousarray(image)
        key = hashlib.sha1(image.data).digest() + repr(image.shape).encode()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result, _ = self._engine(image)
        text = reading_order([(box, t) for box, t, _score in result]) if result else ""
        self._cache[key] = text
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return text

    def reference(self, clean: np.ndarray, truth: dict[str, Any] | None) -> str | None:
        """The text to read: ``truth["text"]`` for rendered frames, else the clean frame's reading.

        None when there is nothing to read (the client does not apply to the frame).
        """
        text = truth.get("text") if truth is not None and "text" in truth else self.read(clean)
        return text if text and normalise(text) else None

    def score_against(self, reference: str, candidate: np.ndarray) -> float:
        """Character accuracy (0..1) of the reading of ``candidate`` against ``reference``."""
        return char_accuracy(self.read(candidate), reference)

    def score(self, clean: np.ndarray, candidate: np.ndarray,
              truth: dict[str, Any] | None = None) -> float:
        """:meth:`reference` of ``clean`` then :meth:`score_against` ``candidate``; NaN if not
        applicable."""
        ref = self.reference(clean, truth)
        return float("nan") if ref is None else self.score_against(ref, candidate)
