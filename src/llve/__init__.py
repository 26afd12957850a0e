"""llve: low-light video enhancement by spatial-temporal consistent decomposition (STCD, IJCAI 2025).

``from llve import Enhancer, StreamOptions, enhance_path`` is the Python API; each is imported on first use, so
``import llve`` stays cheap (no PyTorch) for tools that only want the version or a submodule.
"""

import os
import sys

# Before PyTorch loads OpenMP (which reads this once): threads that finish their share sleep instead of spinning. On
# a machine that runs anything else, spinning threads that lose their core stall every barrier (streaming 1.6 s ->
# 0.26 s per 960x512 frame on a loaded 2-core machine). Set on import of the package, so the Python API and the
# command line run alike; OMP_WAIT_POLICY=ACTIVE in the environment overrides it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
TORCH_LOADED_FIRST = "torch" in sys.modules  # then the policy above came too late for this process

__version__ = "0.1.0"
__all__ = ["Enhancer", "StreamOptions", "enhance_path", "__version__"]


def __getattr__(name: str):
    if name == "Enhancer":
        from llve.run.enhancer import Enhancer

        return Enhancer
    if name == "StreamOptions":
        from llve.stream.options import StreamOptions

        return StreamOptions
    if name == "enhance_path":
        from llve.run.enhance import enhance_path

        return enhance_path
    raise AttributeError(f"module 'llve' has no attribute '{name}'")
