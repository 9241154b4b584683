"""ResNets for 32×32 inputs.

* :func:`resnet20` — He et al. 2016 (arXiv:1512.03385, §4.2): a 3×3 stem with 16 channels,
  three stages of 3 basic blocks (16/32/64 channels), option-A shortcuts (identity;
  at a stage change: stride-2 subsampling and zero-padding of the new channels, so no
  extra parameters), global average pool, linear head. 269,722 parameters for 10 classes
  (272,474 is the count with 1×1 projection shortcuts at the two stage changes, option B).
* :func:`resnet50` — the ImageNet bottleneck ResNet-50 ([3, 4, 6, 3] blocks, expansion 4,
  projection shortcuts) adapted to CIFAR as is common (e.g. kuangliu/pytorch-cifar): a
  3×3 stride-1 stem with 64 channels and no max-pool. 23,520,842 parameters for 10 classes.

Init: He-normal (``kaiming_normal_``, fan_out, relu) for convolutions, BatchNorm weight 1
and bias 0, PyTorch's default for the linear head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _init(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


class _ShortcutA(nn.Module):
    """Option A: subsample by 2 and zero-pad the extra channels (parameter-free)."""

    def __init__(self, in_planes: int, planes: int):
        super().__init__()
        self.pad = planes - in_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::2, ::2]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = (
            _ShortcutA(in_planes, planes) if stride != 1 or in_planes != planes else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _StemLayersHead(nn.Module):
    """Shared forward of the CIFAR ResNets: 3×3 stem, residual stages, global pool, linear head."""

    # Set by each subclass's __init__; declared here so that forward() type-checks.
    conv1: nn.Conv2d
    bn1: nn.BatchNorm2d
    layers: nn.Sequential
    fc: nn.Linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


class ResNetCifar(_StemLayersHead):
    """The He et al. CIFAR ResNet family (6n+2 layers); n=3 is ResNet-20."""

    def __init__(self, n: int = 3, num_classes: int = 10, widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, in_planes = [], widths[0]
        for stage, planes in enumerate(widths):
            for block in range(n):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(in_planes, planes, stride))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(in_planes, num_classes)
        _init(self)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != out_planes:  # projection shortcut (option B)
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class ResNetBottleneckCifar(_StemLayersHead):
    def __init__(self, blocks: tuple[int, ...] = (3, 4, 6, 3), num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)  # CIFAR stem: 3×3, stride 1, no max-pool
        self.bn1 = nn.BatchNorm2d(64)
        layers, in_planes = [], 64
        for stage, (count, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=False)):
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(Bottleneck(in_planes, planes, stride))
                in_planes = planes * Bottleneck.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(in_planes, num_classes)
        _init(self)


def resnet20(num_classes: int = 10) -> nn.Module:
    return ResNetCifar(n=3, num_classes=num_classes)


def resnet50(num_classes: int = 10) -> nn.Module:
    return ResNetBottleneckCifar((3, 4, 6, 3), num_classes=num_classes)
