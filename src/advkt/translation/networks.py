"""The generators and discriminators of CycleGAN (Zhu et al., ICCV 2017) and pix2pix (Isola et
al., CVPR 2017), as their reference code builds them, with the base width ``width`` (their
``ngf`` / ``ndf`` = 64) as a parameter: ``width=32`` a teacher, 16 and 8 its ½ and ¼ students.

- :class:`ResnetGenerator` (CycleGAN): c7s1-w, d2w, d4w, ``blocks`` residual blocks of 4w, u2w,
  uw, c7s1-C; reflection padding, instance norm, ReLU, tanh output in [-1, 1]; with
  ``features=True`` also the encoder's, the residual blocks' and the first upsampling's outputs
  (what intermediate-feature distillation reads).
- :class:`UnetGenerator` (pix2pix): ``depth`` stride-2 4x4 encoder convolutions (w, 2w, 4w, 8w,
  8w, ...) with LeakyReLU 0.2, a mirrored decoder of transposed convolutions with skip
  connections, ReLU and dropout 0.5 on the decoder's 8w → 8w levels (as pix2pix: none below
  depth 6); tanh output; with ``features=True`` also the outputs of the three levels below the
  outermost.
- :class:`PatchDiscriminator` (both): C_w (no norm) - C_2w - C_4w - ... stride-2 4x4 convolutions
  with LeakyReLU 0.2 and instance norm, then a stride-1 conv to one score per patch; its
  ``in_channels`` is the image's (CycleGAN) or image + condition (pix2pix).
"""

from __future__ import annotations

import torch
from torch import nn


def _check_width(width: int) -> None:
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"translation network width must be an integer >= 1, got {width!r}")


class _ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, width: int = 64, blocks: int = 6
    ) -> None:
        super().__init__()
        _check_width(width)
        self.config = {"in_channels": in_channels, "out_channels": out_channels, "width": width,
                       "blocks": blocks}  # fmt: skip
        w = width
        layers = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, w, 7),
            nn.InstanceNorm2d(w),
            nn.ReLU(True),
        ]
        for m in (1, 2):  # two stride-2 downsamplings
            layers += [
                nn.Conv2d(w * m, w * m * 2, 3, 2, 1),
                nn.InstanceNorm2d(w * m * 2),
                nn.ReLU(True),
            ]
        enc = len(layers)
        layers += [_ResBlock(4 * w) for _ in range(blocks)]
        # the features a distiller reads: after the encoder, the residual blocks, the first
        # upsampling (4w, 4w, 2w channels at 1/4, 1/4, 1/2 of the size)
        self.taps = (enc, enc + blocks, enc + blocks + 3)
        self.tap_channels = (4 * w, 4 * w, 2 * w)
        for m in (4, 2):  # two stride-2 upsamplings
            layers += [
                nn.ConvTranspose2d(w * m, w * m // 2, 3, 2, 1, output_padding=1),
                nn.InstanceNorm2d(w * m // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, features: bool = False):
        """The translated image, or with ``features`` (image, [the three tapped features])."""
        if not features:
            return self.net(x)
        feats = []
        for i, layer in enumerate(self.net):
            if i in self.taps:
                feats.append(x)
            x = layer(x)
        return x, feats


class _UnetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip concatenation."""

    def __init__(
        self,
        outer: int,
        inner: int,
        sub: nn.Module | None,
        outermost=False,
        dropout=False,
        in_ch=None,
        out_ch=None,
    ):
        super().__init__()
        down = nn.Conv2d(in_ch or outer, inner, 4, 2, 1)
        up_in = inner if sub is None else inner * 2
        if outermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, out_ch, 4, 2, 1), nn.Tanh()]
            layers = [down, *([sub] if sub else []), *up]
        elif sub is None:  # innermost
            layers = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer, 4, 2, 1),
                nn.InstanceNorm2d(outer),
            ]
        else:
            layers = [
                nn.LeakyReLU(0.2, True), down, nn.InstanceNorm2d(inner), sub,
                nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1), nn.InstanceNorm2d(outer),
                *([nn.Dropout(0.5)] if dropout else []),
            ]  # fmt: skip
        self.model, self.outermost, self.sub = nn.Sequential(*layers), outermost, sub
        self.out_channels = out_ch if outermost else 2 * outer  # [input, output] concatenated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    def __init__(
        self, in_channels: int = 1, out_channels: int = 3, width: int = 64, depth: int = 5
    ) -> None:
        super().__init__()
        _check_width(width)
        if depth < 2:
            raise ValueError(f"UnetGenerator depth must be >= 2, got {depth}")
        self.config = {"in_channels": in_channels, "out_channels": out_channels, "width": width,
                       "depth": depth}  # fmt: skip
        c = [width * min(2**i, 8) for i in range(depth)]  # w, 2w, 4w, 8w, 8w, ...
        block = _UnetBlock(c[-2], c[-1], None)  # innermost
        for i in range(depth - 2, 0, -1):  # level i: outer c[i-1], inner c[i]
            dropout = c[i - 1] == c[i] == 8 * width  # the 8w -> 8w levels, as pix2pix
            block = _UnetBlock(c[i - 1], c[i], block, dropout=dropout)
        self.net = _UnetBlock(
            width, width, block, outermost=True, in_ch=in_channels, out_ch=out_channels
        )
        levels, b = [], self.net.sub
        while b is not None:
            levels.append(b)
            b = b.sub
        # the features a distiller reads: the outputs of the three levels below the outermost
        # (each the level's input and its decoded output, concatenated, at 1/2, 1/4, 1/8 size)
        self._taps = levels[:3]
        self.tap_channels = tuple(level.out_channels for level in self._taps)

    def forward(self, x: torch.Tensor, features: bool = False):
        """The translated image, or with ``features`` (image, [the tapped features])."""
        if not features:
            return self.net(x)
        feats: list[torch.Tensor] = []
        hooks = [t.register_forward_hook(lambda m, i, o: feats.append(o)) for t in self._taps]
        try:
            out = self.net(x)
        finally:
            for h in hooks:
                h.remove()
        return out, feats[::-1]  # hooks fire innermost first: reorder outermost first


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        _check_width(width)
        seq = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = width
        for i in range(1, layers):
            n = width * min(2**i, 8)
            seq += [nn.Conv2d(c, n, 4, 2, 1), nn.InstanceNorm2d(n), nn.LeakyReLU(0.2, True)]
            c = n
        n = width * min(2**layers, 8)
        seq += [
            nn.Conv2d(c, n, 4, 1, 1),
            nn.InstanceNorm2d(n),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(n, 1, 4, 1, 1),
        ]
        self.net = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def at_width(generator: nn.Module, width: int) -> nn.Module:
    """A new generator of ``generator``'s kind and configuration at base width ``width``."""
    return type(generator)(**{**generator.config, "width": width})
