"""Learning-rate schedule: linear warm-up, then cosine annealing with warm restarts (the official scheme).

The official ``CosineAnnealingLR_Restart`` updates the rate recursively from the previous step; the closed form
used here gives the same curve and depends on the iteration alone, so a resumed run needs no extra state:

    segment k starts at ``starts[k]`` (0, then each restart), lasts ``periods[k]`` iterations, peaks at
    ``lr * weights[k]`` (weight 1 for the first segment) and decays to ``eta_min``:
    ``lr(i) = eta_min + (peak - eta_min) * (1 + cos(pi * (i - start) / period)) / 2``.

During warm-up (``i < warmup``) the rate rises linearly: ``lr(i) = lr(warmup) * (i + 1) / warmup``.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleConfig:
    """Args: lr: peak learning rate (official 1e-4); betas: Adam's (official 0.9, 0.99); weight_decay;
    periods: length of each cosine segment; restarts: iterations where a new segment starts (one fewer than
    periods); restart_weights: peak of each restarted segment relative to ``lr``; eta_min: floor (official 1e-7);
    warmup: linear warm-up iterations (0: none)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    periods: tuple[int, ...] = (200000,)
    restarts: tuple[int, ...] = ()
    restart_weights: tuple[float, ...] = ()
    eta_min: float = 1e-7
    warmup: int = 0

    def __post_init__(self):
        if len(self.restart_weights) != len(self.restarts):
            raise ValueError(f"restart_weights has {len(self.restart_weights)} entries, restarts {len(self.restarts)}")
        if len(self.periods) < len(self.restarts) + 1:
            raise ValueError(f"periods needs {len(self.restarts) + 1} entries (one per segment), "
                             f"got {len(self.periods)}")
        if list(self.restarts) != sorted(set(self.restarts)) or any(r <= 0 for r in self.restarts):
            raise ValueError("restarts must be increasing positive iterations")
        if any(p <= 0 for p in self.periods) or not 0 < self.lr < math.inf or self.warmup < 0:  # NaN fails too
            raise ValueError("periods and lr must be positive (lr finite), warmup >= 0")
        numbers = {"eta_min": self.eta_min, "weight_decay": self.weight_decay, "betas": self.betas,
                   "restart_weights": self.restart_weights}
        for name, value in numbers.items():
            if not all(0 <= v < math.inf for v in (value if isinstance(value, tuple) else (value,))):
                raise ValueError(f"{name} must be finite and >= 0 (got {value})")
        if not all(b < 1 for b in self.betas):
            raise ValueError(f"betas must be in [0, 1) (got {self.betas})")


def learning_rate(cfg: ScheduleConfig, iteration: int) -> float:
    """The learning rate used for the update of iteration ``iteration`` (0-based)."""
    if iteration < cfg.warmup:
        return learning_rate(cfg, cfg.warmup) * (iteration + 1) / cfg.warmup
    k = bisect.bisect_right(cfg.restarts, iteration)  # segment index
    start = cfg.restarts[k - 1] if k else 0
    peak = cfg.lr * (cfg.restart_weights[k - 1] if k else 1.0)
    t = min(iteration - start, cfg.periods[k])
    return cfg.eta_min + (peak - cfg.eta_min) * (1 + math.cos(math.pi * t / cfg.periods[k])) / 2
