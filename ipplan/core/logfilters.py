"""Keep plan text out of logs and error reports.

Plan text reaches logs by accident, not by design: a database error whose message
quotes a value ("Key (text)=(...) already exists"), an exception raised with user
input in its message, or an error e-mail listing the POST body. So the console
formatter prints tracebacks without exception messages, and the exception reporter
(debug page, error e-mails) never shows request bodies, nor local variables outside
DEBUG. Our own log calls carry ids, never text; tests/security checks both.
"""

import logging
import traceback
from types import TracebackType
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

WITHHELD = "[message withheld: may contain plan data]"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def format_exception_without_messages(exc: BaseException) -> str:
    """The chain of tracebacks, with each exception's type and location but not its text."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    parts: list[str] = []
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following exception:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        kind = type(item)
        parts.append(f"{kind.__module__}.{kind.__qualname__}: {WITHHELD}\n")
    return "".join(parts).rstrip("\n")


class RedactingFormatter(logging.Formatter):
    """A formatter whose tracebacks name the exception but never repeat its message."""

    def formatException(self, ei: Any) -> str:  # noqa: N802  (logging's name)
        if not ei or ei[1] is None:
            return super().formatException(ei)
        return format_exception_without_messages(ei[1])

    def format(self, record: logging.LogRecord) -> str:
        # The cached exc_text may have been made by another handler's formatter
        # (with the message in it); always render our own.
        saved = record.exc_text
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = saved


class PlanDataReporterFilter(SafeExceptionReporterFilter):
    """Error pages and e-mails without request bodies (plan text) or, in production,
    local variables (which hold plan objects and values)."""

    def get_post_parameters(self, request: HttpRequest | None) -> dict:
        if request is None:
            return {}
        return {key: self.cleansed_substitute for key in request.POST}

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> list:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if settings.DEBUG:
            return variables
        return [(name, self.cleansed_substitute) for name, _value in variables]


class PlanDataExceptionReporter(ExceptionReporter):
    """Error reports (e-mails to ADMINS) without the exception's message outside DEBUG."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if settings.DEBUG:
            return data
        if "exception_value" in data:
            data["exception_value"] = WITHHELD
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = WITHHELD
        return data
