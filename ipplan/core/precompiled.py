"""Querysets compiled to SQL once per process and then run with new parameter values.

Why: Django compiles a queryset to SQL every time it runs it. On the live editor's hot
path (one text op: a handful of queries) that compilation was most of the worker's CPU
per op (docs/performance.md). The SQL of a given queryset shape never changes, only its
parameters, so we compile it once with *sentinel* values in place of the parameters
and, per call, put the real values where the sentinels were.

The queryset is still written with the ORM (the same Q objects and helpers the rest of
the code uses), so the rules stay in one place; only the compilation is cached. A shape
whose sentinels do not all come out as plain parameters (a backend that rewrites them,
or the ORM inlining one into the SQL) raises at compile time, and the caller falls back
to the ORM.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections
from django.db.models import QuerySet

_counter = itertools.count(1)


class CompileError(Exception):
    """The queryset cannot be precompiled: use the ORM instead."""


def _sentinel(kind: type) -> Any:
    n = next(_counter)
    if kind is int:
        # Inside every integer field's range: Django turns a lookup with a value out
        # of the field's range into a constant condition (so no parameter at all).
        return 1_987_000_000 + n
    if kind is str:
        return f"\x01precompiled-{n}\x01"
    if kind is datetime.date:
        return datetime.date(1000, 1, 1) + datetime.timedelta(days=n)
    raise CompileError(f"no sentinel for {kind!r}")


class Precompiled:
    """A values_list queryset built by `build(**params)`, compiled once per database.

    `params` maps each parameter name to its type (int, str or datetime.date). Run it
    with `.rows(**values)`; rows come back as the database adapter returns them (no
    Django field conversion: a JSON column comes back as text).
    """

    def __init__(self, build: Callable[..., QuerySet], **params: type) -> None:
        self.build = build
        self.params = params
        self._compiled: dict[str, tuple[str, list[tuple[str | None, Any]]] | CompileError] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> tuple[str, list[tuple[str | None, Any]]]:
        sentinels = {name: _sentinel(kind) for name, kind in self.params.items()}
        by_value = {value: name for name, value in sentinels.items()}
        queryset = self.build(**sentinels)
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        slots: list[tuple[str | None, Any]] = []
        for value in params:
            try:
                name = None if isinstance(value, bool) else by_value.get(value)
            except TypeError:  # unhashable: a list for __in, say
                name = None
            if name is None:
                slots.append((None, value))  # a constant of the shape
            elif type(value) is type(sentinels[name]):
                slots.append((name, None))
            else:
                # The backend wrapped it (psycopg's Int8 for a BigIntegerField, say):
                # wrap the real value the same way.
                slots.append((name, type(value)))
        missing = set(self.params) - {name for name, _wrap in slots if name}
        if missing or any(str(v) in sql for v in sentinels.values()):
            raise CompileError(f"parameters not bound as parameters: {sorted(missing)}")
        return sql, slots

    def sql(self, using: str = "default", **values: Any) -> tuple[str, list[Any]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using)
                if compiled is None:
                    try:
                        compiled = self._compile(using)
                    except CompileError as exc:
                        compiled = exc  # once per process, not once per call
                    self._compiled[using] = compiled
        if isinstance(compiled, CompileError):
            raise compiled
        sql, slots = compiled
        return sql, [
            constant
            if name is None
            else values[name]
            if constant is None
            else constant(values[name])
            for name, constant in slots
        ]

    def rows(self, using: str = "default", **values: Any) -> list[tuple]:
        sql, params = self.sql(using, **values)
        with prepared_cursor(using) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@contextlib.contextmanager
def prepared_cursor(using: str = "default") -> Iterator[Any]:
    """A cursor whose statements PostgreSQL prepares once per connection.

    Why: Django binds parameters on the client, so PostgreSQL parses and plans every
    statement again; for the hot path's few fixed statements that was about half of
    PostgreSQL's CPU per op (docs/performance.md). This cursor binds on the server and
    prepares each statement text on first use (psycopg keeps them per connection). It
    is wrapped like Django's own cursors, so errors become Django's and tests and
    DEBUG still see the queries. Other databases get the ordinary cursor.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off (None), which also refuses
        # prepare=True. A threshold no statement reaches keeps it off for Django's
        # own cursors (client-side binding, never prepared) and allows ours.
        connection.connection.prepare_threshold = 2**31 - 1
    raw = _preparing_cursor_class()(connection.connection)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        cursor = connection.make_debug_cursor(raw)
    else:
        cursor = connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()


def run_batch(statements: list[tuple[str, list[Any]]], using: str = "default") -> list[list]:
    """Run (SQL, parameters) statements in order, in one round trip (PostgreSQL's
    pipeline mode), with prepared_cursor; the rows of each. Each statement still starts
    only when the one before has finished. Errors are Django's, as from any cursor."""
    connection = connections[using]
    if connection.vendor != "postgresql" or len(statements) == 1:
        results = []
        for sql, params in statements:
            with prepared_cursor(using) as cursor:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
        return results
    with contextlib.ExitStack() as stack:
        cursors = [stack.enter_context(prepared_cursor(using)) for _statement in statements]
        # Errors surface when the pipeline syncs, outside Django's cursor wrapper.
        with connection.wrap_database_errors, connection.connection.pipeline():
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
        return [cursor.fetchall() for cursor in cursors]


@functools.cache
def _preparing_cursor_class() -> type:
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs["prepare"] = True
            return super().execute(query, params, **kwargs)

    return PreparingCursor
