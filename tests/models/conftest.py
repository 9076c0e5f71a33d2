"""Shared fixtures of the model tests."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest on one thread (and the test machine's cores are shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
