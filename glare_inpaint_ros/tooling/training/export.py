"""ONNX export of :class:`~glare_inpaint_ros.tooling.training.net.GlareNet` and its YAML model
description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The shipped model's description (see :mod:`glare_inpaint_ros.core.inpainting.model_spec`).
SPEC: dict[str, Any] = {
    "name": "glare_unet",
    "onnx": "glare_unet.onnx",
    "torch_state_dict": "glare_unet.pt",
    "torch_module": "glare_inpaint_ros.tooling.training.net:GlareNet",
    "image_input": "image",
    "mask_input": "mask",
    "output": "output",
    "layout": "NCHW",
    "channel_order": "RGB",
    "image_dtype": "float32",
    "image_max": 1.0,
    "mask_dtype": "float32",
    "mask_max": 1.0,
    "mask_hole": "high",
    "output_max": 1.0,
    "size": None,
    "pad_multiple": 16,
    "max_side": 96,
    "prefill": "pushpull",
}


def export_onnx(net: Any, path: Path, opset: int = 17) -> Path:
    """Export ``net`` (eval mode) to ``path`` with dynamic batch/H/W and write ``<stem>.yaml``
    beside it.

    Inputs ``image`` float32 [B,3,H,W] RGB 0..1 and ``mask`` float32 [B,1,H,W] 1 = hole; output
    ``output`` float32 [B,3,H,W] RGB 0..1 (see :mod:`.net`); H, W multiples of 16.
    """
    import torch
    import yaml

    path = Path(path)
    net.eval()
    image = torch.rand(1, 3, 80, 96)
    mask = torch.zeros(1, 1, 80, 96)
    mask[..., 30:60, 40:90] = 1.0
    dyn = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        net, (image, mask), str(path), input_names=["image", "mask"], output_names=["output"],
        dynamic_axes={"image": dyn, "mask": dyn, "output": dyn}, opset_version=opset, dynamo=False,
    )
    spec = dict(SPEC, onnx=path.name, torch_state_dict=path.with_suffix(".pt").name)
    with open(path.with_suffix(".yaml"), "w", encoding="utf-8") as f:
        f.write("# Model description read by the onnx/torch/learned inpainting backends "
                "(glare_inpaint_ros/core/inpainting/model_spec.py).\n")
        yaml.safe_dump(spec, f, sort_keys=False)
    return path
