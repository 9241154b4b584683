"""Batched, on-device CIFAR augmentation: crop + flip, RandAugment with a continuous
magnitude, Cutout. No PIL, no per-image Python loop.

Recipe (as torchvision ``RandomCrop(32, padding=4)`` → ``RandomHorizontalFlip()`` →
``RandAugment(num_ops=2, magnitude=m)`` → Cutout 16×16), on a whole uint8 batch at once:

* **Crop**: zero padding (torchvision's default ``padding_mode="constant"``), a uniformly
  chosen 32×32 window per sample; **flip** with probability 1/2.
* **RandAugment**: per sample, ``num_ops`` ops drawn uniformly (with replacement) from the
  14 ops of torchvision's ``RandAugment`` (:data:`OPS`); signed ops get a random sign.
  The magnitude ``m`` is a float in ``[0, 30]`` on torchvision's ``num_magnitude_bins=31``
  scale: each op runs at ``m/30`` of its maximum strength (shear 0.3, translate
  150/331·width px, rotate 30°, brightness/color/contrast/sharpness factor 1±0.9,
  posterize 8→4 bits, solarize threshold 255→0). Posterize rounds its bit count
  (``8 - round(m/7.5)``), as torchvision's bins do; every other op is continuous in m.
  Geometric ops use ``grid_sample`` with nearest sampling and zero fill (torchvision's
  defaults) and torchvision's conventions (shear about the top-left corner, rotation
  about the centre, same directions); translations are not truncated to whole pixels
  first (torchvision: ``int(v)``), so nearest sampling rounds them instead.
* **Cutout**: a 16×16 square (clipped at the border) centred at a uniformly chosen pixel,
  filled with 0 (black, on the un-normalised [0, 1] scale).

Faithfulness: every op matches ``torchvision.transforms.functional`` on uint8 tensors
(tests/tasks/data/test_augment.py checks each op at several magnitudes) to within ~1 grey level:
we compute in float, while torchvision rounds to uint8 after each op. Equalize is exact
and batched (one histogram per sample and channel via ``scatter_add``; a float input is
binned by its truncated value, as the uint8 image would be). Solarize at magnitude 0
inverts nothing (torchvision's threshold 255 would still invert pure white), so that
magnitude 0 changes no pixel. With ``m = 0`` only AutoContrast and Equalize (no
magnitude) change an image.

Speed: ops are grouped, not looped per sample. For each op slot the batch is permuted so
that samples with the same op are contiguous, and each op runs once on its slice (the
five geometric ops share one ``grid_sample`` call); the crop gathers straight into the
first slot's order, and one gather restores the caller's order at the end. On the CPU a
batch larger than :data:`CPU_CHUNK` runs in chunks that stay in cache (same output). Work is done
on the 0..255 float scale and divided by 255 once, at the end.

Randomness: every per-sample parameter is drawn as a tensor from ``generator`` (on the
device of ``x``) by :func:`sample_params`, always in the same order and whatever parts are
switched off, so the same generator state gives the same output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

MAX_MAGNITUDE = 30.0
CPU_CHUNK = 128  # on the CPU, larger batches run in chunks of this size (cache-friendly)
# Order matters only for speed: the geometric ops are contiguous (ids 1..5) so that after
# sorting by op id they form one slice and share one grid_sample call.
OPS = (
    "Identity",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
)
OP_ID = {name: i for i, name in enumerate(OPS)}
_GEOMETRIC = (OP_ID["ShearX"], OP_ID["Rotate"] + 1)  # [start, stop) of the geometric ids
SIGNED = frozenset(
    {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast", "Sharpness"}
)
_GRAY = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights


def _max_strength(name: str, width: int) -> float:
    """Strength at m = 30 (torchvision's last bin), in the op's own unit."""
    return {
        "ShearX": 0.3,
        "ShearY": 0.3,
        "TranslateX": 150.0 / 331.0 * width,
        "TranslateY": 150.0 / 331.0 * width,
        "Rotate": 30.0,
        "Brightness": 0.9,
        "Color": 0.9,
        "Contrast": 0.9,
        "Sharpness": 0.9,
        "Posterize": 4.0,
        "Solarize": 255.0,
    }.get(name, 0.0)


@dataclass(frozen=True)
class AugmentParams:
    """Per-sample random draws (all tensors of length B on the batch's device)."""

    crop_y: torch.Tensor  # int64 in [0, 2·padding]
    crop_x: torch.Tensor  # int64 in [0, 2·padding]
    flip: torch.Tensor  # bool
    ops: torch.Tensor  # int64 [B, num_ops], indices into OPS
    signs: torch.Tensor  # float ±1 [B, num_ops]
    cutout_y: torch.Tensor  # int64 centre row in [0, H)
    cutout_x: torch.Tensor  # int64 centre column in [0, W)


def sample_params(
    batch: int, height: int, width: int, generator: torch.Generator, *, num_ops: int = 2, padding: int = 4
) -> AugmentParams:
    """Draw every per-sample parameter, in a fixed order, on ``generator``'s device."""
    dev = generator.device
    kw: dict[str, Any] = dict(generator=generator, device=dev)
    crop = torch.randint(0, 2 * padding + 1, (2, batch), **kw)
    flip = torch.rand(batch, **kw) < 0.5
    ops = torch.randint(0, len(OPS), (batch, num_ops), **kw)
    signs = torch.where(torch.rand(batch, num_ops, **kw) < 0.5, -1.0, 1.0)
    cy = torch.randint(0, height, (batch,), **kw)
    cx = torch.randint(0, width, (batch,), **kw)
    return AugmentParams(crop[0], crop[1], flip, ops, signs, cy, cx)


def normalize(x01: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per channel, for float images on the [0, 1] scale."""
    shape = (1, -1, 1, 1)
    m = torch.as_tensor(mean, dtype=x01.dtype, device=x01.device).view(shape)
    s = torch.as_tensor(std, dtype=x01.dtype, device=x01.device).view(shape)
    return (x01 - m) / s


# ------------------------------------------------------------------ ops on 0..255 floats
# Each takes a contiguous float slice [n, C, H, W] on the 0..255 scale and the per-sample
# signed strength v [n] (in the op's unit), and returns the result (in place where cheap).


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return x[:, 0:1] * _GRAY[0] + x[:, 1:2] * _GRAY[1] + x[:, 2:3] * _GRAY[2]


def _blend_(x: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's ``_blend``: factor·x + (1-factor)·degenerate, clamped, in place."""
    return x.sub_(degenerate).mul_(factor.view(-1, 1, 1, 1)).add_(degenerate).clamp_(0.0, 255.0)


def _brightness(x, v):
    return x.mul_((1.0 + v).view(-1, 1, 1, 1)).clamp_(0.0, 255.0)


def _color(x, v):
    return _blend_(x, _gray(x), 1.0 + v)


def _contrast(x, v):
    return _blend_(x, _gray(x).mean(dim=(1, 2, 3), keepdim=True), 1.0 + v)


def _sharpness(x, v):
    # torchvision's smoothing kernel [[1,1,1],[1,5,1],[1,1,1]]/13 on the interior (border
    # pixels kept), as shifted-slice sums: much faster on CPU than a depthwise conv2d.
    rows = x[:, :, :, :-2] + x[:, :, :, 1:-1] + x[:, :, :, 2:]
    blurred = rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]
    inner = x[:, :, 1:-1, 1:-1]
    blurred.add_(inner, alpha=4.0).div_(13.0)
    inner.copy_(_blend_(inner.clone(), blurred, 1.0 + v))
    return x


def _posterize(x, v):
    # v = bits removed (0..4, already rounded): keep the top 8-v bits of the uint8 value.
    step = torch.exp2(v).view(-1, 1, 1, 1)
    return x.div_(step).floor_().mul_(step)


def _solarize(x, v):
    # torchvision inverts x >= threshold; at m = 0 (threshold 255) that would still invert
    # pure white, so strength 0 means "no threshold" here: magnitude 0 changes no pixel.
    threshold = torch.where(v > 0, 255.0 - v, math.inf).view(-1, 1, 1, 1)
    return torch.where(x >= threshold, 255.0 - x, x)


def _autocontrast(x, v):
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    flat = hi <= lo
    scale = torch.where(flat, 1.0, 255.0 / (hi - lo).clamp_min(1e-12))
    lo = torch.where(flat, 0.0, lo)
    return x.sub_(lo).mul_(scale).clamp_(0.0, 255.0)


def _equalize(x, v):
    """torchvision's ``_equalize_single_image`` for every sample and channel at once."""
    n, c, h, w = x.shape
    pix = x.detach().clamp(0, 255).to(torch.int64).view(n * c, h * w)
    hist = torch.zeros(n * c, 256, device=x.device, dtype=x.dtype)
    hist.scatter_add_(1, pix, torch.ones_like(pix, dtype=x.dtype))
    # Sum of the non-zero bins except the last non-zero one (= the bin of the max value).
    last = hist.gather(1, pix.amax(dim=1, keepdim=True))
    step = torch.div(h * w - last, 255, rounding_mode="floor")
    safe = step.clamp_min(1.0)
    lut = torch.div(hist.cumsum(1) + torch.div(safe, 2, rounding_mode="floor"), safe, rounding_mode="floor")
    lut = F.pad(lut, (1, 0))[:, :-1].clamp_(0, 255)
    out = torch.where(step > 0, lut.gather(1, pix), x.view(n * c, h * w))
    return out.view(n, c, h, w)


def _affine_theta(op: torch.Tensor, v: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Output→input maps for the geometric ops, as ``affine_grid`` thetas [n, 2, 3].

    Built in pixel coordinates (origin at the top-left corner, pixel centres at i + 0.5):
    p_in = A·p_out + t, then converted to the normalised coordinates of ``affine_grid``
    (align_corners=False): n = (p - c)/d with c = (W/2, H/2), d = (W/2, H/2).
    """
    zero = torch.zeros_like(v)
    is_ = lambda name: op == OP_ID[name]  # noqa: E731
    rad = torch.where(is_("Rotate"), v, zero) * (math.pi / 180.0)
    cos, sin = torch.cos(rad), torch.sin(rad)
    a00, a01 = cos, torch.where(is_("ShearX"), v, -sin)
    a10, a11 = torch.where(is_("ShearY"), v, sin), cos
    cx, cy = width / 2.0, height / 2.0
    # Rotation is about the centre: t = c - R·c; translations move the image by +v pixels.
    rot = is_("Rotate")
    tx = torch.where(rot, cx - (a00 * cx + a01 * cy), zero) - torch.where(is_("TranslateX"), v, zero)
    ty = torch.where(rot, cy - (a10 * cx + a11 * cy), zero) - torch.where(is_("TranslateY"), v, zero)
    # n_in = D⁻¹ A D n_out + D⁻¹ (A c + t - c)
    dx, dy = width / 2.0, height / 2.0
    theta = torch.stack(
        [
            torch.stack([a00, a01 * dy / dx, (a00 * cx + a01 * cy + tx - cx) / dx], dim=1),
            torch.stack([a10 * dx / dy, a11, (a10 * cx + a11 * cy + ty - cy) / dy], dim=1),
        ],
        dim=1,
    )
    return theta


def _geometric(x: torch.Tensor, op: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[2], x.shape[3]
    theta = _affine_theta(op, v, h, w).unsqueeze(-1)  # [n, 2, 3, 1]
    # The grid affine_grid would build, by broadcasting: affine_grid's bmm is slow on CPU,
    # and so is broadcasting into a last dim of 2, so build [n, 2, H, W] and permute.
    gx = ((torch.arange(w, device=x.device, dtype=x.dtype) * 2 + 1) / w - 1).view(1, 1, 1, w)
    gy = ((torch.arange(h, device=x.device, dtype=x.dtype) * 2 + 1) / h - 1).view(1, 1, h, 1)
    grid = (theta[:, :, 0:1] * gx + theta[:, :, 2:3]) + theta[:, :, 1:2] * gy
    grid = grid.permute(0, 2, 3, 1)  # [n, H, W, 2]
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


_COLOR_OPS = {
    "Brightness": _brightness,
    "Color": _color,
    "Contrast": _contrast,
    "Sharpness": _sharpness,
    "Posterize": _posterize,
    "Solarize": _solarize,
    "AutoContrast": _autocontrast,
    "Equalize": _equalize,
}


def _strength(name: str, magnitude: float, width: int) -> float:
    if name == "Posterize":
        return float(round(magnitude / MAX_MAGNITUDE * 4.0))  # bits removed, like the bins
    return _max_strength(name, width) * magnitude / MAX_MAGNITUDE


def apply_op(x255: torch.Tensor, name: str, magnitude: float, signs: torch.Tensor | None = None) -> torch.Tensor:
    """Apply one RandAugment op to every image of a float batch on the 0..255 scale.

    Public for tests and analysis; :func:`cifar_augment` applies the same functions to
    the slice of the batch that drew each op. ``signs`` (±1 per sample) negates the
    strength of signed ops; ``None`` means +1.
    """
    if name not in OP_ID:
        raise ValueError(f"unknown op {name!r}; known: {', '.join(OPS)}")
    n = x255.shape[0]
    v = torch.full((n,), _strength(name, magnitude, x255.shape[-1]), device=x255.device, dtype=x255.dtype)
    if signs is not None and name in SIGNED:
        v = v * signs.to(v.dtype)
    x = x255.clone()
    if name == "Identity":
        return x
    if name in _COLOR_OPS:
        return _COLOR_OPS[name](x, v)
    return _geometric(x, torch.full((n,), OP_ID[name], device=x.device), v)


def _apply_slot(y: torch.Tensor, ops: torch.Tensor, signs: torch.Tensor, magnitude: float) -> None:
    """Apply each sample's op, in place; ``y`` is already sorted by ``ops``."""
    counts = torch.bincount(ops, minlength=len(OPS)).tolist()  # the one host sync per slot
    bounds = [0]
    for c in counts:
        bounds.append(bounds[-1] + c)
    width = y.shape[-1]
    g0, g1 = bounds[_GEOMETRIC[0]], bounds[_GEOMETRIC[1]]
    if g1 > g0:
        op = ops[g0:g1]
        scale = torch.tensor(
            [_strength(OPS[i], magnitude, width) for i in range(len(OPS))], device=y.device, dtype=y.dtype
        )
        y[g0:g1] = _geometric(y[g0:g1], op, scale[op] * signs[g0:g1])
    for name, fn in _COLOR_OPS.items():
        i = OP_ID[name]
        s, e = bounds[i], bounds[i + 1]
        if e == s:
            continue
        v = torch.full((e - s,), _strength(name, magnitude, width), device=y.device, dtype=y.dtype)
        if name in SIGNED:
            v = v * signs[s:e]
        seg = y[s:e]
        out = fn(seg, v)
        if out is not seg:  # ops that cannot work in place return a new tensor
            seg.copy_(out)


def cifar_augment(
    x: torch.Tensor,
    magnitude: float,
    generator: torch.Generator,
    *,
    crop: bool = True,
    flip: bool = True,
    randaugment: bool = True,
    cutout: bool = True,
    num_ops: int = 2,
    padding: int = 4,
    cutout_size: int = 16,
) -> torch.Tensor:
    """Augment a uint8 batch ``[B, C, H, W]``; return float32 ``[B, C, H, W]`` in [0, 1].

    ``magnitude`` is RandAugment's m on the [0, 30] scale (continuous; clamped to that
    range, so a finite difference at a bound should be one-sided). ``generator`` lives on
    ``x``'s device; the output is a deterministic function of (x, magnitude, generator
    state). The keyword switches exist for tests and ablations; tasks use the defaults.
    """
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise TypeError(f"expected a uint8 [B, C, H, W] batch, got {x.dtype} {tuple(x.shape)}")
    if x.device.type == "meta":
        # FLOP counting runs the training step on meta tensors: augmentation has no
        # matmul/conv FLOPs and no data to draw for, so only the output's shape matters.
        return torch.empty(x.shape, dtype=torch.float32, device=x.device)
    if generator.device.type != x.device.type:
        raise ValueError(f"generator on {generator.device} but images on {x.device}")
    b, c, h, w = x.shape
    m = min(max(float(magnitude), 0.0), MAX_MAGNITUDE)
    p = sample_params(b, h, w, generator, num_ops=num_ops, padding=padding)
    if b == 0:
        return torch.empty(x.shape, device=x.device)
    if x.device.type != "cpu" or b <= CPU_CHUNK:
        return _augment(
            x,
            m,
            p,
            crop,
            flip,
            n_slots=num_ops if randaugment else 0,
            padding=padding,
            cutout=cutout,
            cutout_size=cutout_size,
        )
    # On the CPU, chunks that stay in cache are faster; every op is per sample and the
    # draws are made above for the whole batch, so the result is the same.
    out = torch.empty(x.shape, dtype=torch.float32)
    for start in range(0, b, CPU_CHUNK):
        sl = slice(start, start + CPU_CHUNK)
        part = AugmentParams(*(getattr(p, f.name)[sl] for f in fields(AugmentParams)))
        _augment(
            x[sl],
            m,
            part,
            crop,
            flip,
            n_slots=num_ops if randaugment else 0,
            padding=padding,
            cutout=cutout,
            cutout_size=cutout_size,
            out=out[sl],
        )
    return out


def _augment(
    x: torch.Tensor,
    m: float,
    p: AugmentParams,
    crop: bool,
    flip: bool,
    *,
    n_slots: int,
    padding: int,
    cutout: bool,
    cutout_size: int,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    b, c, h, w = x.shape
    dev = x.device

    # Slot-0 order: samples sorted by their first op, so each op acts on a contiguous slice.
    order = torch.argsort(p.ops[:, 0], stable=True) if n_slots else torch.arange(b, device=dev)

    # Crop + flip as one gather of H×W windows from the zero-padded batch and its mirror
    # image (the flipped crop at offset o is the crop at 2·pad - o of the mirrored padding):
    # an as_strided view whose dim 0 is "window starting at storage offset k", so the
    # whole crop is a single index_select (much faster than advanced indexing on CPU).
    pad = padding if crop else 0
    xp = F.pad(x, (pad, pad, pad, pad)) if pad else x
    src = order
    oy = p.crop_y.index_select(0, order) if crop else torch.zeros_like(order)
    ox = p.crop_x.index_select(0, order) if crop else torch.zeros_like(order)
    if flip:
        xp = torch.cat([xp, xp.flip(-1)])
        fl = p.flip.index_select(0, order)
        src = src + b * fl
        ox = torch.where(fl, 2 * pad - ox, ox)
    xp = xp.contiguous()
    hp, wp = h + 2 * pad, w + 2 * pad
    n_starts = xp.numel() - ((c - 1) * hp * wp + (h - 1) * wp + w) + 1
    windows = xp.as_strided((n_starts, c, h, w), (1, hp * wp, wp, 1))
    y = windows.index_select(0, src * (c * hp * wp) + oy * wp + ox).to(torch.float32)

    cur = order  # cur[j] = caller's index of the sample now at row j
    for k in range(n_slots):
        if k > 0:
            nxt = torch.argsort(p.ops[cur, k], stable=True)
            y, cur = y.index_select(0, nxt), cur.index_select(0, nxt)
        _apply_slot(y, p.ops[:, k].index_select(0, cur), p.signs[:, k].index_select(0, cur), m)

    # Back to the caller's order, scale to [0, 1], then cutout.
    inverse = torch.empty_like(cur)
    inverse[cur] = torch.arange(b, device=dev)
    out = torch.index_select(y, 0, inverse, out=out) if out is not None else y.index_select(0, inverse)
    if not cutout:
        return out.div_(255.0)
    lo_y = (p.cutout_y - cutout_size // 2).view(-1, 1, 1, 1)
    lo_x = (p.cutout_x - cutout_size // 2).view(-1, 1, 1, 1)
    rows = torch.arange(h, device=dev).view(1, 1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, 1, w)
    row_in = (rows >= lo_y) & (rows < lo_y + cutout_size)  # [B, 1, H, 1]
    col_out = ((cols < lo_x) | (cols >= lo_x + cutout_size)).to(out.dtype)  # [B, 1, 1, W]
    # One multiply by a float keep-mask that also scales to [0, 1] (faster than
    # masked_fill_ followed by a division).
    out.mul_(torch.where(row_in, col_out, 1.0).mul_(1.0 / 255.0))
    return out
