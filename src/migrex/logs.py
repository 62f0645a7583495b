"""The node's logs: one structlog processor chain for structlog's loggers and the standard
library's (uvicorn, `migrex.access`, every `logging.getLogger` user), as JSON lines or, for a
person at a terminal, as readable text.

What reaches a log must never carry personal data (G8). Two things would leak it by default
and are closed here: structlog's and rich's traceback renderers show each frame's local
variables (a settings object, a request body, a person's record), and an exception's own
message often quotes its input (a validation error repeats the value it refused). An error is
therefore logged as its class and the frames it passed through (file, line, function),
nothing else. The request id of the request being served is bound in a context variable and
added to every line logged while serving it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from migrex.errors import ConfigurationError
from migrex.settings import Settings

LogFormat = Literal["json", "console"]
LEVELS: Final = ("debug", "info", "warning", "error")
# A traceback longer than this is cut: the frames nearest the error say where it happened.
MAX_FRAMES: Final = 30
_HANDLER_NAME: Final = "migrex"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def exception_summary(exc_info: ExcInfo) -> list[dict[str, Any]]:
    """The chain of exceptions as their classes and frames, without messages or locals."""
    chain: list[dict[str, Any]] = []
    error: BaseException | None = exc_info[1]
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = traceback.extract_tb(error.__traceback__)[-MAX_FRAMES:]
        chain.append(
            {
                "type": f"{type(error).__module__}.{type(error).__qualname__}",
                "frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames],
            }
        )
        error = error.__cause__ or error.__context__
    return chain


def _exc_info_of(event_dict: EventDict) -> ExcInfo | None:
    exc_info = event_dict.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        return (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        return exc_info
    if exc_info is True:
        current = sys.exc_info()
        return current if current[0] is not None else None
    return None


def summarise_exception(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replaces `exc_info` (structlog's or a standard record's) by `exception_summary`, so no
    renderer down the chain ever formats a traceback with locals or an error's message."""
    exc_info = _exc_info_of(event_dict)
    event_dict.pop("exception", None)
    event_dict.pop("stack", None)
    event_dict.pop("stack_info", None)
    if exc_info is not None:
        event_dict["error"] = exception_summary(exc_info)
    return event_dict


def _drop_record_args(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    # A standard record's positional args are already in its message, and its `extra`
    # fields were taken by name (`RECORD_FIELDS`); the record itself is not JSON and must
    # not be rendered.
    event_dict.pop("_record", None)
    event_dict.pop("_from_structlog", None)
    return event_dict


RECORD_FIELDS = ("listener", "method", "route", "status", "duration_ms", "request_id")


def shared_processors() -> list[Processor]:
    """What every line goes through, whoever logged it, before it is rendered."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        summarise_exception,
    ]


def renderer(log_format: LogFormat) -> Processor:
    if log_format == "console":
        # plain_traceback is never reached (exceptions are summarised before), but rich's
        # default formatter would show locals if anything ever slipped through.
        return structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.processors.JSONRenderer()


class _StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever `sys.stderr` is at the time of the line, not when set up: a
    command run inside a test runner's captured streams must not keep a closed one."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(
    level: str = "info",
    log_format: LogFormat = "json",
    log_file: Path | None = None,
    *,
    stream: Any = None,
) -> None:
    """Sends every log line, structlog's and the standard library's, through one chain to
    stderr (or `stream`) and, when given, to `log_file` (reopened if rotated away)."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: use one of {', '.join(LEVELS)}")
    formatter = structlog.stdlib.ProcessorFormatter(
        # A standard record's `extra` fields are taken only by name: these are what the
        # access log (`web.access_log`) writes, none of which can hold personal data.
        foreign_pre_chain=[*shared_processors(), structlog.stdlib.ExtraAdder(RECORD_FIELDS)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            summarise_exception,
            _drop_record_args,
            renderer(log_format),
        ],
    )
    handlers: list[logging.Handler] = [
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    ]
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.WatchedFileHandler(log_file, encoding="utf-8"))
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the log file {log_file}: {error.strerror or error}; "
                "check log_file and the folder's permissions"
            ) from None
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request's full URL at info, query string included: a client's URL is
    # no business of the node's log, and a query may name a person.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic says each migration it runs at info: `migrex db` counts them in one line, and
    # the lines stay for whoever asks for debug.
    logging.getLogger("alembic").setLevel(
        logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    )
    # uvicorn's own loggers keep no handlers of their own: their lines go up to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[
            *shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def configure_for(settings: Settings) -> None:
    """Logging as the node's settings say (`log_level`, `log_format`, `log_file`)."""
    configure_logging(settings.log_level, settings.log_format, settings.log_file)


def bound_request_id(request_id: str) -> Mapping[str, Any]:
    """Binds `request_id` to every line logged in this context; returns the tokens to reset."""
    return structlog.contextvars.bind_contextvars(request_id=request_id)


def unbind_request_id(tokens: Mapping[str, Any]) -> None:
    structlog.contextvars.reset_contextvars(**tokens)
