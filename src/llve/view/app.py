"""``llve view``: a local web page (Gradio) to try the enhancement on one's own clip before a long full run.

Drop a dark video or image: the first seconds, downscaled, are enhanced at once and shown before/after with the
R and S components, a frame scrubber and the measures a user judges real footage by (:mod:`llve.view.preview`). Every
control re-renders the preview; "Enhance full video" then runs exactly what ``llve enhance`` runs.

Safe by default: bound to localhost, no share link, analytics off, fonts from the system (the page loads nothing
from elsewhere), an upload size limit, and every file (uploads, previews, results) in one temporary folder that
is removed when the viewer stops.
"""

import importlib.util
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from llve.core.errors import UserInputError, heard_warnings
from llve.media.span import parse_span
from llve.run.enhance import default_output, enhance_path
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions
from llve.view.preview import (
    Cancelled,
    Clip,
    FullRun,
    Measures,
    PreviewConfig,
    load_clip,
    measure,
    media_kind,
    warnings_about,
)

INSTALL_HINT = "llve view needs the optional 'view' extra: pip install 'llve[view]'"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
PREVIEW_SIDES = (240, 320, 480, 640)
PAIRINGS = (("with the next frame (as llve enhance)", "next"), ("each frame alone", "self"))
DENOISE = (0.0, 3.0, 0.25)  # the noise reduction slider: llve enhance --denoise, 0 (off) to 3 in steps
EXPOSURE = (0.05, 0.95, 0.05)  # the target brightness slider: llve enhance --exposure VALUE


@dataclass(frozen=True)
class ViewerConfig:
    """What ``llve view`` serves and how. Args: host / port: where the page is served (localhost by default: nobody
    else can reach it); weights / device: as for ``llve enhance``; max_upload_mb: larger uploads are refused by the
    server; preview: how much of a clip the preview shows (the page can change its size); stream: the stream
    settings, of which the page's controls change the pairing, the exposure and the noise reduction."""

    host: str = "127.0.0.1"
    port: int = 7860
    weights: str | None = None
    device: str = "auto"
    max_upload_mb: int = 1000
    preview: PreviewConfig = PreviewConfig()
    stream: StreamOptions = StreamOptions()


def require_gradio() -> None:
    """The one-line error that names the extra to install, without importing gradio (see :func:`serve`)."""
    if importlib.util.find_spec("gradio") is None:
        raise UserInputError(INSTALL_HINT)


class Enhancers:
    """One :class:`Enhancer` per setting of the controls, loaded on first use and kept (a handful at most).

    ``exposure``: whether the exposure control is offered (the network has it); ``filters``: whether the noise
    reduction is offered (the network's filters are on, as ``auto`` makes them for weights with exposure control).
    """

    def __init__(self, enhancer_class: type, weights: str | None, device: str,
                 stream: StreamOptions = StreamOptions()):
        self.enhancer_class, self.weights, self.device, self.stream = enhancer_class, weights, device, stream
        self.exposure = self.filters = False
        self._cache: dict[StreamOptions, Enhancer] = {}
        self._lock = threading.Lock()
        # Loads the network now (bad --weights: a one-line error at start, not on the first upload); the exposure
        # control is offered only where the weights honour it.
        first = self.get("next", "auto")
        self.exposure = self.filters = bool(getattr(first.model, "exposure_control", False))  # auto means on

    def get(self, pairing: str, exposure: str | float, denoise: float = 1.0) -> Enhancer:
        options = replace(self.stream, pairing=pairing, exposure=exposure if self.exposure else self.stream.exposure,
                          denoise=float(denoise) if self.filters else self.stream.denoise)
        with self._lock:
            if options not in self._cache:
                if len(self._cache) >= 4:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[options] = self.enhancer_class(self.weights, self.device, options)
            return self._cache[options]


@dataclass
class Preview:
    """One session's preview: the upload, its decoded frames and their enhancement with the current controls."""

    path: str
    clip: Clip
    results: list = field(default_factory=list)  # FrameResult per frame
    history: list = field(default_factory=list)  # one row of measures per setting tried on this upload
    auto_target: float | None = None  # what exposure auto chose for the preview (the slider starts there)


def exposure_value(mode: str, value: float) -> str | float:
    return "auto" if mode == "auto" else float(value)


def describe(pairing: str, exposure: str | float | None, denoise: float = 1.0) -> str:
    text = f"partner: {pairing}"
    if exposure is not None:
        text += f", exposure: {exposure if exposure == 'auto' else f'{exposure:.2f}'}"
    return text if denoise == 1.0 else f"{text}, noise reduction: {denoise:g}"


