"""Operational transformation for plain-text fields (the ot.js / ShareDB "text" type).

An operation is a JSON list of components walking over the field value from the start:

* positive int ``n``  -> retain (keep) ``n`` characters,
* non-empty str ``s`` -> insert ``s``,
* negative int ``-n`` -> delete ``n`` characters.

Lengths and positions count Unicode code points (Python ``str`` semantics).  The browser
twin lives in ``static/js/ot.js`` and counts code points too, so ops travel unchanged
between the two; both implementations must stay in lock-step (``tests/live`` cross-checks
them).

Whatever an op does not reach is implicitly retained: ``normalize`` drops a trailing
retain, so ``base_length(op)`` is the *minimum* text length the op applies to and
``apply`` rejects texts shorter than that (an explicit trailing retain, as ot.js sends,
still counts, so a full-length op is checked against the whole text).

Normalised form: no zero/empty components, adjacent components of the same kind merged,
an insert always placed before an adjacent delete (the two orders mean the same thing;
fixing one makes ops comparable), no trailing retain.
"""

from __future__ import annotations

import re

__all__ = [
    "Component",
    "OTError",
    "Op",
    "apply",
    "base_length",
    "compose",
    "from_replace",
    "invert",
    "is_noop",
    "normalize",
    "target_length",
    "transform",
    "transform_index",
    "validate",
]

Component = int | str
Op = list[Component]

# JS numbers are doubles; keeping ints inside the safe range means an op accepted here is
# represented exactly in the browser as well.
_MAX_SAFE_INT = 2**53 - 1

# Lone surrogates cannot be encoded as UTF-8 (database, JSON to other clients) and JS and
# Python would disagree about them, so validate() refuses them up front.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class OTError(ValueError):
    """An operation is malformed or does not fit the text / the other operation."""


def _is_int(c: object) -> bool:
    # bool is a subclass of int, but True/False in an op is always a client bug.
    return isinstance(c, int) and not isinstance(c, bool)


def _append(op: Op, c: Component) -> None:
    """Append ``c`` to ``op`` in place, keeping ``op`` normalised (except trailing retain)."""
    if c == 0 or c == "":
        return
    if not op:
        op.append(c)
        return
    last = op[-1]
    if isinstance(c, str):
        if isinstance(last, str):
            op[-1] = last + c
        elif last < 0:
            # Insert goes before an adjacent delete; merge with an insert already there.
            if len(op) >= 2 and isinstance(op[-2], str):
                op[-2] = op[-2] + c
            else:
                op.insert(len(op) - 1, c)
        else:
            op.append(c)
    elif c > 0:
        if _is_int(last) and last > 0:
            op[-1] = last + c
        else:
            op.append(c)
    else:
        if _is_int(last) and last < 0:
            op[-1] = last + c
        else:
            op.append(c)


def _trim(op: Op) -> Op:
    if op and _is_int(op[-1]) and op[-1] > 0:
        op.pop()
    return op


def _check_types(op: object) -> list:
    if not isinstance(op, list):
        raise OTError(f"an operation must be a list, not {type(op).__name__}")
    for i, c in enumerate(op):
        if not (_is_int(c) or isinstance(c, str)):
            raise OTError(
                f"component {i} must be an int (retain/delete) or a string (insert), "
                f"not {type(c).__name__}"
            )
    return op


def normalize(op: object) -> Op:
    """Return the normalised form of ``op`` (zero/empty components are dropped silently)."""
    result: Op = []
    for c in _check_types(op):
        _append(result, c)
    return _trim(result)


def validate(op: object, *, max_components: int = 10_000, max_insert: int = 100_000) -> Op:
    """Strictly check an untrusted op (e.g. from a WebSocket) and return it normalised."""
    op = _check_types(op)
    if len(op) > max_components:
        raise OTError(f"operation has {len(op)} components; the limit is {max_components}")
    inserted = 0
    for i, c in enumerate(op):
        if isinstance(c, str):
            if c == "":
                raise OTError(f"component {i} is an empty insert")
            if _LONE_SURROGATE.search(c):
                raise OTError(f"component {i} contains an unpaired UTF-16 surrogate")
            inserted += len(c)
        else:
            if c == 0:
                raise OTError(f"component {i} is zero (retain/delete must be non-zero)")
            if abs(c) > _MAX_SAFE_INT:
                raise OTError(f"component {i} is too large")
    if inserted > max_insert:
        raise OTError(f"operation inserts {inserted} characters; the limit is {max_insert}")
    return normalize(op)


def base_length(op: object) -> int:
    """Characters the op walks over (retains + deletes): the minimum text length it needs.

    Counted on the op as given, so an explicit trailing retain still demands that length.
    """
    return sum(abs(c) for c in _check_types(op) if not isinstance(c, str))


def target_length(op: object) -> int:
    """Length of what the op produces from ``base_length(op)`` characters."""
    total = 0
    for c in _check_types(op):
        if isinstance(c, str):
            total += len(c)
        elif c > 0:
            total += c
    return total


def is_noop(op: object) -> bool:
    """True if the op changes nothing."""
    return not normalize(op)


def apply(text: str, op: object) -> str:
    """Apply ``op`` to ``text``."""
    needed = base_length(op)  # before normalize() drops a trailing retain
    if needed > len(text):
        raise OTError(f"operation needs a text of at least {needed} characters, got {len(text)}")
    op = normalize(op)
    parts: list[str] = []
    pos = 0
    for c in op:
        if isinstance(c, str):
            parts.append(c)
        elif c > 0:
            parts.append(text[pos : pos + c])
            pos += c
        else:
            pos -= c
    parts.append(text[pos:])
    return "".join(parts)


