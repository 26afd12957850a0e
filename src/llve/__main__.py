"""``python -m llve`` (also what ``torchrun -m llve`` runs)."""
import sys

from llve.cli import main

sys.exit(main())
