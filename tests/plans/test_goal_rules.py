"""The vague-goal rules: what they flag, that they never block, and that the browser's
copy (static/js/goal_rules.js) flags exactly the same goals with the same words."""

from __future__ import annotations

import datetime
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from ipplan.plans import goal_rules, services
from ipplan.plans.goal_rules import goal_warning_codes, goal_warnings
from ipplan.plans.models import Goal

ROOT = Path(__file__).resolve().parents[2]


def codes(text: str, criterion: str) -> list[str]:
    return [code for code, _params in goal_warning_codes(text=text, success_criterion=criterion)]


EXAMPLES = [
    ("Bli rusfri", "Være rusfri", ["vague_goal", "vague_criterion"]),
    ("Rusfrihet", "Negative urinprøver hver uke i tre måneder", []),
    ("Få det bra", "", ["vague_goal", "missing_criterion"]),
    ("Egen leilighet", "Har signert leiekontrakt", []),
    ("Egen leilighet", "Egen leilighet", ["criterion_repeats_goal"]),
    ("Egen leilighet!", "  egen   LEILIGHET ", ["criterion_repeats_goal"]),
    ("Komme i jobb", "Har en fast plass på et arbeidstiltak", []),
    ("Bli bedre til å lage mat", "Lager middag selv 3 dager i uka", []),
    ("Bli bedre til å lage mat", "Lager middag selv", ["vague_goal"]),
    ("Ha det bedre", "Skårer 20 % bedre på livskvalitetsskjemaet", []),
    ("", "", []),
]


@pytest.mark.parametrize(("text", "criterion", "expected"), EXAMPLES)
def test_it_flags_the_documented_examples(text, criterion, expected):
    assert codes(text, criterion) == expected


def test_it_names_the_vague_words_the_person_actually_used():
    warnings = goal_warnings(text="Jeg vil oppnå RUSFRIHET", success_criterion="Det går bra")
    assert len(warnings) == 1
    assert "“rusfrihet”" in warnings[0]


def test_a_star_matches_word_beginnings_only():
    assert codes("Rusfritt liv", "Ser bra ut") == ["vague_goal"]
    assert codes("Ikke-rusfri", "Ser bra ut") == ["vague_goal"]  # the hyphen separates words
    assert codes("Narkorusfri", "Ser bra ut") == []  # not a word start


def test_a_phrase_must_be_consecutive_words():
    assert codes("Bli mye bedre", "Ser bra ut") == []
    assert codes("bli, bedre", "Ser bra ut") == ["vague_goal"]  # punctuation only separates


def test_warnings_are_translated_at_call_time():
    with translation.override("nb"):
        text = goal_warnings(text="Få det bra", success_criterion="")
    assert len(text) == 2 and all(isinstance(t, str) and t for t in text)


def test_rule_messages_cover_every_rule():
    ids = {rule["id"] for rule in goal_rules.load_rules()["rules"]}
    assert set(goal_rules.rule_messages()) == ids


def test_the_python_msgids_are_the_messages_in_the_rule_table():
    table = {rule["id"]: rule["message"] for rule in goal_rules.load_rules()["rules"]}
    with translation.override(None):
        assert {code: str(msg) for code, msg in goal_rules.MESSAGES.items()} == table


def test_the_documentation_lists_every_phrase_and_measurable_word():
    doc = (ROOT / "docs" / "goal-rules.md").read_text(encoding="utf-8")
    rules = goal_rules.load_rules()
    for phrase in rules["vague_phrases"]:
        assert f"- {phrase}\n" in doc, phrase
    words = re.findall(r"[^\s,.:]+", doc.split("### Measurable words", 1)[1].split("##", 1)[0])
    for word in rules["measurable_words"]:
        assert word in words, word
    for rule in rules["rules"]:
        assert f"`{rule['id']}`" in doc


def test_the_browser_copy_embeds_the_same_rule_table():
    source = (ROOT / "static" / "js" / "goal_rules.js").read_text(encoding="utf-8")
    assert goal_rules.embedded_js_rules(source) == goal_rules.load_rules()


