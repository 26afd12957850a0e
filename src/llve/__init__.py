"""llve: low-light video enhancement by spatial-temporal consistent decomposition (STCD, IJCAI 2025).

``from llve import Enhancer`` is the entry point of the Python API; it is imported on first use, so ``import llve``
stays cheap (no PyTorch) for tools that only want the version or a submodule.
"""

__version__ = "0.1.0"
__all__ = ["Enhancer", "__version__"]


def __getattr__(name: str):
    if name == "Enhancer":
        from llve.inference import Enhancer

        return Enhancer
    raise AttributeError(f"module 'llve' has no attribute '{name}'")
