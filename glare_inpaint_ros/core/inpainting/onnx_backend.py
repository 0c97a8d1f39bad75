"""``onnx``: inpainting with any LaMa / MI-GAN / YAML-described model through ONNX Runtime (the
``learned`` backend, :mod:`.learned`, runs the project's shipped model through it).

onnxruntime is imported in the constructor, so the core works without it. The model is loaded and
warmed up at construction: a missing or malformed model file, or a model that fails on a test
input, is a ``ValueError`` there, never on the first frame.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..params import ParamSpec
from . import INPAINTERS
from .model import CONVENTION_PARAMS, CROP_PARAMS, ModelInpainter, resolve_spec
from .model_spec import ModelSpec, TensorInfo, detect_spec

LOG = logging.getLogger(__name__)

#: Short provider names accepted in ``providers`` (full ONNX Runtime names are accepted too).
PROVIDER_NAMES: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}

_ORT_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8"}

RUNTIME_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("providers", "cpu",
              "Execution providers in order of preference, comma-separated (tensorrt, cuda, "
              "openvino, cpu, or full ONNX Runtime names); unavailable ones are skipped with a "
              "warning, CPU is always the last resort.", read_only=True),
    ParamSpec("threads", 0, "Intra-op CPU threads (0 = ONNX Runtime's default).", 0, 256,
              read_only=True),
)


def select_providers(wanted: str, available: list[str]) -> list[str]:
    """ONNX Runtime provider names for a comma-separated preference list.

    Unknown or unavailable entries are skipped with a logged warning; ``CPUExecutionProvider``
    is appended when missing so a session can always be created.
    """
    chosen: list[str] = []
    for item in (p.strip() for p in wanted.split(",")):
        if not item:
            continue
        name = PROVIDER_NAMES.get(item.lower(), item)
        if name not in available:
            LOG.warning("onnx provider %r is not available here (available: %s); skipped", item,
                        ", ".join(available))
        elif name not in chosen:
            chosen.append(name)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def _infos(nodes: Any) -> list[TensorInfo]:
    return [TensorInfo(n.name, tuple(d if isinstance(d, int) else None for d in n.shape),
                       _ORT_DTYPES.get(n.type, n.type)) for n in nodes]


def merge_model_io(spec: ModelSpec, inputs: list[TensorInfo], outputs: list[TensorInfo],
                   source: str) -> ModelSpec:
    """Check a YAML spec's names against the model and take the fixed batch/size from the model."""
    names = {i.name: i for i in inputs}
    for key in ("image_input", "mask_input"):
        if getattr(spec, key) not in names:
            raise ValueError(f"model spec {key} {getattr(spec, key)!r} is not an input of "
                             f"{source} "
                             f"(inputs: {', '.join(names)})")
    out_names = [o.name for o in outputs]
    if spec.output is not None and spec.output not in out_names:
        raise ValueError(
            f"model spec output {spec.output!r} is not an output of {source} (outputs: "
            f"{', '.join(out_names)})")
    shape = names[spec.image_input].shape
    batch = shape[0] if len(shape) == 4 and isinstance(shape[0], int) and shape[0] > 0 else None
    size = spec.size
    if size is None and len(shape) == 4:
        hw = shape[2:4] if spec.layout == "NCHW" else shape[1:3]
        if all(isinstance(v, int) and v > 0 for v in hw):
            size = (int(hw[0]), int(hw[1]))
    return replace(spec, batch=batch, size=size, output=spec.output or out_names[0])


@INPAINTERS.register("onnx")
class OnnxInpainter(ModelInpainter):
    """Any inpainting model exported to ONNX, run by ONNX Runtime (LaMa / MI-GAN / YAML
    conventions)."""

    PARAMS = (
        ParamSpec("model_path", "", "Path of the .onnx model file (required).", read_only=True),
    ) + CONVENTION_PARAMS + RUNTIME_PARAMS + CROP_PARAMS

    def __init__(self, *, roi: bool = True, roi_margin: int = 16, **params: Any) -> None:
        super().__init__(roi=roi, roi_margin=roi_margin, **params)
        p = self.params
        spec = resolve_spec(p.get("model_spec", ""))
        path = p.get("model_path", "")
        if not path:
            if spec is not None and spec.files.get("onnx"):
                path = spec.files["onnx"]
            else:
                raise ValueError(
                    f"inpainting.{self.name}.model_path is required (path of an .onnx model)")
        self._open(Path(path), spec, p.get("convention", "auto"))

    def _open(self, path: Path, spec: ModelSpec | None, convention: str) -> None:
        """Create the session, resolve the spec and warm up."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ValueError(
                "the onnx inpainting backend needs onnxruntime: pip install onnxruntime") from exc
        if not path.is_file():
            raise ValueError(f"inpainting model file not found: {path}")
        options = ort.SessionOptions()
        if self.params["threads"]:
            options.intra_op_num_threads = int(self.params["threads"])
        options.log_severity_level = 3
        # No busy-waiting between ops: on a CPU shared with the rest of the robot's stack,
        # spinning worker threads steal time from everything else (and from each other).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = select_providers(self.params["providers"], ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"could not load ONNX model {path}: {exc}") from None
        inputs, outputs = _infos(self.session.get_inputs()), _infos(self.session.get_outputs())
        if spec is None:
            self.spec = detect_spec(inputs, outputs, convention)
        else:
            self.spec = merge_model_io(spec, inputs, outputs, str(path))
        self.providers = self.session.get_providers()
        LOG.info("onnx inpainting model %s: %s convention, providers %s", path,
                 self.spec.name or "yaml", self.providers)
        self._finish_init(str(path))

    def _run(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run([self.spec.output],
                                {self.spec.image_input: image, self.spec.mask_input: mask})[0]
