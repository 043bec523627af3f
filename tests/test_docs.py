"""Docs that state a rule the code applies say what the code does (checked where a test can read both)."""

from pathlib import Path

from app.engine.presence import PRESENCE_MIN_SENTENCES, PRESENCE_STRONG_SCORE

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"


def test_the_batch_docs_state_the_presence_rule_presence_csv_uses():
    text = " ".join((DOCS / "batch.md").read_text().split())
    assert f"on at least {PRESENCE_MIN_SENTENCES} sentences" in text and f"at {PRESENCE_STRONG_SCORE} or more" in text


def test_the_readme_says_what_reports_count_and_what_agreed_takes():
    text = " ".join(README.read_text().split())
    # Step 6: the consensus is used as soon as any consensus decision exists, per transcript (not "once finished").
    assert "as soon as the adjudicator has recorded any decision on it" in text
    # consensus/agreed takes rows whose code sets are identical.
    assert "every sentence where all coders gave exactly the same codes" in text
    # Step 7: the .qdpx holds the chosen source; source=all holds both.
    assert "`source=all` puts the consensus and every coder's own codings in one project" in text
