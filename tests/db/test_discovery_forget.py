"""Deleting a transcript takes its words out of discovery candidates' terms, including two-word phrases that
join its words across a comma (a substring check kept "doe honestly" from "Jane Doe, honestly")."""

from app.db import discovery as db
from app.db import store
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.db.tables import DiscoveryCandidate, DiscoveryRun
from app.engine.discovery import terms_in


def test_terms_keep_only_what_remaining_sentences_say(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        def transcript(text: str) -> int:
            row = store.add_transcript(session, fields={"source_format": "text", "text": text}, segments=[dict(
                position=0, turn_index=0, sentence_index=0, speaker="SP1", role="supported_peer", char_start=0,
                char_end=len(text), text=text)])
            return row.segments[0].id
        gone = transcript("I told Jane Doe, honestly, about the walking group.")
        kept = transcript("The walking group met on Tuesday; Jane came, and Doe said so honestly.")
        run = DiscoveryRun(status="done", codebook_name="bcttv1", model_id="m", filters={}, params={})
        session.add(run)
        session.flush()
        session.add(DiscoveryCandidate(
            run_id=run.id, number=1, label="doe honestly, walking group", size=2,
            by_role={"supported_peer": 2}, by_transcript={"1": 1, "2": 1},
            terms=[["doe honestly", 2.0], ["jane doe", 1.5], ["walking group", 1.0], ["jane", 0.5]],
            quotes=[gone, kept], nearest_codes=[], members=[gone, kept]))
        session.flush()
        assert db.forget_segments(session, segment_ids={gone}, roles={gone: "supported_peer"}, transcript_id=1,
                                  terms_in=terms_in) == 1
        candidate = session.query(DiscoveryCandidate).one()
        assert [t for t, _ in candidate.terms] == ["walking group", "jane"]
        assert candidate.label == "walking group, jane" and candidate.members == [kept] and candidate.size == 1
    engine.dispose()
