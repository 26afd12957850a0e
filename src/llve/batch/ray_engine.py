"""``llve enhance --engine ray``: the batch's jobs as Ray actor tasks, on one machine or a cluster.

Each worker is an actor that loads the network once and then enhances input after input through
:func:`llve.batch.jobs.enhance_job`, the path every engine shares. A worker that dies (killed, out of memory, node lost)
is restarted by Ray, which reloads the network and runs its unfinished task again; an attempt that died leaves at
most a hidden temporary file, never a partial output. A retry never adopts an output that exists by then (it may be
another program's file): one that died after its final rename is recorded as failed, "output exists". The driver
keeps one task in flight per worker, hands the next input to whichever worker finishes, and yields records for
:func:`llve.batch.jobs.run_batch` to write. Ray is the optional extra ``llve[ray]``.
"""
from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from llve.batch.jobs import Context, Engine, EnhancerConfig, Job, Record, enhance_job
from llve.core.errors import UserInputError

RETRIES = 3  # attempts after a worker died in the middle of an input


@dataclass(frozen=True)
class RayConfig:
    """Args: address: an existing cluster (``auto``, ``HOST:PORT``, ``ray://HOST:10001``; None starts a local Ray or
    uses the one this process already joined); cpus_per_task: CPUs each worker reserves (also its number of PyTorch
    threads, at least 1); gpus_per_task: GPUs each worker reserves (fractions share a GPU; 0 runs on CPUs)."""

    address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0

    def __post_init__(self) -> None:
        if not (0 < self.cpus_per_task < math.inf and 0 <= self.gpus_per_task < math.inf):  # NaN fails both
            raise UserInputError(f"cpus_per_task must be > 0 and gpus_per_task >= 0, both finite (got "
                                 f"{self.cpus_per_task:g} and {self.gpus_per_task:g})", setting="ray")


class EnhanceWorker:
    """A Ray actor holding one loaded network. Args: spec: how to build it; threads: PyTorch CPU threads."""

    def __init__(self, spec: EnhancerConfig, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.error = None
        try:
            self.enhancer = spec.build()
        except UserInputError as exc:  # reported by ready(), so the driver stops with the reason
            self.error = str(exc)

    def ready(self) -> str | None:
        return self.error

    def enhance(self, job: Job, context: Context) -> Record:
        # An output that exists now is never taken for this job's: a file that appeared while the job waited is
        # another program's, and is refused here exactly as on the local engine.
        return enhance_job(self.enhancer, job, context)


def _workers_that_fit(ray, settings: RayConfig, jobs: int) -> int:
    resources = ray.cluster_resources()
    fits = math.floor(resources.get("CPU", 0) / settings.cpus_per_task + 1e-9)
    if settings.gpus_per_task:
        fits = min(fits, math.floor(resources.get("GPU", 0) / settings.gpus_per_task + 1e-9))
    if fits < 1:
        raise UserInputError(f"the Ray cluster ({resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs) "
                             f"cannot fit one worker of {settings.cpus_per_task:g} CPUs and "
                             f"{settings.gpus_per_task:g} GPUs")
    return min(fits, jobs)


def ray_engine(settings: RayConfig = RayConfig()) -> Engine:
    """An engine for :func:`llve.batch.jobs.run_batch` that runs jobs on Ray workers; records come in finishing
    order."""
    try:
        import ray
    except ImportError:
        raise UserInputError('the Ray engine needs Ray: pip install "llve[ray]"') from None

    def run(jobs: list[Job], spec: EnhancerConfig, context: Context) -> Iterator[Record]:
        if not jobs:
            return
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(address=settings.address, logging_level=logging.WARNING, include_dashboard=False)
            except Exception as exc:  # a wrong address, no cluster there, a local start that timed out
                where = settings.address or "a local Ray"
                raise UserInputError(f"cannot start or join {where}: {str(exc).splitlines()[0]}") from None
        try:
            yield from _run_on_workers(ray, settings, jobs, spec, context)
        finally:
            if started:
                ray.shutdown()

    return run


def _run_on_workers(ray, settings: RayConfig, jobs: list[Job], spec: EnhancerConfig,
                    context: Context) -> Iterator[Record]:
    from ray.exceptions import RayActorError, RayTaskError

    worker_class = ray.remote(num_cpus=settings.cpus_per_task, num_gpus=settings.gpus_per_task,
                              max_restarts=-1, max_task_retries=RETRIES)(EnhanceWorker)
    threads = max(1, int(settings.cpus_per_task))
    workers = [worker_class.remote(spec, threads) for _ in range(_workers_that_fit(ray, settings, len(jobs)))]
    errors = [e for e in ray.get([w.ready.remote() for w in workers]) if e]
    if errors:
        raise UserInputError(f"Ray worker cannot start: {errors[0]}")
    queue, running = deque(jobs), {}

    def give(worker) -> None:
        job = queue.popleft()
        running[worker.enhance.remote(job, context)] = (worker, job)

    for worker in workers:  # no more workers than jobs (_workers_that_fit)
        give(worker)
    try:
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            worker, job = running.pop(ref)
            try:
                yield ray.get(ref)
            except RayActorError as exc:  # died on every attempt: the input itself likely kills it
                yield context.record(job, "failed", error=f"Ray worker died {RETRIES + 1} times: {exc}")
            except RayTaskError as exc:  # enhance_job turns errors into records, so this is a bug in llve
                yield context.record(job, "failed", error=f"Ray task error: {exc}")
            if queue:
                give(worker)
    finally:
        for worker in workers:
            ray.kill(worker)
