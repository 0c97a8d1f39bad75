"""Downstream clients: what a detector after the glare stage finds, scored on clean, glare and
output frames.

Each client (one per module) has ``name`` and::

    reference(clean, truth) -> ref | None     # what must be found (None: the client does not
    apply) score_against(ref, candidate) -> float    # 0..1, higher = more of it found on candidate
    score(clean, candidate, truth) -> float   # both steps; NaN when not applicable

Images are BGR uint8; ``truth`` is a rendered scene's :meth:`..content.ContentScene.truth` (text,
lane edges) or None for real photos (the reference is then what the client finds on the clean
frame). These are evaluation extras: the nodes never import them; the OCR client needs
``rapidocr-onnxruntime`` (``pip install .[eval]``), imported when it is created.
"""

from __future__ import annotations

from typing import Any

#: Client names accepted by :func:`make_client`, in report order.
CLIENT_NAMES: tuple[str, ...] = ("ocr", "lanes")


def make_client(name: str) -> Any:
    """A client by name (``ocr``, ``lanes``).

    Raises:
        ValueError: an unknown name.
        ImportError: the client's optional dependency is missing (the message says what to
            install).
    """
    if name == "ocr":
        from .ocr import OcrClient

        return OcrClient()
    if name == "lanes":
        from .lanes import LaneClient

        return LaneClient()
    raise ValueError(f"unknown client {name!r}; known: {', '.join(CLIENT_NAMES)}")
