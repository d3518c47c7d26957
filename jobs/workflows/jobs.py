"""The workflow engine's arq jobs and crons, declared as data with their timeouts and tries."""

from __future__ import annotations

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from jobs.constants import (
    WORKFLOW_BATCH_JOB,
    WORKFLOW_CONDITIONS_EVERY_S,
    WORKFLOW_JOB,
    WORKFLOW_JOB_TIMEOUT_S,
    WORKFLOW_MAX_TRIES,
    WORKFLOW_SWEEP_EVERY_S,
    WORKFLOW_TICK_EVERY_S,
)
from jobs.workflows.dispatch import sweep
from jobs.workflows.runner import run_workflow, run_workflows
from jobs.workflows.triggers import check_conditions, fire_schedules


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, seconds))


JOBS: tuple[Function, ...] = (
    func(run_workflow, name=WORKFLOW_JOB, timeout=WORKFLOW_JOB_TIMEOUT_S,
         max_tries=WORKFLOW_MAX_TRIES),
    func(run_workflows, name=WORKFLOW_BATCH_JOB, timeout=WORKFLOW_JOB_TIMEOUT_S,
         max_tries=WORKFLOW_MAX_TRIES),
)
CRON_JOBS: tuple[CronJob, ...] = (
    cron(sweep, name="workflow_sweep", second=_every(WORKFLOW_SWEEP_EVERY_S), unique=True,
         run_at_startup=True, timeout=60),
    cron(fire_schedules, name="workflow_schedules", second=_every(WORKFLOW_TICK_EVERY_S),
         unique=True, run_at_startup=True, timeout=60),
    cron(check_conditions, name="workflow_conditions",
         second=_every(WORKFLOW_CONDITIONS_EVERY_S), unique=True, run_at_startup=False,
         timeout=60),
)
