"""Run configured jobs (collect, then analyze, detect and report) on cron triggers.

APScheduler fires each job on its crontab expression. A job first takes a lock file next to the store
(``STORE.JOB.lock``): a second voxlens process on the same store that fires the same job finds it
held and skips that run with a message, instead of running it twice. DuckDB lets one process write a
store at a time, so a job that finds the store busy (another job, an import) waits up to
``[store] wait`` seconds for it. Every job run is recorded in ``runs`` (collector ``job``).

Example:
    >>> from voxlens.config import load_config
    >>> scheduler = build_scheduler(load_config("voxlens.toml"))  # doctest: +SKIP
    >>> scheduler.start()  # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from voxlens.collectors.base import utc_now
from voxlens.collectors.source import RunOutcome
from voxlens.config import Config, Job
from voxlens.core.errors import StoreError
from voxlens.core.store import Store

Echo = Callable[[str], None]


@dataclass
class JobResult:
    """What one job run did."""

    job: str
    outcomes: list[RunOutcome] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.skipped is None


def lock_path(config: Config, job: str) -> str:
    return f"{config.db}.{job}.lock"


def open_store(db: str, wait: float, echo: Echo = print) -> Store:
    """Open the store, waiting up to ``wait`` seconds while another process writes it."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return Store(db)
        except StoreError as exc:
            if "in use" not in str(exc) or time.monotonic() >= deadline:
                if "in use" in str(exc):
                    raise StoreError(f"the store {db} stayed in use by another process for {wait:.0f} s; "
                                     "this run is skipped, the next trigger tries again "
                                     "(raise [store] wait to wait longer)") from None
                raise
            if not told:
                echo(f"the store {db} is in use by another process; waiting up to {wait:.0f} s")
                told = True
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))


def collect_sources(store: Store, sources: list[Any], progress: bool = False, echo: Echo = print) -> list[RunOutcome]:
    """Run each source once; one failing source does not stop the others."""
    outcomes = []
    for source in sources:
        outcome = source.run(store, progress=progress)
        echo(outcome.summary())
        outcomes.append(outcome)
    return outcomes


def run_job(config: Config, job: Job, progress: bool = False, echo: Echo = print) -> JobResult:
    """Run one job now, unless another process is running it; record the run."""
    from filelock import FileLock, Timeout

    result = JobResult(job.name)
    lock = FileLock(lock_path(config, job.name))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        result.skipped = (f"job {job.name!r} is already running in another process "
                          f"(lock {lock_path(config, job.name)}); this run is skipped")
        echo(result.skipped)
        return result
    try:
        with open_store(config.db, config.store_wait, echo) as store:
            started = utc_now()
            run_id = uuid.uuid4().hex
            _record(store, run_id, job, started, "running", result)
            try:
                _steps(config, job, store, result, progress, echo)
            except Exception as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                echo(f"job {job.name}: failed: {exc}")
            _record(store, run_id, job, started, "ok" if result.ok else "failed", result)
    except StoreError as exc:
        result.errors.append(str(exc))
        echo(f"job {job.name}: {exc}")
    finally:
        lock.release()
    return result


def _steps(config: Config, job: Job, store: Store, result: JobResult, progress: bool, echo: Echo) -> None:
    if "collect" in job.steps:
        result.outcomes = collect_sources(store, config.build_sources(job.sources), progress, echo)
        result.errors += [f"{o.name}: {o.error}" for o in result.outcomes if not o.ok]
        result.steps.append("collect")
    if {"analyze", "detect"} & set(job.steps) and store.count("items") > 0:
        from voxlens.pipeline import Pipeline

        pipeline = Pipeline(store, progress=progress)
        if "analyze" in job.steps:
            echo(f"analyze: {pipeline.analyze()}")
            result.steps.append("analyze")
        if "detect" in job.steps:
            echo(f"detect: {len(pipeline.detect())} issue(s) flagged")
            result.steps.append("detect")
            if config.alerts is not None and config.alerts.enabled:
                from voxlens.alerts import send_alerts

                sent = send_alerts(store, config.alerts)
                echo(f"alerts: {len(sent.sent)} sent" + "".join(f"; {e}" for e in sent.errors))
                result.errors += sent.errors
    if "report" in job.steps and job.report:
        from pathlib import Path

        from voxlens.config import REPORT_FORMATS
        from voxlens.report import write_report

        path = write_report(store, REPORT_FORMATS[Path(job.report).suffix], job.report)
        echo(f"report written to {path}")
        result.steps.append("report")


def _record(store: Store, run_id: str, job: Job, started: Any, status: str, result: JobResult) -> None:
    total = lambda attr: sum(getattr(o.counts, attr) for o in result.outcomes)  # noqa: E731
    row = {
        "run_id": run_id, "collector": "job", "channel": job.name, "started_at": started,
        "finished_at": None if status == "running" else utc_now(), "cursor": None,
        "rows_read": total("read"), "rows_new": total("new"), "rows_updated": total("updated"),
        "rows_duplicate": total("duplicates"), "rows_quarantined": total("quarantined"),
        "status": status, "error": "; ".join(result.errors)[:2000] or None,
    }
    store.upsert("runs", pd.DataFrame([row]), key=["run_id"])


def build_scheduler(config: Config, progress: bool = False, echo: Echo = print, blocking: bool = True) -> Any:
    """An APScheduler scheduler with one cron-triggered entry per configured job."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    from voxlens.core.errors import ConfigError

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=config.timezone)
    for job in config.jobs.values():
        try:
            trigger = CronTrigger.from_crontab(job.cron, timezone=config.timezone)
        except ValueError as exc:
            raise ConfigError(f"{config.path}: job {job.name!r}: cron {job.cron!r} is not a crontab expression ({exc})") from None
        scheduler.add_job(run_job, trigger, args=[config, job], kwargs={"progress": progress, "echo": echo},
                          id=job.name, name=job.name, max_instances=1, coalesce=True, misfire_grace_time=600)
    return scheduler
