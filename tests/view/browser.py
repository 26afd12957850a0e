"""Driving the viewer in a real headless Chromium (Debian's ``chromium`` through Playwright): shared by the tests
and ``scripts/viewer_screenshot.py``."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("gradio") is None:
        return "gradio is not installed (pip install 'llve[view]')"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_served(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llve view exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"llve view did not answer at {url} within {timeout_s} s")


@contextlib.contextmanager
def running_viewer(tmpdir: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``llve view`` on a free localhost port, its temporary folder under ``tmpdir``; stopped on the way out."""
    port = free_port()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    proc = subprocess.Popen([sys.executable, "-m", "llve", "view", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)


@contextlib.contextmanager
def chromium_page(**options):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415

    expect.set_options(timeout=60_000)  # a busy 2-core machine needs many seconds to render the page
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900}, **options)
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def upload(page, path: Path) -> None:
    page.locator("#upload input[type=file]").set_input_files(str(path))
