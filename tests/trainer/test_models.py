"""Reference models: shapes, initialisations, and which combinations are refused."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.data import load_windsor, make_synthetic
from lrstudio.core.params import ParamError
from lrstudio.trainer import models


def test_linear_regression_is_one_linear_layer():
    m = models.LinearRegression(3)
    assert isinstance(m.linear, torch.nn.Linear) and sum(p.numel() for p in m.parameters()) == 4
    assert m(torch.zeros(5, 3)).shape == (5, 1)
    assert type(m).__name__ == "LinearRegression" and isinstance(m, models.LinearRegression)


@pytest.mark.parametrize("size", [8, 28])
def test_small_cnn_works_for_8x8_and_28x28(size):
    m = models.SmallCNN((1, size, size), 10)
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(8, (3, 3)), (16, (3, 3))]
    assert m(torch.zeros(4, 1, size, size)).shape == (4, 10)


def test_small_cnn_rejects_tiny_images():
    with pytest.raises(ParamError, match="at least 4x4"):
        models.SmallCNN((1, 3, 3), 10)


@pytest.mark.parametrize("init", ["kaiming", "xavier"])
def test_inits_zero_the_biases_and_change_the_weights(init):
    torch.manual_seed(0)
    m = models.SmallCNN((1, 8, 8), 10)
    before = [p.detach().clone() for p in m.parameters()]
    models.init_weights(m, init)
    for layer in m.modules():
        if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
            assert torch.count_nonzero(layer.bias) == 0
    assert not all(torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_zeros_init_is_for_the_linear_model_only():
    m = models.LinearRegression(4)
    models.init_weights(m, "zeros")
    assert all(torch.count_nonzero(p) == 0 for p in m.parameters())
    with pytest.raises(ParamError, match="zeros is for the linear model only"):
        models.init_weights(models.SmallCNN(), "zeros")


def test_build_model_matches_the_dataset():
    ds = load_windsor()
    torch.manual_seed(1)
    a = models.build_model(RunConfig(model="linear"), ds)
    torch.manual_seed(1)
    b = models.build_model(RunConfig(model="linear"), ds)
    assert a.linear.in_features == 11
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    syn = make_synthetic(extra_features=2)
    assert models.build_model(RunConfig(model="linear", dataset=DatasetConfig(name="synthetic")),
                              syn).linear.in_features == 3
    with pytest.raises(ParamError, match="cnn model for image data sets|linear model for tabular"):
        models.build_model(RunConfig(model="cnn"), ds)


def test_importing_core_does_not_import_torch():
    # The models and the loop import torch (lrstudio.trainer); what the GUI imports before its
    # window shows (the data sets, the config, the plan, the registries) must not.
    code = "import sys, lrstudio.core.data, lrstudio.core.config, lrstudio.core.plan, lrstudio.core.optimizers; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