def test_a_vague_goal_is_still_saved(plan, coordinator):
    result = services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="goal",
        values={
            "theme": plan.themes.first().pk,
            "level": "main",
            "text": "Bli rusfri",
            "success_criterion": "Være rusfri",
            "evaluation_date": datetime.date.today() + datetime.timedelta(days=30),
            "status": "not_started",
        },
    )
    goal = Goal.objects.get(pk=result.result["id"])
    assert goal_warnings(text=goal.text, success_criterion=goal.success_criterion)


# ------------------------------------------------------------ Python and JS agree

NODE_SCRIPT = """
import { readFileSync } from 'node:fs';
const rules = await import(process.argv[1]);
const cases = JSON.parse(readFileSync(0, 'utf8'));
const out = cases.map(([text, criterion]) => ({
  codes: rules.goalWarningCodes(text, criterion),
  warnings: rules.goalWarnings(text, criterion),
}));
process.stdout.write(JSON.stringify(out));
"""

WORDS = [
    "bli", "bedre", "rusfri", "Rusfrihet", "få", "det", "bra", "ha", "godt", "frisk", "mer",
    "stabil", "ta", "tak", "i", "3", "tre", "uker", "måned", "hver", "%", "kr", "leilighet",
    "jobb", "urinprøve", "mestre", "hverdagen", "komme", "meg", "videre", "ÅR", "år",
    "e\u0301", "é", "İ", "ß", "Σ", "中文", "😀", "_", "-", ",", "!", "\n", "  ", "½", "٣",
]  # fmt: skip


def random_text(rng: random.Random) -> str:
    return "".join(
        rng.choice(WORDS) + rng.choice([" ", "", ", ", "-"]) for _ in range(rng.randint(0, 7))
    )


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH")
    return path


def test_python_and_javascript_give_the_same_warnings(node):
    rng = random.Random(20261124)
    cases = [[text, criterion] for text, criterion, _ in EXAMPLES]
    cases += [[random_text(rng), random_text(rng)] for _ in range(600)]
    module = (ROOT / "static" / "js" / "goal_rules.js").as_uri()
    proc = subprocess.run(
        [node, "--input-type=module", "-e", NODE_SCRIPT, module],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    results = json.loads(proc.stdout)
    flagged = 0
    with translation.override(None):
        for (text, criterion), js in zip(cases, results, strict=True):
            expected = goal_warning_codes(text=text, success_criterion=criterion)
            assert [[code, params] for code, params in expected] == js["codes"], (text, criterion)
            assert goal_warnings(text=text, success_criterion=criterion) == js["warnings"]
            flagged += bool(expected)
    assert flagged > 50  # the random cases exercise the rules, not only the empty path


def _every_phrase_everywhere(words: list[str], key: str) -> str | None:
    """The plain search the index replaces: every phrase at every position."""
    phrases = goal_rules._patterns(key)
    for start in range(len(words)):
        for phrase in phrases:
            end = start + len(phrase)
            if end <= len(words) and all(
                goal_rules._word_matches(p, w)
                for p, w in zip(phrase, words[start:end], strict=True)
            ):
                return " ".join(words[start:end])
    return None


def test_the_indexed_phrase_search_finds_what_trying_every_phrase_finds():
    rules = goal_rules.load_rules()
    vocabulary = {"jeg", "skal", "bo", "i", "egen", "leilighet", "innen", "mars", "3"}
    for key in ("vague_phrases", "measurable_words"):
        for phrase in rules[key]:
            for word in phrase.split():
                vocabulary |= {word.rstrip("*"), word.rstrip("*") + "ene"}
    vocabulary = sorted(vocabulary)
    rng = random.Random(2026)
    found = 0
    for _ in range(3000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 20))]
        for key in ("vague_phrases", "measurable_words"):
            expected = _every_phrase_everywhere(words, key)
            assert goal_rules._find_phrase(words, key) == expected, (words, key)
            found += expected is not None
    assert found > 1000  # the texts do contain phrases, so the comparison means something
