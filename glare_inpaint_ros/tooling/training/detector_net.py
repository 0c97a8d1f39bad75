"""``GlareSegNet``: a tiny glare segmentation network (the ``learned`` detector) and its head.

The work is split so that almost nothing runs at high resolution:

* the **network** (exported to ``models/glare_detector.onnx``) sees the frame downscaled to the
  *context* resolution (``scale / 4`` of the frame) and predicts :data:`N_COEF` coefficient maps
  there: a 3x3 convolution, a stride-2 convolution to 1/8 and dilated residual 3x3 convolutions
  (receptive field ~40 context px = ~160 head px: enough to see the background around a highlight),
  upsampled back and fused by 1x1 convolutions;
* the **head** (:func:`head_logits`; the detector does the same with OpenCV) runs at the *head*
  resolution (``scale`` of the frame): the coefficient maps are upsampled bilinearly and applied
  to the pixel's own brightness, ``logit = a + g_min * min(B,G,R) + g_max * max(B,G,R)``
  (0..1 units): a learned, spatially varying threshold that keeps mask edges sharp at the head
  resolution. The logit is then upsampled to the frame and thresholded.

ONNX I/O: input ``image`` uint8 ``[1, h, w, 3]`` **BGR** (context resolution, any ``h, w >= 2``);
output ``coef`` float32 ``[1, 3, h, w]`` = ``(a, g_min, g_max)``. ``sigmoid(logit)`` is the
probability 0..1 that a pixel is glare under the GT rule of :mod:`glare_inpaint_ros.synth`
(the highlight raises it by >= 20 8-bit levels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Per-pixel features the network sees: B, G, R, min, max (0..1 each).
IN_FEATURES = 5
#: Coefficient maps predicted by the network: bias, gain on min(B,G,R), gain on max(B,G,R).
N_COEF = 3


def pixel_features(image: torch.Tensor) -> torch.Tensor:
    """``[N, H, W, 3]`` uint8/float BGR 0..255 -> ``[N, 5, H, W]`` float (B, G, R, min, max;
    0..1)."""
    x = image.to(torch.float32).permute(0, 3, 1, 2) * (1.0 / 255.0)
    lo = torch.amin(x, dim=1, keepdim=True)
    hi = torch.amax(x, dim=1, keepdim=True)
    return torch.cat([x, lo, hi], dim=1)


class GlareSegNet(nn.Module):
    """Context network: BGR at context resolution -> ``(a, g_min, g_max)`` coefficient maps.

    Args:
        width: channels at context resolution (``2 * width`` at half of it).
        dilations: one residual 3x3 convolution per entry at half context resolution.
    """

    def __init__(self, width: int = 8, dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        w2 = 2 * width
        self.width, self.dilations = width, tuple(dilations)
        self.conv = nn.Conv2d(IN_FEATURES, width, 3, padding=1)
        self.down = nn.Conv2d(width, w2, 3, stride=2, padding=1)
        self.mid = nn.ModuleList(nn.Conv2d(w2, w2, 3, padding=d, dilation=d) for d in dilations)
        self.fuse = nn.Conv2d(w2 + width, width, 1)
        self.coef = nn.Conv2d(width, N_COEF, 1)
        with torch.no_grad():  # start near the prior "mostly not glare, brighter = more likely"
            self.coef.bias.copy_(torch.tensor([-3.0, 2.0, 1.0]))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``[N, h, w, 3]`` BGR 0..255 (context resolution) -> ``[N, 3, h, w]`` coefficients."""
        x1 = F.relu(self.conv(pixel_features(image)))
        x = F.relu(self.down(x1))
        for conv in self.mid:
            x = F.relu(x + conv(x))
        x = F.interpolate(x, size=x1.shape[-2:], mode="bilinear", align_corners=False)
        return self.coef(F.relu(self.fuse(torch.cat([x, x1], dim=1))))


def head_logits(coef: torch.Tensor, head_bgr: torch.Tensor) -> torch.Tensor:
    """The head: ``[N, 3, h, w]`` coefficients + ``[N, H, W, 3]`` BGR 0..255 -> ``[N, 1, H, W]``
    logits."""
    f = pixel_features(head_bgr)
    c = F.interpolate(coef, size=f.shape[-2:], mode="bilinear", align_corners=False)
    return c[:, :1] + c[:, 1:2] * f[:, 3:4] + c[:, 2:3] * f[:, 4:5]


def export_onnx(net: GlareSegNet, path: str, context_scale: float = 0.125, head_scale: float = 1.0,
                opset: int = 17) -> None:
    """Export ``net`` (eval mode, on CPU) to ``path``: uint8 NHWC ``image`` in, ``coef`` out,
    dynamic H/W.

    ``context_scale`` (the frame fraction the network was trained to see) and ``head_scale`` (the
    head resolution it was trained with) are stored as ONNX metadata (``context_scale``,
    ``head_scale``); the detector reads ``context_scale`` from there.
    """
    import warnings

    import onnx

    net = net.eval().cpu()
    dummy = torch.zeros(1, 60, 80, 3, dtype=torch.uint8)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter is deliberate
        torch.onnx.export(
            net, (dummy,), path, input_names=["image"], output_names=["coef"],
            dynamic_axes={"image": {1: "height", 2: "width"}, "coef": {2: "height", 3: "width"}},
            opset_version=opset, dynamo=False,
        )
    model = onnx.load(path)
    for key, value in (("context_scale", context_scale), ("head_scale", head_scale)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, repr(float(value))
    onnx.save(model, path)
