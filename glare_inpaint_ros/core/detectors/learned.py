"""``learned``: a tiny segmentation network trained on the synthetic glare set, run by ONNX
Runtime.

The network and its training are in :mod:`glare_inpaint_ros.tooling.training.detector_net` and
:mod:`glare_inpaint_ros.tooling.training.train_detector` (``glare-inpaint train-detector``); the
shipped model is ``glare_inpaint_ros/models/glare_detector.onnx``. Per frame (``W x H`` px):

1. the frame is area-downscaled to the *context* resolution (the fraction ``context_scale`` stored
   in the model's ONNX metadata, 1/8 for the shipped model; not a parameter, the network was
   trained for it) and, if ``scale`` < 1, to the *head* resolution (OpenCV);
2. the ONNX model maps the context image (uint8 BGR ``[1, h, w, 3]``) to three coefficient maps
   ``(a, g_min, g_max)`` (float32 ``[1, 3, h, w]``);
3. the maps are upsampled bilinearly to the head resolution and the glare logit
   ``a + g_min * min(B,G,R) + g_max * max(B,G,R)`` (channel values 0..1) is compared with the
   logit of ``threshold`` (the threshold is folded into ``a`` at context resolution);
4. the logit is upsampled bilinearly to the frame: mask = 255 where it is >= 0.

onnxruntime is imported in the constructor (the rest of the core works without it); the model is
loaded and warmed up there, so a missing or malformed model is a ``ValueError`` at construction.
Trained on synthetic data only: see the model's JSON summary and the project report for its
accuracy and its transfer to real images.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from ..masks import compare
from ..params import ParamSpec
from . import DETECTORS
from .base import Detector
from .threshold import value_and_min

#: The shipped model (used when ``model_path`` is "").
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "glare_detector.onnx"
#: Network input resolution (fraction of the frame) of a model without ``context_scale`` metadata.
DEFAULT_CONTEXT_SCALE = 0.125
#: Number of coefficient maps the model must output: a, g_min, g_max.
N_COEF = 3


@DETECTORS.register("learned")
class LearnedDetector(Detector):
    """Tiny learned segmenter (ONNX Runtime, CPU) with a per-pixel linear head at ``scale``."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("model_path", "",
                  "Path of the detector .onnx model; '' = the shipped models/glare_detector.onnx.",
                  read_only=True),
        ParamSpec("scale", 0.5,
                  "Head resolution as a fraction 0..1 of the frame: where the per-pixel "
                  "classifier runs before the logit is upsampled (lower = faster, coarser mask "
                  "edges; the shipped model was trained at 1.0 and validates the same at 0.5); "
                  "the network's own input resolution is fixed by the model.", 0.1, 1.0),
        ParamSpec("threshold", 0.5, "Glare probability (0..1) above which a pixel is glare.", 0.01,
                  0.99),
        ParamSpec("threads", 1, "ONNX Runtime intra-op CPU threads (0 = its default, all cores).",
                  0, 256, read_only=True),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        path = Path(p["model_path"]) if p["model_path"] else SHIPPED_MODEL
        if not path.is_file():
            raise ValueError(f"detector.learned.model_path: model file not found: {path}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ValueError(
                "the learned detector needs onnxruntime: pip install onnxruntime") from exc
        options = ort.SessionOptions()
        if p["threads"]:
            options.intra_op_num_threads = int(p["threads"])
        options.log_severity_level = 3
        # No busy-waiting between ops (the CPU is shared with the rest of the robot's stack).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"could not load detector model {path}: {exc}") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(uint8)":
            raise ValueError(f"detector model {path} must take one uint8 [1, h, w, 3] BGR input, "
                             f"got {[(i.name, i.type, i.shape) for i in inputs]}")
        self._input = inputs[0].name
        self._output = self._session.get_outputs()[0].name
        self.model_path = path
        meta = self._session.get_modelmeta().custom_metadata_map
        try:
            self.context_scale = float(meta.get("context_scale", DEFAULT_CONTEXT_SCALE))
        except ValueError:
            raise ValueError(
                f"detector model {path}: bad context_scale metadata "
                f"{meta.get('context_scale')!r}") from None
        if not 0.0 < self.context_scale <= 1.0:
            raise ValueError(
                f"detector model {path}: context_scale metadata {self.context_scale} is not in "
                "(0, 1]")
        #: The threshold as a logit (folded into the bias map).
        self._logit_threshold = math.log(p["threshold"] / (1.0 - p["threshold"]))
        try:
            warm = self._coefficients(np.zeros((60, 80, 3), np.uint8))
        except Exception as exc:  # noqa: BLE001 - a broken graph fails in onnxruntime
            raise ValueError(f"detector model {path} failed on a test input: {exc}") from None
        if warm.shape != (60, 80, N_COEF):
            raise ValueError(f"detector model {path} must output [1, {N_COEF}, h, w] coefficient "
                             "maps, "
                             f"got shape {warm.shape[::-1]} (reversed HxWxC)")

    def _coefficients(self, context: np.ndarray) -> np.ndarray:
        """``h x w x 3`` float32 ``(a - logit(threshold), g_min / 255, g_max / 255)`` of a context
        image."""
        coef = self._session.run([self._output], {self._input: context[None]})[0]
        if coef.ndim != 4 or coef.shape[:2] != (1, N_COEF) or coef.shape[2:] != context.shape[:2]:
            raise ValueError(
                f"unexpected model output shape {coef.shape} for input {context.shape}")
        c = np.ascontiguousarray(coef[0].transpose(1, 2, 0), dtype=np.float32)
        c[:, :, 0] -= np.float32(self._logit_threshold)
        c[:, :, 1:] *= np.float32(1.0 / 255.0)
        return c

    def logit(self, bgr: np.ndarray) -> np.ndarray:
        """The glare logit minus ``logit(threshold)`` at head resolution (float32
        ``round(H*scale) x round(W*scale)``)."""
        h, w = bgr.shape[:2]
        scale = self.params["scale"]
        hw, hh = max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)
        head = (bgr if (hw, hh) == (w, h)
                else cv2.resize(bgr, (hw, hh), interpolation=cv2.INTER_AREA))
        cw, ch = max(int(w * self.context_scale), 1), max(int(h * self.context_scale), 1)
        context = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_AREA)
        # Split at context resolution, then upsample three planes (splitting a full-size
        # 3-channel float image costs more than the three resizes).
        a, g_min, g_max = (cv2.resize(c, (hw, hh), interpolation=cv2.INTER_LINEAR)
                           for c in cv2.split(self._coefficients(context)))
        value, minimum = value_and_min(head)
        # a + g_min * m + g_max * V, accumulated in place on the float32 bias plane.
        cv2.accumulateProduct(minimum.astype(np.float32), g_min, a)
        cv2.accumulateProduct(value.astype(np.float32), g_max, a)
        return a

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        logit = self.logit(bgr)
        if logit.shape != (h, w):
            logit = cv2.resize(logit, (w, h), interpolation=cv2.INTER_LINEAR)
        return compare(logit, 0.0, cv2.CMP_GE)
