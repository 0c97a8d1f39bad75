"""``GlareNet``: a compact U-Net that predicts a residual over a push-pull initial fill.

I/O convention (the same as the shipped ONNX model, see ``models/glare_unet.yaml``):

* ``image``: float32 ``[B, 3, H, W]``, RGB, 0..1 (hole pixels may hold anything: they are ignored);
* ``mask``: float32 ``[B, 1, H, W]``, 1 = hole (fill), 0 = known;
* output ``output``: float32 ``[B, 3, H, W]``, RGB, 0..1; known pixels are passed through exactly.

``H`` and ``W`` must be multiples of :data:`PAD_MULTIPLE` (32 px). The initial fill is a
normalised-convolution push-pull pyramid computed inside the network (so the exported ONNX graph
is self-contained); the U-Net works at 1/2..1/8 resolution with dilated residual blocks at 1/8
and adds a bounded residual to the initial fill.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Input height/width must be a multiple of this (2 ** PUSH_PULL_LEVELS), px.
PAD_MULTIPLE = 32
#: Number of 2x reductions of the push-pull pyramid.
PUSH_PULL_LEVELS = 5


def push_pull_fill(image: torch.Tensor, hole: torch.Tensor, levels: int = PUSH_PULL_LEVELS) -> torch.Tensor:
    """Fill the holes of ``image`` by a push-pull (normalised convolution) pyramid.

    Args:
        image: ``[B, C, H, W]`` float; ``H, W`` multiples of ``2 ** levels``.
        hole: ``[B, 1, H, W]`` float, 1 = hole, 0 = known.
        levels: number of 2x average-pool reductions.

    Returns:
        ``[B, C, H, W]``: known pixels unchanged, holes filled with a smooth interpolation of the
        surrounding known pixels (the global known mean where a whole coarse cell is empty).
    """
    valid = 1.0 - hole
    num, den = image * valid, valid
    pyramid = [(num, den)]
    for _ in range(levels):
        num = F.avg_pool2d(num, 2)
        den = F.avg_pool2d(den, 2)
        pyramid.append((num, den))
    num, den = pyramid[-1]
    mean = num.sum(dim=(2, 3), keepdim=True) / (den.sum(dim=(2, 3), keepdim=True) + 1e-6)
    cur = (num + 1e-3 * mean) / (den + 1e-3)
    for num, den in reversed(pyramid[:-1]):
        up = F.interpolate(cur, scale_factor=2.0, mode="bilinear", align_corners=False)
        est = num / (den + 1e-6)
        cur = den * est + (1.0 - den) * up
    return cur


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
    """Residual U-Net over a push-pull fill (about 0.2 M parameters at the default widths).

    Args:
        widths: channels at full, 1/2, 1/4 and 1/8 resolution.
        dilations: one residual block per entry at 1/8 resolution.
    """

    def __init__(self, widths: tuple[int, int, int, int] = (12, 24, 32, 48),
                 dilations: tuple[int, ...] = (1, 2, 4, 8)) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.e0 = nn.Conv2d(4, w0, 3, padding=1)
        self.e1 = nn.Conv2d(w0, w1, 3, stride=2, padding=1)
        self.e2 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.e3 = nn.Conv2d(w2, w3, 3, stride=2, padding=1)
        self.mid = nn.ModuleList([_ResBlock(w3, d) for d in dilations])
        self.p2 = nn.Conv2d(w3, w2, 1)
        self.d2 = nn.Conv2d(w2, w2, 3, padding=1)
        self.p1 = nn.Conv2d(w2, w1, 1)
        self.d1 = nn.Conv2d(w1, w1, 3, padding=1)
        self.p0 = nn.Conv2d(w1, w0, 1)
        self.d0 = nn.Conv2d(w0, w0, 3, padding=1)
        self.out = nn.Conv2d(w0, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``image`` [B,3,H,W] RGB 0..1, ``mask`` [B,1,H,W] 1 = hole -> [B,3,H,W] RGB 0..1."""
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        hole = (mask > 0.5).to(image.dtype)
        base = push_pull_fill(image, hole)
        x = torch.cat([base - 0.5, hole], dim=1)
        f0 = act(self.e0(x))
        f1 = act(self.e1(f0))
        f2 = act(self.e2(f1))
        f3 = act(self.e3(f2))
        for block in self.mid:
            f3 = block(f3)
        g2 = act(self.d2(_up(self.p2(act(f3))) + f2))
        g1 = act(self.d1(_up(self.p1(g2)) + f1))
        g0 = act(self.d0(_up(self.p0(g1)) + f0))
        filled = (base + 0.5 * torch.tanh(self.out(g0))).clamp(0.0, 1.0)
        return image * (1.0 - hole) + filled * hole


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
