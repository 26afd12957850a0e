"""A network's streaming step as one module, the graph that ``llve export --onnx`` writes::

    step(frame, prev_<feature>...) -> (y, r, s, next_<feature>...)
    step(frame, exposure, prev_<feature>...) -> (y, r, s, next_<feature>...)   (networks with exposure control)

It lives with the networks because it is one: the only code outside ``models/`` and ``streaming.py`` that
would otherwise call ``encode`` / ``decompose_first`` itself.
"""
from __future__ import annotations

import torch
from torch import nn


class StreamStep(nn.Module):
    """Enhance frame t from its cached features and the partner frame t+1; hand back t+1's features. A network with
    exposure control also takes frame t's target brightness, shape (B,), so that an export keeps the control.
    Args: model: a network with ``encode``, ``decompose_first`` and ``size_multiple``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.exposure = bool(getattr(model, "exposure_control", False))
        m, param = model.size_multiple, next(model.parameters())
        with torch.no_grad():  # the feature tuple type and (name, channels, stride) of each field, from one tiny encode
            feats = model.encode(torch.zeros(1, 3, 4 * m, 4 * m, device=param.device, dtype=param.dtype))
        self.feature_type = type(feats)
        self.layout = [(name, t.shape[1], 4 * m // t.shape[-2]) for name, t in zip(feats._fields, feats)]

    def forward(self, frame: torch.Tensor, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        target = {"exposure": inputs[0]} if self.exposure else {}
        prev = inputs[1:] if self.exposure else inputs
        partner = self.model.encode(frame)
        d = self.model.decompose_first(self.feature_type(*prev), partner, **target)
        return (d.y, d.r, d.s, *partner)

    def example_inputs(self, batch: int, height: int, width: int) -> tuple[torch.Tensor, ...]:
        """A random partner frame (and target brightness) and a random frame's features: what an exporter traces
        the step with."""
        frame = torch.rand(batch, 3, height, width)
        exposure = (torch.rand(batch) * 0.6 + 0.2,) if self.exposure else ()
        with torch.no_grad():
            return (frame, *exposure, *self.model.encode(torch.rand(batch, 3, height, width)))