def measures_markdown(m: Measures) -> str:
    flicker = "n/a (one frame)" if m.relative_flicker is None else (
        f"{m.relative_flicker:.2f} (changes under {100 * m.flicker_floor:.2f} % per frame, the input's noise, "
        "count as none)")
    return "\n".join([
        "| measure (preview) | input | output |", "|---|---|---|",
        f"| mean brightness (0-1) | {m.input_brightness:.3f} | {m.output_brightness:.3f} |",
        f"| newly clipped (a channel >= 250) | | {100 * m.newly_clipped:.2f} % |",
        f"| noise sigma (2x2 blocks) at mean luma 128 | {m.input_noise:.2f} | {m.output_noise:.2f} |",
        f"| relative flicker (1 = as steady as the input) | | {flicker} |",
    ])


CANCELLED = "full enhancement cancelled; nothing was kept"
HISTORY_HEADERS = ["settings", "preview", "brightness", "clipped %", "noise", "rel. flicker"]


def with_row(history: list, row: list) -> list:
    """``history`` with ``row`` as its newest entry; a row of the same settings and preview is replaced, so
    re-rendering a setting never lists it twice."""
    return [r for r in history if r[:2] != row[:2]] + [row]


def slider_start(target: float | None, current: float) -> float:
    """Where the exposure slider starts when the user leaves auto: at what auto chose, on the slider's steps."""
    if target is None:
        return current
    low, high, step = EXPOSURE
    return round(min(max(round(target / step) * step, low), high), 2)


def build_app(config: ViewerConfig, enhancer_class: type = Enhancer, work: Path | None = None):
    """The page as a ``gradio.Blocks``; ``work`` is the folder for full-run results (default: the system's)."""
    require_gradio()
    import gradio as gr  # noqa: PLC0415 - optional dependency

    enhancers = Enhancers(enhancer_class, config.weights, config.device, config.stream)
    uploads = Path(gr.utils.get_upload_folder()).resolve()

    def uploaded(path) -> Path:
        """Only files that were uploaded to this page are read (gradio checks too; this does not rely on it)."""
        if not Path(path).resolve().is_relative_to(uploads):
            raise UserInputError("only files uploaded to this page can be enhanced")
        return Path(path)

    render = _render_handler(gr, config, enhancers, uploaded)
    enhance_full, cancel = _full_run_handlers(gr, enhancers, uploaded, Path(work or tempfile.gettempdir()))
    with gr.Blocks(title="llve viewer", analytics_enabled=False) as app:
        page = _layout(gr, config, enhancers)
        controls = [page.upload, page.mode, page.value, page.pairing, page.filters, page.side, page.state]
        shown = [page.state, page.compare, page.r_img, page.s_img, page.scrub, page.measures, page.history,
                 page.status]
        page.upload.upload(render, controls, shown, trigger_mode="always_last")
        # Leaving auto sets the slider to auto's choice, then renders once; the slider renders on the user's moves
        # only (.input), not when the page sets it.
        page.mode.input(_mode_handler(gr), [page.mode, page.value, page.state], page.value, queue=False).then(
            render, controls, shown, trigger_mode="always_last")
        page.value.input(render, controls, shown, trigger_mode="always_last")
        for control in (page.pairing, page.filters, page.side):
            control.change(render, controls, shown, trigger_mode="always_last")
        page.scrub.change(_show, [page.scrub, page.state], [page.compare, page.r_img, page.s_img],
                          show_progress="hidden")
        # The bar is drawn on the result box, so the status line stays readable while the run goes on.
        run = page.full.click(enhance_full, [page.upload, page.mode, page.value, page.pairing, page.filters,
                                             page.start, page.duration], [page.result, page.status],
                              show_progress_on=[page.result])
        page.stop.click(cancel, None, page.status, cancels=[run], queue=False)
    return app


