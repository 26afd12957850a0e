"""Measuring tools of ``llve bench``: peak resident memory, the machine's matmul rate, what the device is.

Kept apart from the benchmark itself so other tools (a training run, a notebook) can measure the same way.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import platform
import statistics
import threading
import time

import torch

from llve.core.device import synchronize
from llve.stream.pipeline import decompose_pair


class PeakRSS:
    """Peak resident memory of this process while the block runs, sampled every few milliseconds.

    ``ru_maxrss`` cannot be reset between measurements, so a sampling thread reads ``/proc/self/statm``;
    where that file does not exist (macOS, Windows) the process-lifetime peak is reported instead.
    """

    def __init__(self, interval_s: float = 0.005):
        self.interval_s, self.peak_bytes = interval_s, 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page
        except OSError:
            import resource  # noqa: PLC0415 - POSIX only; kilobytes on Linux, bytes on macOS

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak if platform.system() == "Darwin" else peak * 1024

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, self._rss())

    def __enter__(self) -> PeakRSS:
        self.peak_bytes = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss())


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """The machine's dense fp32 matrix-multiply rate: the practical ceiling for convolution networks."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    times = []
    for i in range(repeats + 2):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        if i >= 2:
            times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def gc_and_reset(device: torch.device) -> None:
    """Free what earlier measurements left, so each one's peak memory is its own."""
    gc.collect()
    # glibc keeps freed heap pages; hand them back so the next "RSS before" is honest.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    return f"cpu ({name}, {os.cpu_count()} logical cores)"


def tiling_psnr(model, x1: torch.Tensor, x2: torch.Tensor, tile: int, overlap: int | None = None) -> float:
    """PSNR (dB) of the tiled enhancement of frame 1 against the untiled one: the price of bounded memory."""
    with torch.inference_mode():
        whole = decompose_pair(model, x1, x2).y.clamp(0, 1)
        tiled = decompose_pair(model, x1, x2, tile, overlap).y.clamp(0, 1)
    mse = (whole - tiled).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(1 / mse)
