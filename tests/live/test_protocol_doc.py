"""docs/protocol.md shows the schemas the server validates against, and its examples
are valid messages: the document cannot drift from the code."""

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ipplan.live import protocol

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
MARKER = re.compile(r"<!-- schema: (client|server) (\w+) -->")
BLOCK = re.compile(r"```json\n(.*?)\n```", re.S)


def _sections():
    text = DOC.read_text()
    markers = list(MARKER.finditer(text))
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        blocks = BLOCK.findall(text, marker.end(), end)
        yield marker.group(1), marker.group(2), blocks


def test_every_message_type_is_documented_with_its_schema():
    documented = {(d, k) for d, k, _ in _sections()}
    expected = {("client", k) for k in protocol.CLIENT_SCHEMAS}
    expected |= {("server", k) for k in protocol.SERVER_SCHEMAS}
    assert documented == expected


@pytest.mark.parametrize("direction,kind,blocks", list(_sections()), ids=lambda v: str(v)[:20])
def test_the_documented_schema_is_the_one_in_use_and_the_example_fits(direction, kind, blocks):
    schemas = protocol.CLIENT_SCHEMAS if direction == "client" else protocol.SERVER_SCHEMAS
    assert len(blocks) >= 2, "a schema and an example"
    assert json.loads(blocks[0]) == schemas[kind]
    example = json.loads(blocks[1])
    errors = list(Draft202012Validator(schemas[kind]).iter_errors(example))
    assert not errors, [e.message for e in errors]
    if direction == "client":
        assert protocol.parse_client_frame(blocks[1]) == example
