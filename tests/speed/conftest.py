"""Tiny networks for the speed-tooling tests (the same smallest widths as tests/models/test_registry.py)."""
import dataclasses

import torch

from llve.models import ARCHITECTURES, build_model

TINY = {"width": 8, "half_width": 4, "quarter_width": 8, "heads": 2}


def tiny(arch: str):
    fields = {f.name for f in dataclasses.fields(ARCHITECTURES[arch][1])}
    torch.manual_seed(0)
    return build_model(arch, **{k: v for k, v in TINY.items() if k in fields})