def _render_handler(gr, config: ViewerConfig, enhancers: Enhancers, uploaded: Callable[[str], Path]):
    """The preview handler: enhance the preview frames with the current controls; the first one is shown as soon
    as it exists, the rest when all are done."""

    def render(path, mode, value, pairing, filters, side, state: Preview | None, progress=gr.Progress()):
        if not path:
            yield state, None, None, None, gr.update(), "", [], "Drop a dark video or image."
            return
        exposure = exposure_value(mode, value) if enhancers.exposure else None
        try:
            start = time.perf_counter()
            with heard_warnings() as heard:
                clip = load_clip(uploaded(path), replace(config.preview, max_side=int(side)))
            enhancer = enhancers.get(pairing, exposure, filters)
            results = []
            for result in progress.tqdm(enhancer.decompose_frames(clip.frames), total=len(clip.frames),
                                        desc="preview"):
                results.append(result)
                if len(results) == 1 and len(clip.frames) > 1:
                    yield (state, (clip.frames[0], result.y), result.r, result.s, gr.update(), gr.update(),
                           gr.update(), f"rendering {len(clip.frames)} preview frames (the first is shown) ...")
            seconds = time.perf_counter() - start
        except UserInputError as exc:
            yield None, None, None, None, gr.update(value=0, visible=False), "", [], f"llve: error: {exc}"
            return
        m = measure(clip.frames, [r.y for r in results])
        history = state.history if state is not None and state.path == path else []
        h, w = clip.frames[0].shape[:2]
        row = [describe(pairing, exposure, filters), f"{w}x{h}, {len(results)} frame(s)", round(m.output_brightness, 3),
               round(100 * m.newly_clipped, 2), round(m.output_noise, 2),
               None if m.relative_flicker is None else round(m.relative_flicker, 2)]
        control = enhancer.exposure_controller if exposure == "auto" else None
        chosen = control.summary().target_max if control is not None else None
        preview = Preview(path, clip, results, with_row(history, row), chosen)  # HISTORY_HEADERS
        said = "".join(f"; warning: {message}" for message in warnings_about(heard, Path(path)))
        status = (f"preview: {len(results)} frame(s) at {w}x{h} (upload {clip.width}x{clip.height}, "
                  f"{clip.total_frames or '?'} frames), {describe(pairing, exposure, filters)}, "
                  f"rendered in {seconds:.1f} s{said}")
        first = results[0]
        yield (preview, (clip.frames[0], first.y), first.r, first.s,
               gr.update(maximum=max(1, len(results) - 1), value=0, visible=len(results) > 1),
               measures_markdown(m), preview.history[::-1], status)
    return render


def _mode_handler(gr):
    """The exposure mode's handler: the slider is live only for a fixed exposure, and starts at what auto chose."""

    def mode_changed(mode, value, state: Preview | None):
        start = slider_start(state.auto_target if state is not None else None, value)
        return gr.update(interactive=mode == "value", value=start if mode == "value" else value)
    return mode_changed


def _show(index, state: Preview | None):
    """The scrubber's frame of the preview: before/after, R and S."""
    if state is None or not state.results:
        return None, None, None
    i = min(int(index), len(state.results) - 1)
    return (state.clip.frames[i], state.results[i].y), state.results[i].r, state.results[i].s


def _full_run_handlers(gr, enhancers: Enhancers, uploaded: Callable[[str], Path], work: Path):
    """The full run's handlers: enhance the whole upload into a folder of its own, and cancel it."""
    runs: dict[str, FullRun] = {}  # session -> its running full enhancement, for Cancel

    def enhance_full(path, mode, value, pairing, filters, start, duration, request: gr.Request,
                     progress=gr.Progress(track_tqdm=True)):
        if not path:
            return None, "Drop a dark video or image first."
        exposure = exposure_value(mode, value) if enhancers.exposure else None
        job = FullRun(work / "runs" / uuid.uuid4().hex)
        runs[request.session_hash] = job
        try:
            src, span = uploaded(path), parse_span(start or None, duration or None)
            enhancer = enhancers.get(pairing, exposure, filters)
            name = default_output(src, media_kind(src), lossless=False).name
            out = job.run(lambda target: enhance_path(job.stoppable(enhancer), src, target, progress=True,
                                                      span=span), name, about=src)
        except Cancelled:
            return None, CANCELLED
        except UserInputError as exc:
            return None, f"llve: error: {exc}"
        finally:
            runs.pop(request.session_hash, None)
        part = f"{span.describe()}, " if not span.whole else ""
        control = enhancer.exposure_controller
        chose = f"; {control.describe()}" if control is not None else ""
        said = "".join(f"; warning: {message}" for message in job.warnings)  # e.g. a truncated upload
        return str(out), (f"done: {out.name} ({part}{describe(pairing, exposure, filters)}), full resolution"
                          f"{chose}{said}")

    def cancel(request: gr.Request):
        job = runs.get(request.session_hash)
        if job is None or not job.cancel():
            return "nothing to cancel"
        return CANCELLED if job.wait(60) else "cancelling ... (the run stops after its current frame)"
    return enhance_full, cancel


@dataclass
class _Page:
    """The page's components that the handlers read or write."""

    state: object
    upload: object
    status: object
    mode: object
    value: object
    pairing: object
    filters: object
    side: object
    start: object
    duration: object
    full: object
    stop: object
    result: object
    compare: object
    scrub: object
    r_img: object
    s_img: object
    measures: object
    history: object


