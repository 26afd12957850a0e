"""Data: reading frames and videos, paired low-light/ground-truth sequences, datasets and synthesis."""
