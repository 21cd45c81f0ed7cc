"""Runs the JavaScript OT tests and checks static/js/ot.js against ipplan/live/ot.py.

Both sides must produce identical ops (not just equivalent ones), because clients and the
server exchange and compare them.  Skipped when ``node`` is not installed.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable

import pytest

from ipplan.live import ot
from tests.node_support import ROOT, find_node, run_node_tests

JS_TESTS = ROOT / "tests" / "live" / "js" / "ot.test.mjs"
CROSSCHECK = ROOT / "tests" / "live" / "js" / "crosscheck.mjs"

CHARS = ["a", "b", " ", "\n", "é", "\u0301", "\u200d", "中", "😀", "\U0001f44d", "\U0001f3fd", "𝔘"]

# Malformed or ill-fitting ops: both sides must reject exactly the same ones.
BAD_OPS: list[object] = [
    [True],
    [1, False],
    [0],
    [""],
    [1.5],
    [[1]],
    [{"r": 1}],
    [None],
    {"ops": [1]},
    "abc",
    None,
    [2**53],
    [1000],  # longer than any generated text
    [1, -1000],
]


@pytest.fixture(scope="module")
def node() -> str:
    return find_node()


def test_node_unit_tests_pass(node):
    run_node_tests(node, JS_TESTS, timeout=120)


def random_text(rng: random.Random, max_len: int = 20) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, max_len)))


def random_op(rng: random.Random, text: str) -> list:
    """A random valid op against ``text``, not always normalised (mirrors test_ot.py)."""
    n = len(text)
    pos = 0
    op: list = []
    while len(op) < 10:
        kind = rng.choice(["insert", "stop"] + (["retain", "delete", "retain"] if pos < n else []))
        if kind == "stop":
            break
        if kind == "insert":
            op.append(random_text(rng, 4) or "x")
        else:
            k = rng.randint(1, n - pos)
            op.append(k if kind == "retain" else -k)
            pos += k
    if pos < n and rng.random() < 0.5:
        op.append(n - pos)
    return op


def make_cases(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        text = random_text(rng)
        a = random_op(rng, text)
        cases.append(
            {
                "text": text,
                "a": a,
                "b": random_op(rng, text),
                "c": random_op(rng, ot.apply(text, a)),
                "other": random_text(rng) if rng.random() < 0.5 else ot.apply(text, a),
                "bad": BAD_OPS[i % len(BAD_OPS)] if rng.random() < 0.5 else random_op(rng, text),
            }
        )
    return cases


def attempt(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except ot.OTError:
        return {"error": True}


def utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def python_results(case: dict) -> dict:
    text, a, b, c, other, bad = (case[k] for k in ("text", "a", "b", "c", "other", "bad"))
    indexes = range(len(text) + 1)
    # Lists, not tuples, so the comparison with the parsed JSON is exact.
    return {
        "normalize": ot.normalize(a),
        "validate": ot.validate(a),
        "base_length": ot.base_length(a),
        "target_length": ot.target_length(a),
        "is_noop": ot.is_noop(a),
        "apply": ot.apply(text, a),
        "transform_a_first": list(ot.transform(a, b, a_first=True)),
        "transform_b_first": list(ot.transform(a, b, a_first=False)),
        "compose": ot.compose(a, c),
        "invert": ot.invert(a, text),
        "from_replace": ot.from_replace(text, other),
        "from_replace_edit": ot.from_replace(text, ot.apply(text, a)),
        "transform_index": [ot.transform_index(i, a) for i in indexes],
        "transform_index_own": [ot.transform_index(i, a, own=True) for i in indexes],
        "cp_to_utf16": [utf16_offset(text, i) for i in indexes],
        "utf16_to_cp": list(indexes),
        "bad_validate": attempt(lambda: ot.validate(bad)),
        "bad_apply": attempt(lambda: ot.apply(text, bad)),
    }


def test_js_matches_python_on_random_cases(node, tmp_path):
    cases = make_cases(300, seed=20240601)
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")

    proc = subprocess.run(
        [node, str(CROSSCHECK), str(cases_file)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-5000:]
    js_results = json.loads(proc.stdout.decode("utf-8"))
    assert len(js_results) == len(cases)

    for i, (case, js) in enumerate(zip(cases, js_results, strict=True)):
        py = python_results(case)
        for key, expected in py.items():
            assert js[key] == expected, (
                f"case {i} {key}: JS {js[key]!r} != Python {expected!r}\n"
                f"case = {json.dumps(case, ensure_ascii=False)}"
            )
    # The bad ops must actually exercise the error path on both sides.
    assert sum(python_results(case)["bad_validate"] == {"error": True} for case in cases) > 50
