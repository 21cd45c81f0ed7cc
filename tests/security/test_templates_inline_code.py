"""Our CSP has no 'unsafe-inline', so inline code would simply not run (or not style)
in the browser. These checks find it in the templates before a user does."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html")) + sorted(
    (ROOT / "ipplan").rglob("templates/**/*.html")
)

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
DATA_ONLY_SCRIPT = re.compile(r"type=[\"']application/(ld\+)?json[\"']", re.IGNORECASE)
# Resources (not links): scripts, images, frames, media, stylesheets.
EXTERNAL_URL = re.compile(
    r"<(?:script|img|iframe|source|audio|video|link)\b[^>]*\b(?:src|href)\s*=\s*[\"'](?:https?:)?//",
    re.IGNORECASE,
)


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_templates_to_check():
    assert TEMPLATES


@pytest.mark.parametrize("path", TEMPLATES, ids=_relative)
def test_the_template_has_no_inline_code_or_styles(path):
    text = path.read_text(encoding="utf-8")
    problems = []
    for match in INLINE_SCRIPT.finditer(text):
        # <script type="application/json"> (json_script) is data, not code: allowed.
        if not DATA_ONLY_SCRIPT.search(match.group(0)):
            problems.append(f"inline <script>: {match.group(0)}")
    problems += [f"<style> block at {m.start()}" for m in STYLE_BLOCK.finditer(text)]
    problems += [f"style= attribute at {m.start()}" for m in STYLE_ATTRIBUTE.finditer(text)]
    problems += [f"on…= event handler: {m.group(0)[:60]}" for m in EVENT_HANDLER.finditer(text)]
    problems += [f"javascript: URL at {m.start()}" for m in JAVASCRIPT_URL.finditer(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=_relative)
def test_the_template_loads_nothing_from_other_sites(path):
    text = path.read_text(encoding="utf-8")
    external = [m.group(0) for m in EXTERNAL_URL.finditer(text)]
    assert not external, f"external resources (no CDN; serve from static/): {external}"
