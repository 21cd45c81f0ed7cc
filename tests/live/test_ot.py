"""Tests for ipplan.live.ot (plain-text OT).  Pure functions: no Django database needed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipplan.live.ot import (
    OTError,
    apply,
    base_length,
    compose,
    from_replace,
    invert,
    is_noop,
    normalize,
    target_length,
    transform,
    transform_index,
    validate,
)

THUMBS = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone modifier: 2 code points, 4 UTF-16 units
E_ACUTE_COMBINING = "e\u0301"  # 2 code points, renders as one glyph

# ---------------------------------------------------------------------------------------
# Strategies

# Mix of ASCII, BMP, combining marks, ZWJ and astral characters, so that code point vs
# UTF-16 mistakes and "split a surrogate pair" bugs would show up.
CHARS = ["a", "b", " ", "\n", "é", "\u0301", "\u200d", "中", "😀", "\U0001f44d", "\U0001f3fd", "𝔘"]
texts = st.text(alphabet=st.sampled_from(CHARS), max_size=20)
inserts = st.text(alphabet=st.sampled_from(CHARS), min_size=1, max_size=5)


@st.composite
def ops_for(draw: st.DrawFn, text: str) -> list:
    """A random valid op against ``text``, deliberately not always normalised."""
    n = len(text)
    pos = 0
    op: list = []
    while len(op) < 10:
        kinds = ["insert", "stop"] + (["retain", "delete", "retain"] if pos < n else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "stop":
            break
        if kind == "insert":
            op.append(draw(inserts))
        else:
            k = draw(st.integers(1, n - pos))
            op.append(k if kind == "retain" else -k)
            pos += k
    if pos < n and draw(st.booleans()):
        op.append(n - pos)  # explicit trailing retain, as ot.js would send it
    return op


@st.composite
def text_and_op(draw: st.DrawFn) -> tuple[str, list]:
    text = draw(texts)
    return text, draw(ops_for(text))


@st.composite
def text_and_two_concurrent_ops(draw: st.DrawFn) -> tuple[str, list, list]:
    text = draw(texts)
    return text, draw(ops_for(text)), draw(ops_for(text))


@st.composite
def text_and_two_sequential_ops(draw: st.DrawFn) -> tuple[str, list, list]:
    text = draw(texts)
    a = draw(ops_for(text))
    return text, a, draw(ops_for(apply(text, a)))


def is_normalized(op: list) -> bool:
    for i, c in enumerate(op):
        if c == 0 or c == "" or isinstance(c, bool):
            return False
        if i == 0:
            continue
        prev = op[i - 1]
        same_kind = (isinstance(prev, str) and isinstance(c, str)) or (
            isinstance(prev, int) and isinstance(c, int) and (prev > 0) == (c > 0)
        )
        delete_then_insert = isinstance(prev, int) and prev < 0 and isinstance(c, str)
        if same_kind or delete_then_insert:
            return False
    return not (op and isinstance(op[-1], int) and op[-1] > 0)


def retained_positions(op: list) -> dict[int, int]:
    """Map old index -> new index for every character ``op`` keeps."""
    mapping: dict[int, int] = {}
    old = new = 0
    for c in normalize(op):
        if isinstance(c, str):
            new += len(c)
        elif c > 0:
            for k in range(c):
                mapping[old + k] = new + k
            old += c
            new += c
        else:
            old -= c
    return mapping


PROPERTY = settings(max_examples=400, deadline=None)

# ---------------------------------------------------------------------------------------
# validate / normalize


def test_validate_returns_the_normalized_op():
    assert validate([2, 3, "a", "b", -1, -2]) == [5, "ab", -3]


def test_validate_drops_a_trailing_retain():
    assert validate([3, "x", 4]) == [3, "x"]


def test_validate_accepts_the_empty_op():
    assert validate([]) == []


@pytest.mark.parametrize(
    "op",
    [
        [True],
        [1, False],
        [0],
        [2, 0, "a"],
        [""],
        [1.0],
        [1.5],
        [[1]],
        [{"r": 1}],
        [None],
        {"ops": [1]},
        (1, "a"),
        "abc",
        None,
        5,
    ],
    ids=repr,
)
def test_validate_rejects_malformed_ops(op):
    with pytest.raises(OTError):
        validate(op)


def test_validate_error_messages_say_what_is_wrong():
    with pytest.raises(OTError, match="component 1 .* not bool"):
        validate([1, True])
    with pytest.raises(OTError, match="component 0 is zero"):
        validate([0])
    with pytest.raises(OTError, match="must be a list"):
        validate({"ops": []})


def test_otError_is_a_value_error():
    assert issubclass(OTError, ValueError)


def test_validate_enforces_the_component_limit():
    validate([1, "a"] * 5, max_components=10)
    with pytest.raises(OTError, match="limit"):
        validate([1, "a"] * 6, max_components=10)


def test_validate_enforces_the_insert_limit_in_code_points():
    validate(["😀" * 10], max_insert=10)
    with pytest.raises(OTError, match="limit"):
        validate(["😀" * 6, "x", 1, "abcd"], max_insert=10)


def test_validate_rejects_lone_surrogates():
    with pytest.raises(OTError, match="surrogate"):
        validate(["a\ud83d"])


def test_validate_rejects_integers_javascript_cannot_represent():
    with pytest.raises(OTError, match="too large"):
        validate([2**53])


def test_normalize_merges_neighbours_and_puts_inserts_before_deletes():
    assert normalize([1, 1, -1, "a", -1, "b", 0, ""]) == [2, "ab", -2]


def test_normalize_drops_zeros_silently_but_still_rejects_bad_types():
    assert normalize([0, "", 2, 0]) == []
    with pytest.raises(OTError):
        normalize([1, True])
    with pytest.raises(OTError):
        normalize([1.0])


def test_is_noop():
    assert is_noop([])
    assert is_noop([5])
    assert is_noop([2, 0, 3])
    assert not is_noop(["a"])
    assert not is_noop([1, -1])


# ---------------------------------------------------------------------------------------
# lengths and apply


def test_base_and_target_length_count_code_points():
    op = [2, "😀👍", -3, 1]
    assert base_length(op) == 6
    assert target_length(op) == 5
    assert base_length(normalize(op)) == 5  # a trailing retain only matters if explicit
    assert base_length([]) == 0
    assert target_length(["é"]) == 1


def test_apply_insert_retain_delete():
    assert apply("hello world", [6, -5, "there"]) == "hello there"


def test_apply_leaves_the_unreached_tail_alone():
    assert apply("hello", ["> "]) == "> hello"


def test_apply_counts_emoji_as_one_character():
    text = "a😀b"
    assert apply(text, [1, -1, "x"]) == "axb"
    assert apply(text, [2, "!"]) == "a😀!b"


def test_apply_handles_skin_tone_modifiers_as_separate_code_points():
    text = THUMBS + " ok"
    assert len(text) == 5
    # Deleting only the modifier leaves the plain thumbs up.
    assert apply(text, [1, -1]) == "\U0001f44d ok"


def test_apply_handles_combining_characters_as_separate_code_points():
    text = "caf" + E_ACUTE_COMBINING
    assert apply(text, [4, -1]) == "cafe"
    assert apply(text, [3, -2, "é"]) == "café"


def test_apply_rejects_an_op_longer_than_the_text():
    with pytest.raises(OTError, match="at least 4"):
        apply("abc", [4])  # an explicit trailing retain is checked too
    with pytest.raises(OTError):
        apply("abc", [2, -2])
    with pytest.raises(OTError):
        apply("😀", [2])  # one code point, even though it is two UTF-16 units


def test_apply_rejects_malformed_ops():
    for op in ([True], [1.0], [[1]], [{"d": 1}], "x"):
        with pytest.raises(OTError):
            apply("abc", op)


# ---------------------------------------------------------------------------------------
# transform


def test_concurrent_inserts_at_the_same_place_keep_both():
    a, b = ["A"], ["B"]
    a2, b2 = transform(a, b, a_first=True)
    assert apply(apply("x", a), b2) == apply(apply("x", b), a2) == "ABx"
    a2, b2 = transform(a, b, a_first=False)
    assert apply(apply("x", a), b2) == apply(apply("x", b), a2) == "BAx"


def test_concurrent_inserts_at_different_places_shift_each_other():
    a2, b2 = transform([1, "X"], [3, "Y"])
    assert a2 == [1, "X"]
    assert b2 == [4, "Y"]
    assert apply(apply("abc", [1, "X"]), b2) == "aXbcY"


def test_concurrent_deletes_of_the_same_text_delete_it_once():
    a2, b2 = transform([1, -2], [1, -2])
    assert a2 == [] and b2 == []
    assert apply(apply("abcd", [1, -2]), b2) == "ad"


def test_overlapping_deletes_delete_the_union():
    a, b = [1, -3], [2, -3]  # "abcdef": a deletes bcd, b deletes cde
    a2, b2 = transform(a, b)
    assert apply(apply("abcdef", a), b2) == apply(apply("abcdef", b), a2) == "af"


def test_insert_inside_a_concurrently_deleted_range_survives():
    a, b = [2, "X"], [1, -3]  # "abcde": a types inside what b deletes
    a2, b2 = transform(a, b)
    assert apply(apply("abcde", a), b2) == apply(apply("abcde", b), a2) == "aXe"


def test_transform_with_an_emoji_in_the_text():
    text = "😀😀😀"
    a, b = [1, "a"], [2, -1]
    a2, b2 = transform(a, b)
    assert apply(apply(text, a), b2) == apply(apply(text, b), a2) == "😀a😀"


def test_transform_with_a_noop():
    assert transform([], [2, "x"]) == ([], [2, "x"])
    assert transform([2, "x"], []) == ([2, "x"], [])


def test_transform_results_are_normalized():
    a2, b2 = transform([1, -1, 1, "x"], [-2])
    assert a2 == [1, "x"] and b2 == [-1]


def test_transform_rejects_malformed_ops():
    with pytest.raises(OTError):
        transform([True], [1])
    with pytest.raises(OTError):
        transform([1], [[1]])


# ---------------------------------------------------------------------------------------
# compose / invert / from_replace


def test_compose_insert_then_delete_cancels_out():
    assert compose([1, "abc"], [2, -1]) == [1, "ac"]
    assert compose(["x"], [-1]) == []


def test_compose_delete_then_insert():
    assert compose([-2], ["xy"]) == ["xy", -2]
    assert apply("abc", compose([-2], ["xy"])) == "xyc"


def test_compose_with_emoji():
    a = [1, "😀"]
    b = [1, -1, "👍"]
    assert apply("ab", compose(a, b)) == apply(apply("ab", a), b) == "a👍b"


def test_compose_rejects_malformed_ops():
    with pytest.raises(OTError):
        compose([1], [False])


def test_invert_undoes_an_op():
    text = "hello 😀 world"
    op = [6, -1, "🙂", 1, -5, "there"]
    assert apply(text, op) == "hello 🙂 there"
    inverse = invert(op, text)
    assert apply("hello 🙂 there", inverse) == text


def test_invert_rejects_an_op_longer_than_the_text():
    with pytest.raises(OTError):
        invert([5, -1], "abc")


def test_from_replace_is_minimal():
    assert from_replace("hello world", "hello there world") == [6, "there "]
    assert from_replace("abc", "abc") == []
    assert from_replace("abc", "") == [-3]
    assert from_replace("", "abc") == ["abc"]
    assert from_replace("aaa", "aa") == [2, -1]


def test_from_replace_does_not_split_emoji():
    # Python strings are code points already; this pins the behaviour the JS twin must match.
    assert from_replace("a😀b", "a😁b") == [1, "😁", -1]
    assert from_replace("x" + THUMBS, "x\U0001f44d") == [2, -1]


# ---------------------------------------------------------------------------------------
# transform_index


def test_transform_index_moves_past_inserts_before_the_cursor():
    assert transform_index(3, [1, "ab"]) == 5
    assert transform_index(1, [3, "ab"]) == 1


def test_transform_index_insert_at_the_cursor_depends_on_who_typed_it():
    assert transform_index(2, [2, "xy"]) == 2
    assert transform_index(2, [2, "xy"], own=True) == 4


def test_transform_index_inside_a_deleted_range_collapses_to_its_start():
    assert transform_index(3, [1, -4]) == 1
    assert transform_index(6, [1, -4]) == 2


def test_transform_index_counts_emoji_as_one():
    assert transform_index(1, ["😀"]) == 2


def test_transform_index_rejects_negative_and_non_int_indexes():
    with pytest.raises(OTError):
        transform_index(-1, [])
    with pytest.raises(OTError):
        transform_index(True, [])


# ---------------------------------------------------------------------------------------
# Properties


@PROPERTY
@given(text_and_two_concurrent_ops(), st.booleans())
def test_transform_converges_tp1(case, a_first):
    text, a, b = case
    a2, b2 = transform(a, b, a_first=a_first)
    assert apply(apply(text, a), b2) == apply(apply(text, b), a2)
    assert is_normalized(a2) and is_normalized(b2)


@PROPERTY
@given(text_and_two_concurrent_ops())
def test_transform_tie_break_is_symmetric(case):
    text, a, b = case
    a2, b2 = transform(a, b, a_first=True)
    b3, a3 = transform(b, a, a_first=False)
    assert (a2, b2) == (a3, b3)


@PROPERTY
@given(text_and_two_sequential_ops())
def test_compose_equals_applying_in_sequence(case):
    text, a, b = case
    ab = compose(a, b)
    assert apply(text, ab) == apply(apply(text, a), b)
    assert is_normalized(ab)


@PROPERTY
@given(text_and_op())
def test_invert_undoes(case):
    text, op = case
    inverse = invert(op, text)
    assert apply(apply(text, op), inverse) == text
    assert apply(text, compose(op, inverse)) == text


@PROPERTY
@given(texts, texts)
def test_from_replace_produces_the_new_text(old, new):
    op = from_replace(old, new)
    assert apply(old, op) == new
    assert is_normalized(op)
    assert sum(isinstance(c, str) for c in op) <= 1
    assert sum(isinstance(c, int) and c < 0 for c in op) <= 1
    assert is_noop(op) == (old == new)


@PROPERTY
@given(text_and_op())
def test_normalize_is_idempotent_and_keeps_the_meaning(case):
    text, op = case
    n = normalize(op)
    assert normalize(n) == n
    assert is_normalized(n)
    assert apply(text, n) == apply(text, op)
    assert validate(op) == n


@PROPERTY
@given(text_and_op())
def test_lengths_predict_the_result_length(case):
    text, op = case
    assert base_length(op) <= len(text)
    assert len(apply(text, op)) == len(text) - base_length(op) + target_length(op)


@PROPERTY
@given(text_and_op(), st.booleans())
def test_transform_index_is_monotonic_and_in_bounds(case, own):
    text, op = case
    new_len = len(apply(text, op))
    moved = [transform_index(i, op, own=own) for i in range(len(text) + 1)]
    assert all(0 <= m <= new_len for m in moved)
    assert moved == sorted(moved)


@PROPERTY
@given(text_and_op())
def test_transform_index_follows_retained_characters(case):
    text, op = case
    result = apply(text, op)
    for old, new in retained_positions(op).items():
        assert result[new] == text[old]
        # Someone else's edit: the cursor right after a kept character stays right after it.
        assert transform_index(old + 1, op) == new + 1
        # Own edit: the cursor right before a kept character stays right before it.
        assert transform_index(old, op, own=True) == new
