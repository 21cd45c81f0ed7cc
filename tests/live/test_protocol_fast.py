"""The shortcut for text op frames (protocol.plainly_valid_text_op) never accepts a frame
the schema would refuse, and does accept the frames a browser sends."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ipplan.live.protocol import _validator, parse_client_frame, plainly_valid_text_op

SAFE = 2**53 - 1

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=SAFE + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=70),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
names = st.sampled_from(["goal", "measure", "text", "a", "plan_x", "Goal", "goal\n", "", "a" * 51])
op_ids = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), st.just("a b"))
components = st.lists(
    st.one_of(
        st.integers(min_value=-50, max_value=50),
        st.text(max_size=5),
        st.sampled_from([True, 1.0, None, [1]]),
    ),
    max_size=6,
)


def _mostly(draw, valid):
    """Usually a valid value, sometimes anything: most frames are one flaw away."""
    return draw(valid if draw(st.integers(0, 9)) < 8 else anything)


@st.composite
def frames(draw):
    op = {
        "type": _mostly(draw, st.just("text")),
        "target": _mostly(draw, names),
        "field": _mostly(draw, names),
        "ops": _mostly(draw, components),
    }
    if draw(st.booleans()):
        op["id"] = _mostly(draw, st.integers(min_value=-1, max_value=SAFE + 1))
    for key in draw(st.lists(st.sampled_from([*op, "value", "extra"]), max_size=1)):
        if draw(st.booleans()):
            op.pop(key, None)
        else:
            op[key] = draw(anything)
    frame = {
        "type": _mostly(draw, st.just("op")),
        "op_id": _mostly(draw, op_ids),
        "base_rev": _mostly(draw, st.integers(min_value=-1, max_value=SAFE + 1)),
        "op": _mostly(draw, st.just(op)),
    }
    for key in draw(st.lists(st.sampled_from([*frame, "extra"]), max_size=1)):
        if draw(st.booleans()):
            frame.pop(key, None)
        else:
            frame[key] = draw(anything)
    return frame


@settings(max_examples=3000, deadline=None)
@given(frames())
def test_the_shortcut_accepts_nothing_the_schema_refuses(frame):
    if plainly_valid_text_op(frame):
        assert list(_validator("client", "op").iter_errors(frame)) == []


@settings(max_examples=300, deadline=None)
@given(
    op_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    base_rev=st.integers(min_value=0, max_value=SAFE),
    target=st.sampled_from(["plan", "theme", "goal", "measure"]),
    has_id=st.booleans(),
    ops=st.lists(st.one_of(st.integers(min_value=-100, max_value=100), st.text()), max_size=5),
)
def test_the_shortcut_accepts_what_a_browser_sends(op_id, base_rev, target, has_id, ops):
    op = {"type": "text", "target": target, "field": "text", "ops": ops}
    if has_id:
        op["id"] = 12
    frame = {"type": "op", "op_id": op_id, "base_rev": base_rev, "op": op}
    assert plainly_valid_text_op(frame)
    assert list(_validator("client", "op").iter_errors(frame)) == []


def test_a_frame_the_shortcut_declines_still_meets_the_schema():
    # An integral float is an "integer" to JSON Schema; the shortcut leaves it to the
    # schema, which accepts it as before.
    frame = (
        '{"type":"op","op_id":"a","base_rev":3.0,'
        '"op":{"type":"text","target":"goal","field":"text","ops":[1]}}'
    )
    assert not plainly_valid_text_op(
        {"type": "op", "op_id": "a", "base_rev": 3.0, "op": {"type": "text"}}
    )
    assert parse_client_frame(frame)["base_rev"] == 3.0
