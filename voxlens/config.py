"""The collector and schedule configuration: a TOML file of sources and jobs.

Example (``voxlens.toml``)::

    [store]
    db = "feedback.duckdb"

    [defaults]          # applied to every source that takes them
    redact = true

    [sources.reddit-parcelo]
    type = "reddit"
    subreddit = "parcelo"
    comments = true

    [jobs.hourly]
    cron = "5 * * * *"
    steps = ["collect", "analyze", "detect", "report"]
    report = "reports/feedback.html"

    [alerts]            # new and reopened issues, sent by the detect step (see voxlens.alerts)
    webhook_env = "VOXLENS_WEBHOOK_URL"
    cooldown_hours = 24

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "voxlens.toml"
    >>> _ = path.write_text('[sources.forum]\\ntype = "rss"\\nurl = "https://forum.example/latest.rss"\\n')
    >>> config = load_config(path)
    >>> [type(s).__name__ for s in config.build_sources()]
    ['RssSource']
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from voxlens.collectors.base import RunCounts
from voxlens.collectors.source import RunOutcome
from voxlens.core.errors import ConfigError
from voxlens.core.store import Store

STEPS = ("collect", "analyze", "detect", "report")
REPORT_FORMATS = {".html": "html", ".md": "md", ".csv": "csv", ".json": "json"}


def _source_classes() -> dict[str, Callable[..., Any]]:
    from voxlens.collectors.appstore import AppStoreSource
    from voxlens.collectors.googleplay import GooglePlaySource
    from voxlens.collectors.reddit import RedditSource
    from voxlens.collectors.rss import RssSource
    from voxlens.collectors.zendesk import ZendeskSource

    return {"reddit": RedditSource, "appstore": AppStoreSource, "googleplay": GooglePlaySource,
            "rss": RssSource, "zendesk": ZendeskSource, "survey": FileImport, "tickets": FileImport}


class FileImport:
    """A file source in the config (a survey tool export or a ticket CSV), imported on every run.

    Re-importing an unchanged file adds nothing; changed rows update.
    """

    def __init__(self, kind: str, path: str, *, source: str | None = None, redact: bool = False) -> None:
        self.kind = kind
        self.path = path
        self.source = source or kind
        self.redact = redact

    @property
    def name(self) -> str:
        return f"{self.kind} {Path(self.path).name}"

    def run(self, store: Store, progress: bool = False) -> RunOutcome:
        from voxlens.collectors.survey_formats import import_survey_export
        from voxlens.collectors.tickets import import_tickets

        try:
            if self.kind == "survey":
                counts = import_survey_export(store, self.path, source=self.source, progress=progress)
            else:
                counts = import_tickets(store, self.path, source=self.source, redact=self.redact, progress=progress)
        except Exception as exc:  # reported per source so one bad file does not stop the others
            return RunOutcome(self.name, RunCounts(), error=str(exc))
        return RunOutcome(self.name, counts)


@dataclass
class Job:
    """A scheduled job: a cron expression, the sources it collects and the steps it runs."""

    name: str
    cron: str
    sources: list[str]
    steps: list[str] = field(default_factory=lambda: list(STEPS))
    report: str | None = None


@dataclass
class Config:
    """A loaded configuration file."""

    path: Path
    db: str = "voxlens.duckdb"
    store_wait: float = 600.0  # seconds a job waits for a store another process is writing
    timezone: str = "UTC"
    defaults: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    alerts: Any = None      # voxlens.alerts.AlertSettings when the file has an [alerts] table

    def build_sources(self, names: list[str] | None = None) -> list[Any]:
        """Source objects for ``names`` (default: all), with defaults applied and options checked."""
        classes = _source_classes()
        chosen = names or list(self.sources)
        built = []
        for name in chosen:
            if name not in self.sources:
                raise ConfigError(f"{self.path}: no source named {name!r}; sources are {', '.join(self.sources)}")
            options = dict(self.sources[name])
            kind = options.pop("type")
            cls = classes[kind]
            accepted = inspect.signature(cls.__init__).parameters
            settings = {k: v for k, v in self.defaults.items() if k in accepted}
            settings.update(options)
            if cls is FileImport:
                settings["kind"] = kind
            unknown = set(settings) - set(accepted)
            if unknown:
                allowed = [p for p in accepted if p not in ("self", "kind")]
                raise ConfigError(f"{self.path}: source {name!r} ({kind}) has unknown option(s) "
                                  f"{', '.join(sorted(unknown))}; it takes {', '.join(allowed)}")
            try:
                built.append(cls(**settings))
            except TypeError as exc:
                raise ConfigError(f"{self.path}: source {name!r} ({kind}): {exc}") from None
        return built


def load_config(path: str | Path) -> Config:
    """Read and check a ``voxlens.toml``; errors name the file and the setting to fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}: see the README section 'Collectors and schedule' for a sample")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"store", "defaults", "sources", "jobs", "alerts"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                          "use [store], [defaults], [sources.NAME], [jobs.NAME] and [alerts]")
    store = data.get("store", {})
    config = Config(path, db=str(store.get("db", "voxlens.duckdb")), store_wait=float(store.get("wait", 600)),
                    timezone=str(store.get("timezone", "UTC")), defaults=dict(data.get("defaults", {})))
    if not Path(config.db).is_absolute():
        config.db = str((path.parent / config.db).resolve())
    classes = _source_classes()
    for name, options in data.get("sources", {}).items():
        if not isinstance(options, dict) or options.get("type") not in classes:
            raise ConfigError(f"{path}: source {name!r} needs type = one of {', '.join(classes)}")
        if options["type"] in ("survey", "tickets") and "path" in options and not Path(options["path"]).is_absolute():
            options["path"] = str(path.parent / options["path"])
        config.sources[name] = dict(options)
    for name, options in data.get("jobs", {}).items():
        config.jobs[name] = _job(path, name, options, config)
    if "alerts" in data:
        from voxlens.alerts import AlertSettings

        config.alerts = AlertSettings.from_mapping(dict(data["alerts"]), source=f"{path}: [alerts]")
    config.build_sources()  # check every source's options now, not at 3 a.m.
    return config


def _job(path: Path, name: str, options: dict[str, Any], config: Config) -> Job:
    if "cron" not in options:
        raise ConfigError(f"{path}: job {name!r} needs cron = \"MIN HOUR DAY MONTH WEEKDAY\" (e.g. \"0 * * * *\")")
    steps = list(options.get("steps", STEPS))
    wrong = [s for s in steps if s not in STEPS]
    if wrong:
        raise ConfigError(f"{path}: job {name!r} has unknown step(s) {', '.join(wrong)}; steps are {', '.join(STEPS)}")
    sources = list(options.get("sources", config.sources))
    missing = [s for s in sources if s not in config.sources]
    if missing:
        raise ConfigError(f"{path}: job {name!r} names unknown source(s) {', '.join(missing)}")
    report = options.get("report")
    if "report" in steps and not report:
        raise ConfigError(f"{path}: job {name!r} has a report step; set report = \"reports/feedback.html\"")
    if report and Path(report).suffix not in REPORT_FORMATS:
        raise ConfigError(f"{path}: job {name!r}: report {report!r} must end in {', '.join(REPORT_FORMATS)}")
    if report and not Path(report).is_absolute():
        report = str(path.parent / report)
    unknown = set(options) - {"cron", "steps", "sources", "report"}
    if unknown:
        raise ConfigError(f"{path}: job {name!r} has unknown option(s) {', '.join(sorted(unknown))}")
    return Job(name, str(options["cron"]), sources, steps, report)
