"""How a learned inpainting model wants its inputs: the two common conventions and a YAML
description.

A :class:`ModelSpec` says everything the pre/post-processing in :mod:`.learned` needs to feed a
model and read its answer: input/output names, tensor layout, dtype and value range, channel
order, mask polarity, fixed size or pad multiple. It comes from

* :data:`LAMA`: the widely used LaMa export (``image`` float32 RGB 0..1 ``[B,3,H,W]``,
  ``mask`` float32 ``[B,1,H,W]`` 1 = hole, output float RGB whose range (0..1 or 0..255) is
  detected at warm-up, usually a fixed 512x512 input);
* :data:`MIGAN`: the MI-GAN ONNX pipeline (``image`` uint8 RGB ``[B,3,H,W]``, ``mask`` uint8
  ``[B,1,H,W]`` 255 = known / 0 = hole, output ``result`` uint8, dynamic H/W);
* a YAML file (:func:`load_spec`) whose keys are the :class:`ModelSpec` fields, e.g.::

      image_input: image        # input names
      mask_input: mask
      output: output            # null = the first output
      layout: NCHW              # or NHWC
      channel_order: RGB        # or BGR
      image_dtype: float32      # float32 | float16 | uint8
      image_max: 1.0            # value of a white pixel (1.0 or 255.0)
      mask_dtype: float32
      mask_max: 1.0             # value of a set mask pixel
      mask_hole: high           # high: mask_max = hole (LaMa); low: 0 = hole (MI-GAN)
      output_max: null          # white in the output; null = detect at warm-up
      size: [512, 512]          # fixed [H, W] (crops are resized to it); null = dynamic
      pad_multiple: 8           # dynamic models: H and W padded up to a multiple of this, px
      max_side: 0               # dynamic models: longer crops are downscaled to this, px (0 =
      never) prefill: none             # pushpull: residual model over a native-resolution
      push-pull fill
                                # (see glare_inpaint_ros/core/inpainting/model.py)

:func:`detect_spec` picks the convention from a model's input names, dtypes and shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

DTYPES = ("float32", "float16", "uint8")
#: ``prefill`` values: ``none`` (the model sees the crop as is and its output is used as is) or
#: ``pushpull`` (the crop's holes are first filled by the ``fast`` push-pull fill at the crop's
#: native resolution; the model's change to its input, ``output - input``, is upsampled and added
#: to that native fill).
PREFILLS = ("none", "pushpull")


@dataclass(frozen=True)
class ModelSpec:
    """Input/output conventions of one inpainting model (see the module docstring for each field).

    ``batch`` is the model's fixed batch size (None = dynamic); ``files`` holds optional file
    references of a YAML description (``onnx``, ``torch_state_dict``, ``torch_module``) resolved
    against the YAML's folder.
    """

    image_input: str = "image"
    mask_input: str = "mask"
    output: str | None = None
    layout: str = "NCHW"
    channel_order: str = "RGB"
    image_dtype: str = "float32"
    image_max: float = 1.0
    mask_dtype: str = "float32"
    mask_max: float = 1.0
    mask_hole: str = "high"
    output_max: float | None = None
    size: tuple[int, int] | None = None
    pad_multiple: int = 8
    max_side: int = 0
    prefill: str = "none"
    batch: int | None = None
    name: str = ""
    files: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.layout not in ("NCHW", "NHWC"):
            raise ValueError(f"model spec: layout must be NCHW or NHWC, got {self.layout!r}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(
                f"model spec: channel_order must be RGB or BGR, got {self.channel_order!r}")
        for key in ("image_dtype", "mask_dtype"):
            if getattr(self, key) not in DTYPES:
                raise ValueError(
                    f"model spec: {key} must be one of {', '.join(DTYPES)}, got "
                    f"{getattr(self, key)!r}")
        if self.mask_hole not in ("high", "low"):
            raise ValueError(
                "model spec: mask_hole must be 'high' (max = hole) or 'low' (0 = hole), got "
                f"{self.mask_hole!r}")
        for key in ("image_max", "mask_max"):
            if not float(getattr(self, key)) > 0:
                raise ValueError(f"model spec: {key} must be > 0, got {getattr(self, key)!r}")
        if self.output_max is not None and not float(self.output_max) > 0:
            raise ValueError(
                f"model spec: output_max must be > 0 or null, got {self.output_max!r}")
        if self.size is not None and (len(self.size) != 2 or min(int(v) for v in self.size) < 1):
            raise ValueError(
                f"model spec: size must be [height, width] in px or null, got {self.size!r}")
        if int(self.pad_multiple) < 1:
            raise ValueError(f"model spec: pad_multiple must be >= 1, got {self.pad_multiple!r}")
        if int(self.max_side) < 0:
            raise ValueError(f"model spec: max_side must be >= 0, got {self.max_side!r}")
        if self.prefill not in PREFILLS:
            raise ValueError(
                f"model spec: prefill must be one of {', '.join(PREFILLS)}, got {self.prefill!r}")


#: LaMa ONNX export convention (output range detected at warm-up).
LAMA = ModelSpec(name="lama", image_dtype="float32", image_max=1.0, mask_dtype="float32",
                 mask_max=1.0,
                 mask_hole="high", output_max=None, pad_multiple=8)
#: MI-GAN ONNX pipeline convention.
MIGAN = ModelSpec(name="migan", output="result", image_dtype="uint8", image_max=255.0,
                  mask_dtype="uint8",
                  mask_max=255.0, mask_hole="low", output_max=255.0, pad_multiple=1)
CONVENTIONS: dict[str, ModelSpec] = {"lama": LAMA, "migan": MIGAN}

_FILE_KEYS = ("onnx", "torch_state_dict", "torch_module")


def spec_from_dict(data: Mapping[str, Any], base_dir: Path | None = None) -> ModelSpec:
    """Build a :class:`ModelSpec` from a mapping (a parsed YAML); unknown keys are a
    ``ValueError``.

    File keys (``onnx``, ``torch_state_dict``) are resolved against ``base_dir``.
    """
    known = {f.name for f in fields(ModelSpec)} - {"files"}
    unknown = set(data) - known - set(_FILE_KEYS)
    if unknown:
        raise ValueError(
            f"model spec: unknown key(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(known | set(_FILE_KEYS)))}")
    kwargs = {k: v for k, v in data.items() if k in known}
    if kwargs.get("size") is not None:
        size = kwargs["size"]
        if not isinstance(size, (list, tuple)):
            raise ValueError(
                f"model spec: size must be [height, width] in px or null, got {size!r}")
        kwargs["size"] = tuple(int(v) for v in size)
    for key in ("image_max", "mask_max"):
        if key in kwargs:
            kwargs[key] = float(kwargs[key])
    if kwargs.get("output_max") is not None:
        kwargs["output_max"] = float(kwargs["output_max"])
    files: dict[str, str] = {}
    for key in _FILE_KEYS:
        if data.get(key):
            value = str(data[key])
            if key != "torch_module" and base_dir is not None:
                value = str((base_dir / value).resolve())
            files[key] = value
    return ModelSpec(files=files, **kwargs)


def load_spec(path: str | Path) -> ModelSpec:
    """Read a YAML model description; ``ValueError`` naming the file when missing or malformed."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model spec file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise ValueError(f"model spec {path}: not valid YAML ({exc})") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"model spec {path}: expected a mapping at the top level")
    try:
        return spec_from_dict(data, path.parent)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model spec {path}: {exc}") from None


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (ints for fixed dims, None for symbolic ones) and dtype name of a model I/O."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


