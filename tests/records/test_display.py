"""The readable text diff: it always reproduces both texts, and a long unchanged
stretch is shortened to its ends."""

from hypothesis import given
from hypothesis import strategies as st

from ipplan.records.display import text_diff

words = st.lists(
    st.sampled_from(["bo", "egen", "leilighet", " ", "  ", ",", "\n", "NAV", "å"]), max_size=30
)


@given(words, words)
def test_the_diff_reproduces_both_texts(a, b):
    before, after = "".join(a), "".join(b)
    parts = text_diff(before, after, trim=False)
    assert "".join(t for kind, t in parts if kind != "ins") == before
    assert "".join(t for kind, t in parts if kind != "del") == after


def test_a_small_edit_in_a_long_text_reads_as_a_small_edit():
    text = "Per har bodd hos moren sin i mange år. " * 10
    parts = text_diff(text, text + "Nå vil han flytte.")
    assert parts[-1] == ["ins", "Nå vil han flytte."]
    assert parts[0][0] == "eq" and parts[0][1].startswith("…") and len(parts[0][1]) < 80
