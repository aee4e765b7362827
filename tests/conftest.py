"""Shared fixtures: the ``device`` parameter (cuda cases skip without a GPU) and hypothesis profiles."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import nbgrad as nb

settings.register_profile("default", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("gpu", deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def pytest_collection_modifyitems(config, items):
    if nb.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU (CuPy missing or no device): cuda cases skipped")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    """Run a test once per device: ``cpu`` always, ``cuda`` when a GPU is available."""
    return request.param


@pytest.fixture(autouse=True)
def _seed_and_restore():
    """Each test starts from the same seed and leaves grad/anomaly modes as it found them."""
    nb.manual_seed(0)
    yield
    from nbgrad.autograd.anomaly import STATE as ANOMALY
    from nbgrad.autograd.grad_mode import STATE as GRAD

    GRAD.enabled, GRAD.inference = True, False
    ANOMALY.enabled = False
