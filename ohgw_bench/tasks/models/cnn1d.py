"""A small BatchNorm 1-D CNN for MNIST-1D's 40-sample sequences (about 10k parameters): position
matters in MNIST-1D, so the head sees the flattened feature map, not a global average."""

from __future__ import annotations

from torch import nn


def _block(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm1d(cout),
        nn.ReLU(inplace=True),
    )


class CNN1D(nn.Module):
    def __init__(self, num_classes: int = 10, length: int = 40, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, width, 5, 1), _block(width, width, 3, 2), _block(width, width, 3, 2), nn.Flatten()
        )
        self.head = nn.Linear(width * ((length + 3) // 4), num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.head(self.features(x))


def cnn1d(num_classes: int) -> CNN1D:
    return CNN1D(num_classes)
