"""Data: frames and videos, paired low-light/ground-truth sequences, datasets, the low-light camera model."""
