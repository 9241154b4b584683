"""A small BatchNorm CNN for 8×8 digits: big enough to have a real loss landscape,
small enough that a digits-cnn trial's epoch takes a fraction of a second on one core."""

from __future__ import annotations

from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_channels, width),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.head(self.features(x))


def small_cnn(num_classes: int) -> SmallCNN:
    return SmallCNN(num_classes)


class FashionCNN(nn.Module):
    """For 28×28 grey images: two BN conv blocks of stride 2 (a 5×5, then a 3×3: 28 → 14 → 7) and a
    linear head on the flattened 7×7 map (position matters, as in ``cnn1d``). Everything at full
    resolution is what costs on the CPU, so the first block strides: an epoch costs about what an
    mnist1d-cnn epoch costs (docs/tasks.md)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()

        def block(cin: int, cout: int, kernel: int) -> nn.Sequential:
            conv = nn.Conv2d(cin, cout, kernel, stride=2, padding=kernel // 2, bias=False)
            return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.features = nn.Sequential(block(in_channels, width, 5), block(width, 2 * width, 3), nn.Flatten())
        self.head = nn.Linear(2 * width * 7 * 7, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.head(self.features(x))


def fashion_cnn(num_classes: int) -> FashionCNN:
    return FashionCNN(num_classes)
