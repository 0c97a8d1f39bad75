"""PyTorch inpainting backend ``torch``: a TorchScript file, or a module class plus a state dict.

torch is imported in the constructor, so the core works without it. The same conventions as the
``onnx`` backend (LaMa / MI-GAN / YAML, see :mod:`.model_spec`) and the same crop/batch/paste code
(:mod:`.learned`). The model is called as ``model(image, mask)`` (positional, in that order) under
``torch.inference_mode``; a tuple/list/dict output uses its first (or the spec's ``output``) entry.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..params import ParamSpec
from . import INPAINTERS
from .model import CONVENTION_PARAMS, CROP_PARAMS, ModelInpainter, resolve_spec
from .model_spec import CONVENTIONS, LAMA

LOG = logging.getLogger(__name__)


def import_class(path: str) -> type:
    """``"pkg.mod:Class"`` -> the class; ``ValueError`` naming what is wrong."""
    if ":" not in path:
        raise ValueError(f"module must be 'package.module:Class', got {path!r}")
    mod_name, _, cls_name = path.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {mod_name!r} for the torch model: {exc}") from None
    try:
        return getattr(module, cls_name)
    except AttributeError:
        raise ValueError(f"module {mod_name!r} has no class {cls_name!r}") from None


@INPAINTERS.register("torch")
class TorchInpainter(ModelInpainter):
    """A PyTorch inpainting model (TorchScript, or ``module`` class + state dict) on CPU or
    CUDA."""

    PARAMS = (
        ParamSpec("model_path", "",
                  "TorchScript file, or the state dict when 'module' is set; '' = the model_spec "
                  "YAML's torch_state_dict.", read_only=True),
        ParamSpec("module", "",
                  "Model class 'package.module:Class' (built with no arguments, then the state "
                  "dict is loaded); '' = model_path is TorchScript (or the YAML's torch_module).",
                  read_only=True),
        ParamSpec("device", "cpu", "Torch device: cpu, cuda or cuda:N.", read_only=True),
        ParamSpec("half", False, "Run in float16 (CUDA only; ignored with a warning on CPU).",
                  read_only=True),
        ParamSpec("threads", 0, "torch CPU threads (0 = leave torch's setting).", 0, 256,
                  read_only=True),
    ) + CONVENTION_PARAMS + CROP_PARAMS

    def __init__(self, *, roi: bool = True, roi_margin: int = 16, **params: Any) -> None:
        super().__init__(roi=roi, roi_margin=roi_margin, **params)
        try:
            import torch
        except ImportError as exc:
            raise ValueError(
                "the torch inpainting backend needs torch: pip install torch") from exc
        self._torch = torch
        p = self.params
        spec = resolve_spec(p["model_spec"])
        files = spec.files if spec is not None else {}
        path = p["model_path"] or files.get("torch_state_dict", "")
        module = p["module"] or (files.get("torch_module", "") if not p["model_path"] else "")
        if not path:
            raise ValueError(
                f"inpainting.{self.name}.model_path is required (TorchScript file or state dict)")
        path_ = Path(path)
        if not path_.is_file():
            raise ValueError(f"inpainting model file not found: {path_}")
        device = p["device"]
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"inpainting.{self.name}.device is {device!r} but CUDA is not available")
        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"inpainting.{self.name}.device {device!r}: {exc}") from None
        self.half = bool(p["half"]) and self.device.type == "cuda"
        if p["half"] and not self.half:
            LOG.warning("torch inpainting: half=true needs CUDA; running float32 on %s",
                        self.device)
        if p["threads"]:
            torch.set_num_threads(int(p["threads"]))
        self.model = self._load(path_, module)
        if spec is None:
            spec = CONVENTIONS[p["convention"]] if p["convention"] in CONVENTIONS else LAMA
            if p["convention"] == "auto":
                LOG.info(
                    "torch inpainting: no model_spec, assuming the LaMa convention (float RGB "
                    "0..1, mask 1 = hole)")
        self.spec = spec
        self._finish_init(str(path_))

    def _load(self, path: Path, module: str) -> Any:
        torch = self._torch
        try:
            if module:
                cls = import_class(module)
                model = cls()
                state = torch.load(str(path), map_location="cpu", weights_only=True)
                if isinstance(state, dict) and "state_dict" in state and \
                        isinstance(state["state_dict"], dict):
                    state = state["state_dict"]
                model.load_state_dict(state)
            else:
                model = torch.jit.load(str(path), map_location="cpu")
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
            raise ValueError(
                f"could not load torch model {path}: {type(exc).__name__}: {exc}") from None
        model = model.eval().to(self.device)
        if self.half:
            model = model.half()
        return model

    def _run(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            tensors = []
            for a in (image, mask):
                t = torch.from_numpy(a).to(self.device)
                if self.half and t.is_floating_point():
                    t = t.half()
                tensors.append(t)
            out = self.model(*tensors)
            if isinstance(out, dict):
                out = (out[self.spec.output] if self.spec.output in out
                       else next(iter(out.values())))
            elif isinstance(out, (tuple, list)):
                out = out[0]
            return out.float().cpu().numpy() if out.is_floating_point() else out.cpu().numpy()
