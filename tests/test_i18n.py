"""Plain Norwegian: every user-facing string goes through Django's i18n, and the
Norwegian (nb) catalogue translates all of them.

- The catalogue is complete: `makemessages` run on a temporary copy of the code and
  templates (so the repository is left alone) finds no message without a Norwegian
  translation, and none marked fuzzy (a guess nobody checked).
- Templates hold no literal text outside {% translate %} / {% blocktranslate %}.
- Python code passes no literal text to the places people read it (messages, form
  labels and help texts, model names, choice labels, validation and service errors)
  without gettext. The REST API's OpenAPI descriptions (ipplan/api) are developer
  documentation, in English by design, and are not checked.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "nb"
COMMITTED = ROOT / "ipplan" / "locale" / LANGUAGE / "LC_MESSAGES"


# ------------------------------------------------------------------------ catalogue


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    """The nb catalogue as `makemessages` leaves it after a run on today's code: new
    messages added (untranslated), existing translations merged in, gone ones dropped.
    Run in a temporary copy, so the repository's catalogue is not touched."""
    if shutil.which("xgettext") is None or shutil.which("msgattrib") is None:
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    copy = tmp_path_factory.mktemp("i18n")
    ignore = shutil.ignore_patterns("__pycache__", "*.mo")
    shutil.copytree(ROOT / "ipplan", copy / "ipplan", ignore=ignore)
    shutil.copytree(ROOT / "templates", copy / "templates", ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ipplan.settings",
        "PYTHONPATH": str(copy),
    }
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "makemessages", "-l", LANGUAGE, "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    po = copy / "ipplan" / "locale" / LANGUAGE / "LC_MESSAGES" / "django.po"
    assert po.exists(), f"makemessages wrote no catalogue:\n{result.stdout}"
    return po


def entries(po: Path, *flags: str) -> list[str]:
    """The messages `msgattrib` selects with `flags`, each as "msgid (where)"."""
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["msgattrib", "--no-wrap", *flags, str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    found = []
    where = ""
    for block in result.stdout.split("\n\n"):
        lines = block.splitlines()
        where = " ".join(line[3:] for line in lines if line.startswith("#: "))
        msgid = next((line[6:] for line in lines if line.startswith("msgid ")), None)
        if msgid is None or msgid == '""' and not where:
            continue  # the header
        found.append(f"{msgid}  ({where.split(' ')[0]})")
    return found


def test_makemessages_finds_the_strings_of_the_code_and_the_templates(catalogue):
    text = catalogue.read_text(encoding="utf-8")
    assert 'msgid "Skip to main content"' in text  # templates/base.html
    assert 'msgid "The plan was created."' in text  # ipplan/plans/views/plan.py
    assert "templates/records/pdf/" in text  # the PDFs are read by people too


def test_every_message_has_a_norwegian_translation(catalogue):
    missing = entries(catalogue, "--untranslated")
    assert not missing, f"{len(missing)} messages lack a Norwegian translation:\n" + "\n".join(
        missing[:60]
    )


def test_no_translation_is_fuzzy(catalogue):
    fuzzy = entries(catalogue, "--only-fuzzy")
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations to check:\n" + "\n".join(fuzzy[:60])


def messages_of(po: Path) -> set[tuple[str, str]]:
    """(msgctxt, msgid) of every current entry of a catalogue."""
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["msgattrib", "--no-wrap", "--no-obsolete", str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    found = set()
    for block in result.stdout.split("\n\n"):
        parts: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith('"'):  # a continued string (one holding a newline)
                parts[key] += ast.literal_eval(line)
            elif line.startswith(("msgctxt ", "msgid ")):
                key, _, value = line.partition(" ")
                parts[key] = ast.literal_eval(value)
            elif not line.startswith("#"):
                key = ""  # msgid_plural, msgstr: not part of the key
                parts[key] = ""
        if parts.get("msgid"):
            found.add((parts.get("msgctxt", ""), parts["msgid"]))
    return found


def test_the_committed_catalogue_has_the_messages_of_today(catalogue):
    """The .po in the repository is what `makemessages` makes of the sources: nothing
    missing and nothing left over. Fix: run makemessages (see docs) and translate."""
    fresh, committed = messages_of(catalogue), messages_of(COMMITTED / "django.po")
    missing = sorted(m for _, m in fresh - committed)
    left_over = sorted(m for _, m in committed - fresh)
    assert not missing, f"{len(missing)} not in the committed catalogue: {missing[:30]}"
    assert not left_over, f"{len(left_over)} gone from the sources: {left_over[:30]}"


def test_the_committed_mo_file_is_compiled_from_the_committed_catalogue(tmp_path):
    """The demo runs without gettext installed, from the committed .mo: it must hold
    the translations of the .po. Fix: manage.py compilemessages."""
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    compiled = tmp_path / "django.mo"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["msgfmt", "--check-format", "-o", str(compiled), str(COMMITTED / "django.po")],  # noqa: S607
        check=True,
    )
    with compiled.open("rb") as fresh, (COMMITTED / "django.mo").open("rb") as committed:
        expected = gettext.GNUTranslations(fresh)._catalog
        actual = gettext.GNUTranslations(committed)._catalog
    stale = sorted(
        str(k) for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)
    )
    assert not stale, f"{len(stale)} messages differ in django.mo: {stale[:20]}"