def _layout(gr, config: ViewerConfig, enhancers: Enhancers) -> _Page:
    """The page's components, laid out (inside the caller's ``gr.Blocks``)."""
    gr.Markdown("## llve viewer\nDrop a dark clip: the first seconds are enhanced at preview size. "
                "Compare before/after with the slider, look at the view-independent R and the view-dependent S, "
                "then enhance the whole file at full resolution.")
    c = {"state": gr.State(None)}
    with gr.Row():
        with gr.Column(scale=1):
            c["upload"] = gr.File(label="Dark video or image", type="filepath", elem_id="upload")
            c["status"] = gr.Markdown("Drop a dark video or image.", elem_id="status")
            c["mode"] = gr.Radio(["auto", "value"], value="auto", label="Exposure", visible=enhancers.exposure,
                                 elem_id="exposure-mode")
            c["value"] = gr.Slider(*EXPOSURE[:2], value=0.4, step=EXPOSURE[2], interactive=False,
                                   label="Target mean brightness (exposure value; auto chooses its own)",
                                   visible=enhancers.exposure, elem_id="exposure-value")
            c["pairing"] = gr.Radio(list(PAIRINGS), value="next", label="Partner frame", elem_id="pairing")
            c["filters"] = gr.Slider(*DENOISE[:2], value=1.0, step=DENOISE[2], visible=enhancers.filters,
                                     label="Noise reduction (1: as llve enhance, 0: off; temporal and spatial, on R)",
                                     elem_id="noise-reduction")
            c["side"] = gr.Radio(list(PREVIEW_SIDES), value=config.preview.max_side,
                                 label="Preview size (longer side, pixels)", elem_id="preview-size")
            with gr.Row():
                c["start"] = gr.Textbox(label="Full run from (seconds or HH:MM:SS.ms)", placeholder="0",
                                        elem_id="run-start")
                c["duration"] = gr.Textbox(label="for (empty: to the end)", placeholder="to the end",
                                           elem_id="run-duration")
            with gr.Row():
                c["full"] = gr.Button("Enhance full video", variant="primary", elem_id="enhance-full")
                c["stop"] = gr.Button("Cancel", variant="stop", elem_id="cancel")
            c["result"] = gr.File(label="Enhanced result (full resolution)", interactive=False, elem_id="result")
        with gr.Column(scale=2):
            c["compare"] = gr.ImageSlider(label="Before / after", elem_id="compare", buttons=["fullscreen"])
            c["scrub"] = gr.Slider(0, 1, value=0, step=1, label="Frame", visible=False, elem_id="frame")
            with gr.Row():
                c["r_img"] = gr.Image(label="R: view-independent (the surfaces)", elem_id="component-r",
                                      buttons=["fullscreen"])
                c["s_img"] = gr.Image(label="S: view-dependent (shading and light)", elem_id="component-s",
                                      buttons=["fullscreen"])
            c["measures"] = gr.Markdown(elem_id="measures")
            c["history"] = gr.Dataframe(headers=HISTORY_HEADERS, label="Settings tried on this clip (newest first)",
                                        interactive=False, elem_id="history")
    return _Page(**c)


def serve(config: ViewerConfig) -> None:
    """Run the viewer until Ctrl-C; every file it made is removed on the way out."""
    require_gradio()
    with tempfile.TemporaryDirectory(prefix="llve-view-") as folder:
        work = Path(folder)
        # Before gradio is first imported (it reads these once): no usage statistics or version check, and its
        # uploads and served copies go into our folder.
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ["GRADIO_TEMP_DIR"] = str(work / "uploads")
        import gradio as gr  # noqa: PLC0415 - optional dependency

        app = build_app(config, work=work)
        theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                                  font_mono=["ui-monospace", "Consolas", "monospace"])  # no web fonts fetched
        try:
            app.queue().launch(server_name=config.host, server_port=config.port, share=False, inbrowser=False,
                               max_file_size=f"{config.max_upload_mb}mb", ssr_mode=False, mcp_server=False,
                               quiet=True, footer_links=[], theme=theme, prevent_thread_lock=True)
        except OSError as exc:
            raise UserInputError(f"cannot serve on {config.host}:{config.port}: {exc}", setting="port") \
                from None
        print(f"llve view: serving http://{config.host}:{config.port} (Ctrl-C to stop); temporary files in {work} "
              "(removed at exit)", flush=True)
        try:
            app.block_thread()
        finally:
            app.close()