def _pick(infos: Sequence[TensorInfo], words: tuple[str, ...]) -> TensorInfo | None:
    for info in infos:
        if any(w in info.name.lower() for w in words):
            return info
    return None


def detect_spec(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo],
                convention: str = "auto") -> ModelSpec:
    """The spec of a model from its I/O metadata.

    Args:
        inputs, outputs: the model's tensors (dtype names ``float32``/``float16``/``uint8``).
        convention: ``auto`` (uint8 image -> MI-GAN, float -> LaMa), ``lama`` or ``migan``.

    Raises:
        ValueError: not two inputs, no recognisable image/mask input, or an unsupported layout.
    """
    if len(inputs) != 2:
        names = ", ".join(i.name for i in inputs)
        raise ValueError(f"expected a model with 2 inputs (image, mask), got {len(inputs)} "
                         f"({names}); "
                         "describe it with a model_spec YAML")
    image = _pick(inputs, ("image", "img", "input")) or inputs[0]
    mask = (_pick([i for i in inputs if i is not image], ("mask",))
            or next(i for i in inputs if i is not image))
    if convention == "auto":
        base = MIGAN if image.dtype == "uint8" else LAMA
    elif convention in CONVENTIONS:
        base = CONVENTIONS[convention]
    else:
        raise ValueError(
            f"unknown convention {convention!r}; known: auto, {', '.join(CONVENTIONS)}")
    shape = image.shape
    if len(shape) != 4:
        raise ValueError(f"image input {image.name!r} must be 4-D, got shape {shape}")
    if shape[1] == 3:
        layout, hw = "NCHW", (shape[2], shape[3])
    elif shape[3] == 3:
        layout, hw = "NHWC", (shape[1], shape[2])
    else:
        raise ValueError(f"image input {image.name!r}: no 3-channel axis in shape {shape}")
    size = (int(hw[0]), int(hw[1])) if all(isinstance(v, int) and v > 0 for v in hw) else None
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    out = _pick(outputs, ("result", "output", "inpaint")) or outputs[0]
    image_dtype = image.dtype if image.dtype in DTYPES else base.image_dtype
    mask_dtype = mask.dtype if mask.dtype in DTYPES else base.mask_dtype
    output_max = base.output_max if out.dtype != "uint8" else 255.0
    return replace(base, image_input=image.name, mask_input=mask.name, output=out.name,
                   layout=layout,
                   image_dtype=image_dtype, mask_dtype=mask_dtype, size=size, batch=batch,
                   output_max=output_max)
