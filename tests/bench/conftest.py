"""Fixtures shared by the benchmark tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny fits run fastest on one torch thread, and two threads crawl when other work shares the cores; the
    caller's count is restored after the test."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
