"""llve: low-light video enhancement by spatial-temporal consistent decomposition (STCD, IJCAI 2025)."""

__version__ = "0.1.0"
