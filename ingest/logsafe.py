"""Keeping keyed values out of the logs, even when something fails.

The log lines of mgr-ingest carry keys and counts only (entry number, running number,
finding code). One hole remains: a traceback logged with ``exc_info`` prints the
exception's message, and messages quote the value that failed (``invalid literal for int()
with base 10: 'Hansen'``). ``install()`` sets a log record factory that, for the records
of this project's loggers (``mgr_ingest``, ``ingest``, ``kiip_import``, ``validators``,
``webentry``), keeps the exception's type and the stack - file, line, function - and
withholds its message and any chained exception's. Everything else is left as it is.
"""

from __future__ import annotations

import errno
import logging

PREFIXES = ("mgr_ingest", "ingest", "kiip_import", "validators", "webentry")
WITHHELD = "message withheld from the log: it may quote keyed values"

_installed = False


def os_reason(exc: BaseException) -> str:
    """What went wrong with a file, fit for a log line: the error's code (``ENOSPC``,
    ``EACCES``) or type, never its message, which names the path."""
    code = getattr(exc, "errno", None)
    return errno.errorcode.get(code, type(exc).__name__) if code is not None else type(exc).__name__


def _quiet_copy(exc: BaseException) -> BaseException:
    """An exception of the same type (where it can be made) without message or chain."""
    cls = type(exc)
    try:
        quiet = cls.__new__(cls)
        BaseException.__init__(quiet, WITHHELD)
    except Exception:  # noqa: BLE001 - a type that cannot be made bare: say only its name
        quiet = RuntimeError(f"{cls.__module__}.{cls.__qualname__}: {WITHHELD}")
    quiet.__cause__ = quiet.__context__ = None
    quiet.__suppress_context__ = True
    try:
        str(quiet)
    except Exception:  # noqa: BLE001 - its __str__ needs attributes the bare copy lacks
        quiet = RuntimeError(f"{cls.__module__}.{cls.__qualname__}: {WITHHELD}")
    return quiet


def ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PREFIXES)


def install() -> None:
    """Withhold exception messages from this project's log records (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        info = record.exc_info
        if info and info[1] is not None and ours(record.name):
            quiet = _quiet_copy(info[1])
            record.exc_info = (type(quiet), quiet, info[2])
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


__all__ = ["WITHHELD", "install", "ours"]
