"""llve: low-light video enhancement by spatial-temporal consistent decomposition (STCD, IJCAI 2025).

``from llve import Enhancer, StreamOptions, enhance_path`` is the Python API; each is imported on first use, so
``import llve`` stays cheap (no PyTorch) for tools that only want the version or a submodule.
"""

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