class _Taker:
    """Reads an op component by component, able to split retains/deletes/inserts.

    Past the end it yields retains (the implicit trailing retain), or None for ``n=-1``.
    """

    __slots__ = ("op", "idx", "offset")

    def __init__(self, op: Op) -> None:
        self.op = op
        self.idx = 0
        self.offset = 0

    def peek(self) -> Component | None:
        return self.op[self.idx] if self.idx < len(self.op) else None

    def take(self, n: int = -1, indivisible: str | None = None) -> Component | None:
        # n == -1 takes the rest of the current component.  indivisible == "i" never splits
        # inserts, "d" never splits deletes (that is what transform/compose need).
        if self.idx == len(self.op):
            return None if n == -1 else n
        c = self.op[self.idx]
        if isinstance(c, str):
            rest = len(c) - self.offset
            if n == -1 or indivisible == "i" or rest <= n:
                part: Component = c[self.offset :]
                self.idx += 1
                self.offset = 0
            else:
                part = c[self.offset : self.offset + n]
                self.offset += n
            return part
        sign = 1 if c > 0 else -1
        rest = abs(c) - self.offset
        if n == -1 or rest <= n or (indivisible == "d" and c < 0):
            self.idx += 1
            self.offset = 0
            return sign * rest
        self.offset += n
        return sign * n


def _transform_one(op: Op, other: Op, left: bool) -> Op:
    """Rewrite ``op`` to apply after ``other``; ``left`` means op's inserts win ties."""
    result: Op = []
    taker = _Taker(op)
    for c in other:
        if isinstance(c, str):
            # Both insert here: the winner of the tie keeps its insert in front.
            if left and isinstance(taker.peek(), str):
                _append(result, taker.take())  # type: ignore[arg-type]
            _append(result, len(c))
        elif c > 0:
            length = c
            while length > 0:
                chunk = taker.take(length, "i")
                assert chunk is not None
                _append(result, chunk)
                if not isinstance(chunk, str):
                    length -= abs(chunk)
        else:
            length = -c
            while length > 0:
                chunk = taker.take(length, "i")
                assert chunk is not None
                if isinstance(chunk, str):
                    _append(result, chunk)
                else:
                    # Retained by op, deleted by other: nothing left to retain.  Deleted by
                    # both: already gone.  Either way op' just skips it.
                    length -= abs(chunk)
    while (chunk := taker.take()) is not None:
        _append(result, chunk)
    return _trim(result)


def transform(a: object, b: object, *, a_first: bool = True) -> tuple[Op, Op]:
    """Transform concurrent ops ``a`` and ``b`` (same base text) into ``(a', b')``.

    ``apply(apply(s, a), b') == apply(apply(s, b), a')``.  When both insert at the same
    position, ``a``'s text ends up first if ``a_first`` else ``b``'s.  On the server, pass
    the already-committed op as ``a`` with ``a_first=True`` (and the client does the same
    with the server op), so every site breaks ties the same way.
    """
    a = normalize(a)
    b = normalize(b)
    return _transform_one(a, b, a_first), _transform_one(b, a, not a_first)


def compose(a: object, b: object) -> Op:
    """Return one op equivalent to applying ``a`` and then ``b``."""
    a = normalize(a)
    b = normalize(b)
    result: Op = []
    taker = _Taker(a)
    for c in b:
        if isinstance(c, str):
            _append(result, c)
        elif c > 0:
            length = c
            while length > 0:
                chunk = taker.take(length, "d")
                assert chunk is not None
                _append(result, chunk)
                # a's deletes are not visible to b, so they don't use up b's retain.
                if isinstance(chunk, str):
                    length -= len(chunk)
                elif chunk > 0:
                    length -= chunk
        else:
            length = -c
            while length > 0:
                chunk = taker.take(length, "d")
                assert chunk is not None
                if isinstance(chunk, str):
                    # b deletes what a inserted: they cancel out.
                    length -= len(chunk)
                elif chunk > 0:
                    _append(result, -chunk)
                    length -= chunk
                else:
                    _append(result, chunk)
    while (chunk := taker.take()) is not None:
        _append(result, chunk)
    return _trim(result)


def invert(op: object, text: str) -> Op:
    """Return the op that undoes ``op`` once it has been applied to ``text``."""
    needed = base_length(op)  # before normalize() drops a trailing retain
    if needed > len(text):
        raise OTError(f"operation needs a text of at least {needed} characters, got {len(text)}")
    op = normalize(op)
    result: Op = []
    pos = 0
    for c in op:
        if isinstance(c, str):
            _append(result, -len(c))
        elif c > 0:
            _append(result, c)
            pos += c
        else:
            _append(result, text[pos : pos - c])
            pos -= c
    return _trim(result)


def from_replace(old: str, new: str) -> Op:
    """Minimal op turning ``old`` into ``new`` (one changed span between common ends)."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    result: Op = []
    _append(result, prefix)
    _append(result, new[prefix : len(new) - suffix])
    _append(result, -(len(old) - prefix - suffix))
    return _trim(result)


def transform_index(index: int, op: object, *, own: bool = False) -> int:
    """Move a cursor position (in code points) through ``op``.

    An insert exactly at the cursor pushes it along only if ``own`` (the user typed it);
    someone else's insert there leaves the cursor in front of the new text.  A cursor
    inside a deleted span lands where the span was.
    """
    if not _is_int(index) or index < 0:
        raise OTError(f"cursor index must be a non-negative int, got {index!r}")
    new_index = index
    pos = 0  # position in the old text
    for c in normalize(op):
        if pos > index:
            break
        if isinstance(c, str):
            if pos < index or own:
                new_index += len(c)
        elif c > 0:
            pos += c
        else:
            new_index -= min(-c, index - pos)
            pos -= c
    return new_index
