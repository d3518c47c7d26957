"""The job table: every job the worker runs, with its timeout and number of tries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    timeout_s: int
    max_tries: int


Job = Callable[..., Awaitable[Any]]

JOBS: dict[Job, JobSpec] = {}


def job(*, timeout_s: int = 300, max_tries: int = 3) -> Callable[[Job], Job]:
    """Register a job function in the table the worker reads."""

    def register(fn: Job) -> Job:
        JOBS[fn] = JobSpec(timeout_s, max_tries)
        return fn

    return register
