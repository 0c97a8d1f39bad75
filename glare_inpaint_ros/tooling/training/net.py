"""``GlareNet``: a compact U-Net that predicts a correction to a push-pull fill.

I/O convention (the same as the shipped ONNX model, see ``models/glare_unet.yaml``):

* ``image``: float32 ``[B, 3, H, W]``, RGB, 0..1, whose holes are already *prefilled* by the
  ``fast`` backend's push-pull fill (the backend prefills the whole frame at native resolution,
  then crops and downscales; ``prefill: pushpull`` in the YAML);
* ``mask``: float32 ``[B, 1, H, W]``, 1 = hole, 0 = known;
* output ``output``: float32 ``[B, 3, H, W]``, RGB, 0..1: ``image + mask * residual``; known
  pixels are passed through exactly.

The backend upsamples ``output - image`` to the crop's native size and adds it to the native
fill (:meth:`glare_inpaint_ros.core.inpainting.model.ModelInpainter.inpaint_rois`). The last
layer is zero-initialised, so an untrained network reproduces the ``fast`` backend exactly.

``H`` and ``W`` must be multiples of :data:`PAD_MULTIPLE` (16 px). The network works at 1/2..1/8
of the input resolution (a pixel-unshuffle stem, dilated residual blocks at 1/8) and predicts the
residual at 1/2 resolution, upsampled x2 in-graph: the residual is a smooth correction anyway (it
is upsampled again to the native crop size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Input height/width must be a multiple of this, px.
PAD_MULTIPLE = 16


class _ResBlock(nn.Module):
    """3x3 dilated conv -> act -> 3x3 conv, added to the input."""

    def __init__(self, ch: int, dilation: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.leaky_relu(self.c1(x), 0.2))


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class GlareNet(nn.Module):
    """Residual U-Net over a prefilled crop (about 0.12 M parameters at the default widths).

    Args:
        widths: channels at 1/2, 1/4 and 1/8 of the input resolution.
        dilations: one residual block per entry at 1/8 resolution.
    """

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 48),
                 dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.e1 = nn.Conv2d(16, w1, 3, padding=1)  # after pixel_unshuffle(2) of 4 channels
        self.e2 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.e3 = nn.Conv2d(w2, w3, 3, stride=2, padding=1)
        self.mid = nn.ModuleList([_ResBlock(w3, d) for d in dilations])
        self.p2 = nn.Conv2d(w3, w2, 1)
        self.d2 = nn.Conv2d(w2, w2, 3, padding=1)
        self.p1 = nn.Conv2d(w2, w1, 1)
        self.d1 = nn.Conv2d(w1, w1, 3, padding=1)
        self.out = nn.Conv2d(w1, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def residual(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The correction ``[B,3,H,W]`` (not yet masked) for a prefilled ``image`` and 0/1
        ``hole``."""
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x = F.pixel_unshuffle(torch.cat([image - 0.5, hole], dim=1), 2)
        f1 = act(self.e1(x))
        f2 = act(self.e2(f1))
        f3 = act(self.e3(f2))
        for block in self.mid:
            f3 = block(f3)
        g2 = act(self.d2(_up(self.p2(act(f3))) + f2))
        g1 = act(self.d1(_up(self.p1(g2)) + f1))
        return _up(self.out(g1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``image`` [B,3,H,W] prefilled RGB 0..1, ``mask`` [B,1,H,W] 1 = hole -> [B,3,H,W] RGB
        0..1."""
        hole = (mask > 0.5).to(image.dtype)
        return image + hole * self.residual(image, hole)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
