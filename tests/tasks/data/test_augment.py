"""Batched augmentation: contract, determinism, faithfulness to torchvision, magnitude."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from ohgw_bench.tasks.data.augment import OPS, apply_op, cifar_augment, normalize, sample_params

OFF = dict(crop=False, flip=False, cutout=False)


def images(n: int = 64, seed: int = 0, smooth: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if smooth:  # natural-image-like: geometric ops move content instead of noise
        low = torch.rand(n, 3, 8, 8, generator=g)
        return (torch.nn.functional.interpolate(low, size=32, mode="bilinear") * 255).to(torch.uint8)
    return torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_shape_dtype_range():
    x = images(50)
    y = cifar_augment(x, 9.0, gen(0))
    assert y.shape == x.shape and y.dtype == torch.float32 and y.is_contiguous()
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert cifar_augment(x[:0], 9.0, gen(0)).shape == (0, 3, 32, 32)
    with pytest.raises(TypeError):
        cifar_augment(x.float(), 9.0, gen(0))


def test_deterministic_under_seed_and_different_across_seeds():
    x = images(64)
    a, b = cifar_augment(x, 12.5, gen(7)), cifar_augment(x, 12.5, gen(7))
    assert torch.equal(a, b)
    c = cifar_augment(x, 12.5, gen(8))
    assert (a - c).abs().amax(dim=(1, 2, 3)).gt(0).float().mean() > 0.9  # nearly every image differs
    # The generator advances: two calls on one generator give different draws.
    g = gen(7)
    assert not torch.equal(cifar_augment(x, 12.5, g), cifar_augment(x, 12.5, g))


def test_everything_off_is_exactly_the_input():
    x = images(32)
    y = cifar_augment(x, 30.0, gen(0), randaugment=False, **OFF)
    assert torch.equal(y, x.float() / 255.0)


def test_magnitude_zero_is_identity_except_autocontrast_and_equalize():
    x = images(256, smooth=True)
    y = cifar_augment(x, 0.0, gen(3), **OFF)
    ops = sample_params(256, 32, 32, gen(3)).ops
    free = torch.tensor([OPS.index("AutoContrast"), OPS.index("Equalize")])
    magnitude_ops_only = ~torch.isin(ops, free).any(dim=1)
    assert magnitude_ops_only.float().mean() > 0.6  # (12/14)² ≈ 0.73 of the samples
    diff = (y - x.float() / 255.0).abs().amax(dim=(1, 2, 3))
    assert diff[magnitude_ops_only].max() < 1e-6  # exactly unchanged
    assert (diff[~magnitude_ops_only] > 0).all()  # smooth images do not span 0..255: both ops change them


def reference(x: torch.Tensor, magnitude: float, seed: int, padding: int = 4, cutout: int = 16) -> torch.Tensor:
    """The recipe one image at a time, from the same draws: checks the grouping logic."""
    p = sample_params(x.shape[0], 32, 32, gen(seed), padding=padding)
    padded = torch.nn.functional.pad(x, (padding,) * 4).float()
    out = []
    for i in range(x.shape[0]):
        oy, ox = int(p.crop_y[i]), int(p.crop_x[i])
        img = padded[i : i + 1, :, oy : oy + 32, ox : ox + 32]
        if p.flip[i]:
            img = img.flip(-1)
        for k in range(p.ops.shape[1]):
            img = apply_op(img, OPS[int(p.ops[i, k])], magnitude, p.signs[i, k : k + 1])
        img = img / 255.0
        cy, cx = int(p.cutout_y[i]), int(p.cutout_x[i])
        img[
            :,
            :,
            max(cy - cutout // 2, 0) : max(cy + cutout // 2, 0),
            max(cx - cutout // 2, 0) : max(cx + cutout // 2, 0),
        ] = 0
        out.append(img)
    return torch.cat(out)


@pytest.mark.parametrize("magnitude", [0.0, 9.0, 23.7])
def test_batched_equals_per_image_reference(magnitude):
    x = images(96, seed=1, smooth=True)
    y = cifar_augment(x, magnitude, gen(11))
    ref = reference(x, magnitude, 11)
    assert torch.allclose(y, ref, atol=1e-5), (y - ref).abs().max()


def test_crop_and_flip_only():
    x = images(64)
    y = cifar_augment(x, 0.0, gen(5), randaugment=False, cutout=False)
    p = sample_params(64, 32, 32, gen(5))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4)).float() / 255
    for i in range(64):
        win = padded[i, :, p.crop_y[i] : p.crop_y[i] + 32, p.crop_x[i] : p.crop_x[i] + 32]
        assert torch.equal(y[i], win.flip(-1) if p.flip[i] else win)
    assert 0.3 < p.flip.float().mean() < 0.7 and len(set(p.crop_x.tolist())) == 9


def test_cutout_blacks_out_a_clipped_16x16_square():
    x = torch.full((200, 3, 32, 32), 200, dtype=torch.uint8)
    y = cifar_augment(x, 0.0, gen(2), crop=False, flip=False, randaugment=False)
    zero = (y == 0).all(dim=1)  # [B, H, W]
    p = sample_params(200, 32, 32, gen(2))
    for i in range(200):
        rows = zero[i].any(dim=1).nonzero().flatten()
        cols = zero[i].any(dim=0).nonzero().flatten()
        cy, cx = int(p.cutout_y[i]), int(p.cutout_x[i])
        assert rows.tolist() == list(range(max(cy - 8, 0), min(cy + 8, 32)))
        assert cols.tolist() == list(range(max(cx - 8, 0), min(cx + 8, 32)))
        assert zero[i].sum() == len(rows) * len(cols)
    assert (zero.sum(dim=(1, 2)) == 256).any()  # some squares lie fully inside


def test_larger_magnitude_changes_images_more():
    x = images(512, seed=4, smooth=True)
    base = x.float() / 255.0
    diffs = [
        (cifar_augment(x, m, gen(9), **OFF) - base).abs().mean().item()
        for m in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
    ]
    for lo, hi in zip(diffs, diffs[1:], strict=False):
        assert hi >= lo * 0.98, diffs  # monotone up to noise
    assert diffs[-1] > 2.0 * diffs[1], diffs


def test_magnitude_is_continuous_and_clamped():
    x = images(64, smooth=True)
    a, b = cifar_augment(x, 10.0, gen(1), **OFF), cifar_augment(x, 10.4, gen(1), **OFF)
    assert not torch.equal(a, b)  # a fractional step changes the output
    assert torch.equal(cifar_augment(x, 45.0, gen(1)), cifar_augment(x, 30.0, gen(1)))
    assert torch.equal(cifar_augment(x, -3.0, gen(1)), cifar_augment(x, 0.0, gen(1)))


def _tv(name: str, m: float):
    """torchvision.transforms.functional with RandAugment's parameters for bin m (sign +).

    One documented difference: torchvision truncates the translation to int; ours is
    sampled with nearest interpolation, i.e. rounded, so the reference rounds too.
    """
    f = m / 30.0
    near = dict(interpolation=InterpolationMode.NEAREST, fill=None)
    return {
        "Identity": lambda im: im,
        "Brightness": lambda im: TF.adjust_brightness(im, 1 + 0.9 * f),
        "Color": lambda im: TF.adjust_saturation(im, 1 + 0.9 * f),
        "Contrast": lambda im: TF.adjust_contrast(im, 1 + 0.9 * f),
        "Sharpness": lambda im: TF.adjust_sharpness(im, 1 + 0.9 * f),
        "Posterize": lambda im: TF.posterize(im, int(8 - round(m / 7.5))),
        "Solarize": lambda im: TF.solarize(im, 255.0 * (1 - f)),
        "AutoContrast": TF.autocontrast,
        "Equalize": TF.equalize,
        "TranslateX": lambda im: TF.affine(
            im, angle=0.0, translate=[round(150 / 331 * 32 * f), 0], scale=1.0, shear=[0.0, 0.0], **near
        ),
        "TranslateY": lambda im: TF.affine(
            im, angle=0.0, translate=[0, round(150 / 331 * 32 * f)], scale=1.0, shear=[0.0, 0.0], **near
        ),
        "Rotate": lambda im: TF.rotate(im, 30.0 * f, **near),
        "ShearX": lambda im: TF.affine(
            im,
            angle=0.0,
            translate=[0, 0],
            scale=1.0,
            center=[0, 0],
            shear=[math.degrees(math.atan(0.3 * f)), 0.0],
            **near,
        ),
        "ShearY": lambda im: TF.affine(
            im,
            angle=0.0,
            translate=[0, 0],
            scale=1.0,
            center=[0, 0],
            shear=[0.0, math.degrees(math.atan(0.3 * f))],
            **near,
        ),
    }[name]


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("m", [8.0, 30.0])
def test_each_op_matches_torchvision(name, m):
    for smooth in (False, True):
        x = images(16, seed=2, smooth=smooth)
        ours = apply_op(x.float(), name, m)
        theirs = _tv(name, m)(x).float()
        diff = (ours - theirs).abs()
        # torchvision rounds to uint8 inside the op; we stay in float.
        tol = 1.5 if name == "Sharpness" else 1.0
        assert diff.max() <= tol, (name, m, diff.max().item())
        if smooth and name != "Identity":
            assert (ours != x.float()).any(), name  # and the op does something


def test_signed_ops_use_the_sign():
    x = images(8, smooth=True).float()
    for name in ("Rotate", "TranslateX", "Brightness"):
        pos, neg = apply_op(x, name, 20.0), apply_op(x, name, 20.0, signs=-torch.ones(8))
        assert not torch.equal(pos, neg)
    assert torch.equal(apply_op(x, "Solarize", 20.0), apply_op(x, "Solarize", 20.0, signs=-torch.ones(8)))


def test_normalize():
    x = torch.full((2, 3, 4, 4), 0.5)
    y = normalize(x, (0.5, 0.25, 0.0), (0.5, 0.25, 0.5))
    assert torch.allclose(y[:, 0], torch.zeros(1)) and torch.allclose(y[:, 1], torch.ones(1))
    assert torch.allclose(y[:, 2], torch.ones(1))
    assert y.dtype == torch.float32 and not torch.equal(x, y)


def test_meta_tensors_give_the_output_shape():
    # The core counts FLOPs by running a training step on meta tensors.
    y = cifar_augment(torch.empty(4, 3, 32, 32, dtype=torch.uint8, device="meta"), 9.0, gen(0))
    assert y.device.type == "meta" and y.shape == (4, 3, 32, 32) and y.dtype == torch.float32


def test_cpu_chunking_gives_the_same_result(monkeypatch):
    import ohgw_bench.tasks.data.augment as aug

    x = images(300, seed=6, smooth=True)
    chunked = cifar_augment(x, 17.0, gen(4))  # 300 > CPU_CHUNK: three chunks
    monkeypatch.setattr(aug, "CPU_CHUNK", 10_000)
    whole = cifar_augment(x, 17.0, gen(4))
    assert torch.allclose(chunked, whole, atol=1e-6)