@pytest.fixture
def norwegian(settings):
    """The project's catalogue, which tests/conftest.py leaves out for the other tests."""
    from ipplan import settings as project

    settings.LOCALE_PATHS = project.LOCALE_PATHS


def test_a_missing_page_is_in_norwegian(norwegian, client, plan, outsider):
    # Outsiders get the same 404 as for any missing page, in the person's language.
    client.force_login(outsider)
    response = client.get(f"/planer/{plan.pk}/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "Fant ikke siden" in text
    assert "Not Found" not in text
    assert "Per Person" not in text  # no hint whose plan it is


def test_pages_speak_norwegian(norwegian, client, plan, coordinator):
    client.force_login(coordinator)
    text = client.get(f"/planer/{plan.pk}/").content.decode()
    assert "Hovedtema" in text
    assert "Legg til mål" in text
    for english in (">Edit<", ">Delete<", "Add goal", "Main themes", "Responsible group"):
        assert english not in text


# ------------------------------------------------------------------------ templates

WORD = re.compile(r"[A-Za-zÆØÅæøå]{2,}")
# Read by people, so translated too.
TEXT_ATTRIBUTES = r"aria-label|aria-description|aria-roledescription|title|placeholder|alt"
NOT_TEXT = {"ipplan"}  # the product's name


def literal_text(template: str) -> list[str]:
    """What a template shows people that no translate tag covers."""
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", template, flags=re.S)
    text = re.sub(r"{#.*?#}", "", text, flags=re.S)
    text = re.sub(
        r"{%\s*blocktrans(late)?\b.*?{%\s*endblocktrans(late)?\s*%}", "", text, flags=re.S
    )
    text = re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", "", text, flags=re.S | re.I)
    text = re.sub(r"&#?\w+;", " ", text)
    found = [
        f'{m.group(1)}="{m.group(2)}"'
        for m in re.finditer(rf"\b({TEXT_ATTRIBUTES})\s*=\s*\"([^\"]*)\"", text)
        if set(WORD.findall(m.group(2))) - NOT_TEXT
    ]
    for line in re.sub(r"<[^>]*>", "\n", text).splitlines():
        line = line.strip()
        if line.startswith("#"):  # a URL fragment after a {% url %}
            continue
        if set(WORD.findall(line)) - NOT_TEXT:
            found.append(line)
    return found


def test_templates_show_no_text_outside_translate_tags():
    found = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if literal := literal_text(path.read_text(encoding="utf-8")):
            found[str(path.relative_to(ROOT))] = literal
    assert not found, f"untranslated text in templates: {found}"


def test_the_template_check_sees_untranslated_text():
    assert literal_text('<p>Save the plan</p><a aria-label="Close">x</a>') == [
        'aria-label="Close"',
        "Save the plan",
    ]
    assert (
        literal_text(
            '<p>{% translate "Save" %}</p>{% blocktranslate %}A {{ b }}{% endblocktranslate %}'
        )
        == []
    )


# --------------------------------------------------------------------------- Python

TEXT_KEYWORDS = {"verbose_name", "verbose_name_plural", "label", "help_text", "empty_label"}
MESSAGE_FUNCTIONS = {"debug", "info", "success", "warning", "error"}
# Literal text that never reaches a person, with the reason.
ALLOWED = {
    ("ipplan/live/handlers.py", "unknown action"): "unreachable: the schema refuses the action",
}


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(WORD.search(node.value))
    )


def _untranslated_in(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            found += [(node.lineno, kw.value) for kw in node.keywords if kw.arg in TEXT_KEYWORDS]
            found += [(node.lineno, kw.value) for kw in node.keywords if kw.arg == "message"]
            if owner == "messages" and name in MESSAGE_FUNCTIONS and len(node.args) > 1:
                found.append((node.lineno, node.args[1]))
            if name in {"OperationError", "add_error"} and len(node.args) > 1:
                found.append((node.lineno, node.args[1]))
            if name in {"ValidationError", "Http404", "PermissionDenied"} and node.args:
                found.append((node.lineno, node.args[0]))
        if isinstance(node, ast.ClassDef) and any(
            getattr(base, "attr", getattr(base, "id", "")) in {"TextChoices", "IntegerChoices"}
            for base in node.bases
        ):
            for statement in node.body:
                value = getattr(statement, "value", None)
                if isinstance(value, ast.Tuple) and len(value.elts) == 2:
                    found.append((statement.lineno, value.elts[1]))
    return sorted((line, ast.unparse(value)) for line, value in found if _is_text(value))


def test_python_code_passes_no_literal_text_to_people():
    found = []
    for path in sorted((ROOT / "ipplan").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative or relative.startswith("ipplan/api/"):
            continue
        for line, text in _untranslated_in(ast.parse(path.read_text(encoding="utf-8"))):
            if (relative, ast.literal_eval(text) if text[0] in "'\"" else text) in ALLOWED:
                continue
            found.append(f"{relative}:{line}: {text}")
    assert not found, "text people read, without gettext:\n" + "\n".join(found)


def test_the_python_check_sees_untranslated_text():
    tree = ast.parse(
        "messages.success(request, 'Saved')\n"
        "messages.success(request, _('Saved'))\n"
        "forms.CharField(label='Name')\n"
        "class S(models.TextChoices):\n    A = 'a', 'Active'\n    B = 'b', _('Other')\n"
    )
    assert [text for _line, text in _untranslated_in(tree)] == ["'Saved'", "'Name'", "'Active'"]
