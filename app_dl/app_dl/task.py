"""The synthetic task: inputs from a fixed seed, labels from a fixed random teacher network.

A teacher makes the labels a smooth function of the inputs, so a student can learn them and the loss really
falls; a fixed seed makes every run, in every packaging strategy, train on exactly the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

SEED = 1234


@dataclass(frozen=True)
class TaskShape:
    features: int = 256
    hidden: int = 512
    classes: int = 10
    samples: int = 16_384


def make_dataset(shape: TaskShape) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(SEED)
    inputs = torch.randn(shape.samples, shape.features, generator=generator)
    teacher_in = torch.randn(shape.features, 64, generator=generator) / shape.features**0.5
    teacher_out = torch.randn(64, shape.classes, generator=generator) / 8.0
    with torch.no_grad():
        labels = (torch.tanh(inputs @ teacher_in) @ teacher_out).argmax(dim=1)
    return inputs, labels


def make_model(shape: TaskShape) -> nn.Sequential:
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Linear(shape.features, shape.hidden),
        nn.ReLU(),
        nn.Linear(shape.hidden, shape.hidden),
        nn.ReLU(),
        nn.Linear(shape.hidden, shape.classes),
    )


def train_flops_per_sample(shape: TaskShape) -> int:
    """Analytic FLOPs of one training sample: forward 2·m·n per linear layer, backward twice that.

    Bias adds, activations and the optimizer are left out: they are O(n), not O(n²), and would only blur
    the comparison with the card's matmul peak.
    """
    macs = shape.features * shape.hidden + shape.hidden * shape.hidden + shape.hidden * shape.classes
    return 3 * 2 * macs
