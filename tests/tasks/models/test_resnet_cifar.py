"""CIFAR ResNets: pinned parameter counts, shapes, shortcut type and initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ohgw_bench.tasks.models.resnet_cifar import resnet20, resnet50


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet20_parameter_count():
    # He et al. 2016 option A (parameter-free shortcuts): 269,722 for 10 classes.
    # (272,474 = the same net with 1×1 projection shortcuts at the two stage changes.)
    assert n_params(resnet20(10)) == 269_722
    assert n_params(resnet20(100)) == 269_722 + 90 * 64 + 90


def test_resnet20_structure():
    m = resnet20(10)
    convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
    assert len(convs) == 19 and all(c.kernel_size == (3, 3) for c in convs)  # 19 conv + 1 fc = 20
    assert sorted({c.out_channels for c in convs}) == [16, 32, 64]
    assert sum(isinstance(x, nn.Linear) for x in m.modules()) == 1


def test_resnet50_parameter_count_and_stem():
    m = resnet50(10)
    assert n_params(m) == 23_520_842
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert not any(isinstance(x, nn.MaxPool2d) for x in m.modules())
    assert len(m.layers) == 3 + 4 + 6 + 3


@pytest.mark.parametrize("factory", [resnet20, resnet50])
def test_forward_backward_shapes(factory):
    torch.manual_seed(0)
    m = factory(7)
    x = torch.randn(2, 3, 32, 32)
    out = m(x)
    assert out.shape == (2, 7) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_initialisation():
    torch.manual_seed(0)
    m = resnet20(10)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            assert torch.all(mod.weight == 1) and torch.all(mod.bias == 0)
    # He-normal, fan_out: std = sqrt(2 / (out_channels · k · k)); check the widest conv.
    conv = m.layers[-1].conv2
    expected = math.sqrt(2.0 / (conv.out_channels * 9))
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
    assert abs(conv.weight.mean().item()) < 0.1 * expected
