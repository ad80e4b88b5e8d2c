"""The reference models: a linear regression and a small CNN.

Both are tiny on purpose: the point of lrstudio is to see what a learning rate and a schedule do,
in seconds, on a laptop CPU. Part of :mod:`lrstudio.trainer`: torch is imported at module top.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lrstudio.core.data import Dataset
from lrstudio.core.params import ParamError

INITS = ("default", "kaiming", "xavier", "zeros")


class LinearRegression(nn.Module):
    """``y = w·x + b``: one ``nn.Linear(n_features, 1)`` (``.linear``)."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class SmallCNN(nn.Module):
    """Two 3x3 convolutions (8 and 16 channels) with ReLU, one 2x2 max-pool, a linear head.

    Padding 1 keeps sizes, so an 8x8 input reaches the head as 16x4x4 (256 features) and a
    28x28 input as 16x14x14. (Pooling after each convolution left 8x8 digits with 16x2x2
    features and ~95 % validation accuracy after 10 epochs; one pool gives 97-99 %.)
    """

    def __init__(
        self, input_shape: tuple[int, ...] = (1, 8, 8), n_classes: int = 10,
        channels: tuple[int, int] = (8, 16),
    ) -> None:
        super().__init__()
        c_in, h, w = input_shape
        if h < 4 or w < 4:
            raise ParamError("input_shape", tuple(input_shape), "images of at least 4x4 pixels", "model 'cnn'")
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(c_in, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Linear(c2 * (h // 2) * (w // 2), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def init_weights(model: nn.Module, init: str, model_name: str = "") -> None:
    """Apply an initialisation in place: ``default`` (PyTorch's), ``kaiming``, ``xavier``, ``zeros``.

    Kaiming/He (fan-in, ReLU gain) and Xavier/Glorot are uniform variants with zero biases.
    ``zeros`` is allowed for the linear model only: a CNN with all-zero weights never breaks
    symmetry and learns nothing.
    """
    if init not in INITS:
        raise ParamError("init", init, "one of " + ", ".join(INITS), "run")
    if init == "default":
        return
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if init == "zeros" and any(isinstance(m, nn.Conv2d) for m in layers):
        raise ParamError("init", "zeros", "default, kaiming or xavier for the CNN (zeros is for the linear "
                         "model only: all-zero weights never break symmetry)", "run")
    with torch.no_grad():
        for m in layers:
            if init == "zeros":
                nn.init.zeros_(m.weight)
            elif init == "kaiming":
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_model(config: Any, dataset: Dataset) -> nn.Module:
    """Build and initialise the model of ``config`` (a RunConfig) for ``dataset``.

    Uses torch's global RNG: the caller seeds it (``torch.manual_seed``) for reproducible weights.
    """
    model: nn.Module
    if config.model == "linear":
        if dataset.task != "regression":
            raise ParamError("model", "linear", "the cnn model for image data sets", "run")
        model = LinearRegression(dataset.x_train.shape[1])
    elif config.model == "cnn":
        if dataset.task != "classification":
            raise ParamError("model", "cnn", "the linear model for tabular data sets", "run")
        model = SmallCNN(dataset.input_shape, dataset.n_classes)
    else:
        raise ParamError("model", config.model, "linear or cnn", "run")
    init_weights(model, config.init, config.model)
    return model
