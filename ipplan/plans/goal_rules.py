"""Warnings for vague goals: advice shown next to a goal, never a reason to refuse it.

A municipal audit found goals like «rusfri» with nothing saying what that means. The
rule list lives in goal_rules.json (documented in docs/goal-rules.md) and is shared with
the browser: static/js/goal_rules.js embeds the same table and implements the same
matching, so forms and the live meeting room warn about exactly the same goals
(tests/plans/test_goal_rules.py checks both against each other with node).

Matching, identical on both sides:
- text is NFC-normalised and lower-cased, then split into tokens: runs of letters and
  digits (everything else separates tokens);
- a phrase matches a run of consecutive tokens; a phrase word ending in "*" matches any
  token starting with it ("rusfri*" matches «rusfrihet»);
- a success criterion is *measurable* if it contains a digit, a "%" sign or one of the
  measurable words (numbers, units of time and frequency, months, evidence such as
  «urinprøve»).

Rules, in the order their warnings are returned:
1. vague_goal: the goal contains a vague phrase and the criterion is not measurable;
2. missing_criterion: the goal has text but the criterion is empty;
3. criterion_repeats_goal: the criterion is the goal again (same tokens);
4. vague_criterion: the criterion itself contains a vague phrase and is not measurable.

Run `python -m ipplan.plans.goal_rules --write-js` after editing goal_rules.json.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

RULES_PATH = Path(__file__).with_name("goal_rules.json")
JS_PATH = Path(__file__).resolve().parents[2] / "static" / "js" / "goal_rules.js"
JS_BEGIN = "// BEGIN GENERATED RULES"
JS_END = "// END GENERATED RULES"

# The same English texts as in goal_rules.json (a test keeps them equal); written out
# here so that makemessages finds them for the Norwegian catalogue.
MESSAGES = {
    "missing_criterion": _(
        "Add a success criterion: how will you know that the goal has been reached?"
    ),
    "criterion_repeats_goal": _(
        "The success criterion only repeats the goal. "
        "Describe what you will see when the goal has been reached."
    ),
    "vague_goal": _(
        "“%(phrase)s” can mean many things. Say in the success criterion what it means "
        "in practice: how much, how often or by when."
    ),
    "vague_criterion": _(
        "The success criterion is vague (“%(phrase)s”). "
        "Describe something that can be seen or counted."
    ),
}

# Runs of letters and digits: Python's \w minus "_" is Unicode letters and numbers,
# the same set as /[\p{L}\p{N}]+/u in the browser.
_TOKEN = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"[0-9]")


@functools.cache
def load_rules() -> dict[str, Any]:
    return json.loads(RULES_PATH.read_text(encoding="utf-8"))


@functools.cache
def _patterns(key: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(phrase.split()) for phrase in load_rules()[key])


def tokens(value: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFC", value or "").lower())


def _word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return token == pattern


@functools.cache
def _index(key: str) -> tuple[dict[str, list[int]], list[tuple[str, int]]]:
    """The phrases under `key` by their first word: exact first words in a dict, prefix
    patterns ("vurder*") in a list, each with the phrase's place in the rules file."""
    exact: dict[str, list[int]] = {}
    prefixes: list[tuple[str, int]] = []
    for number, phrase in enumerate(_patterns(key)):
        first = phrase[0]
        if first.endswith("*"):
            prefixes.append((first[:-1], number))
        else:
            exact.setdefault(first, []).append(number)
    return exact, prefixes


def _find_phrase(words: list[str], key: str) -> str | None:
    """The first run of tokens matching one of the phrases under `key` (in text order;
    at one position, in the rules file's order). The plan page asks this for every goal
    on each view, so only the phrases that can start at a word are tried."""
    phrases = _patterns(key)
    exact, prefixes = _index(key)
    for start, word in enumerate(words):
        candidates = exact.get(word, [])
        prefixed = [number for prefix, number in prefixes if word.startswith(prefix)]
        if prefixed:
            candidates = sorted(candidates + prefixed)
        for number in candidates:
            phrase = phrases[number]
            end = start + len(phrase)
            if end <= len(words) and all(
                _word_matches(p, w) for p, w in zip(phrase, words[start:end], strict=True)
            ):
                return " ".join(words[start:end])
    return None


def is_measurable(criterion: str) -> bool:
    words = tokens(criterion)
    if "%" in (criterion or "") or any(_DIGIT.search(w) for w in words):
        return True
    return _find_phrase(words, "measurable_words") is not None


def goal_warning_codes(*, text: str, success_criterion: str) -> list[tuple[str, dict[str, str]]]:
    """The rules a goal breaks, as (rule id, parameters): what the browser side returns too."""
    goal_words = tokens(text)
    criterion_words = tokens(success_criterion)
    if not goal_words and not criterion_words:
        return []  # nothing written yet
    measurable = is_measurable(success_criterion)
    found: list[tuple[str, dict[str, str]]] = []
    phrase = _find_phrase(goal_words, "vague_phrases")
    if phrase and not measurable:
        found.append(("vague_goal", {"phrase": phrase}))
    if not criterion_words:
        found.append(("missing_criterion", {}))
    elif criterion_words == goal_words:
        found.append(("criterion_repeats_goal", {}))
    elif not measurable:
        phrase = _find_phrase(criterion_words, "vague_phrases")
        if phrase:
            found.append(("vague_criterion", {"phrase": phrase}))
    return found


def goal_warnings(*, text: str, success_criterion: str) -> list[str]:
    """Translated warnings for a goal (empty when it looks concrete). Never blocks a save."""
    return [
        str(MESSAGES[code]) % params if params else str(MESSAGES[code])
        for code, params in goal_warning_codes(text=text, success_criterion=success_criterion)
    ]


def rule_messages() -> dict[str, str]:
    """The message templates in the active language, for goal_rules.js' setMessages()
    (e.g. as JSON in a data-goal-rule-messages attribute)."""
    return {code: gettext(str(message)) for code, message in MESSAGES.items()}


def js_rules_block() -> str:
    table = json.dumps(load_rules(), ensure_ascii=False, indent=2)
    return (
        f"{JS_BEGIN} from ipplan/plans/goal_rules.json: do not edit by hand;\n"
        "// run `python -m ipplan.plans.goal_rules --write-js` instead.\n"
        f"export const RULES = {table};\n"
        f"{JS_END}"
    )


def embedded_js_rules(source: str) -> dict[str, Any]:
    """The rule table embedded in goal_rules.js' source (for the drift test)."""
    block = source.split(JS_BEGIN, 1)[1].split(JS_END, 1)[0]
    literal = block.split("export const RULES = ", 1)[1].rsplit(";", 1)[0]
    return json.loads(literal)


def write_js() -> None:
    source = JS_PATH.read_text(encoding="utf-8")
    head = source.split(JS_BEGIN, 1)[0]
    tail = source.split(JS_END, 1)[1]
    JS_PATH.write_text(head + js_rules_block() + tail, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-js"]:
        write_js()
    else:
        sys.exit("usage: python -m ipplan.plans.goal_rules --write-js")
