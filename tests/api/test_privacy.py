"""Participants' data over real HTTP: an admin deletes a transcript and nothing made from its words is left in
any table, the embedding cache or another transcript's evidence; an audit row without text stays."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from app.batch.cache import EmbeddingCache
from app.cli import app as cli
from app.db.tables import Base
from tests.conftest import add_user

# Words only this participant said: the test looks for them everywhere after the deletion.
SECRET = [
    "Marguerite drove me to the food bank on Fridays and helped me carry the bags home.",
    "I told her about the voices and she just listened without writing anything down.",
    "We made a plan that I would phone my sister Olwen every Sunday evening.",
]
CONFIRMED, NEAR_COPY = SECRET[0], "She drove me to the food bank every Friday and helped carry my bags home."
OTHER = "Interviewer: And the groups?\nSP9: The walking group got me out of the flat and I met people there.\n"


def interview(sentences: list[str], speaker: str = "SP3") -> str:
    return "Interviewer: How was it with your peer worker?\n" + "".join(f"{speaker}: {s}\n" for s in sentences)


def every_value(database_url: str) -> str:
    """Every value of every row of every table, as one string (bytes decoded leniently)."""
    engine = create_engine(database_url)
    parts = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    parts.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    engine.dispose()
    return "\n".join(parts)


@pytest.fixture
def coded(client, embedder, settings):
    """Transcript A (the one to delete) coded by alice, whose confirmation is evidence in transcript B; A's
    sentences in the batch embedding cache beside another sentence."""
    alice = add_user(client.app, "alice", "coder")
    a = client.post("/transcripts", headers=alice, json={"text": interview(SECRET), "participant_id": "SP3",
                                                         "title": "Interview SP3"}).json()
    decisions = [{"segment_id": s["id"], "action": "accept", "suggestion_id": s["suggestions"][0]["id"]}
                 for s in a["segments"] if s["suggestions"]]
    decisions.append({"segment_id": a["segments"][1]["id"], "action": "memo", "memo": "check voices follow-up"})
    confirmed = next(s for s in a["segments"] if s["text"] == CONFIRMED)
    decisions.append({"segment_id": confirmed["id"], "action": "add", "code": "12.5"})
    assert client.post(f"/transcripts/{a['id']}/decisions", headers=alice,
                       json={"decisions": decisions}).status_code == 201
    b = client.post("/transcripts", headers=alice, json={"text": interview([NEAR_COPY], "SP4")}).json()
    read = client.get(f"/transcripts/{b['id']}", headers=alice).json()
    quoted = [s for seg in read["segments"] for s in seg["confirmed"] if s["evidence"]["text"] == CONFIRMED]
    assert quoted and quoted[0]["evidence"]["kind"] == "confirmed"  # A's words are evidence inside B, for alice
    cache = EmbeddingCache(settings.cache_dir / "embeddings", embedder.model_id, embedder.dimension)
    kept = "The walking group got me out of the flat and I met people there."
    cache.put_many(SECRET + [kept], embedder.encode(SECRET + [kept]))
    cache.close()
    return a, b, alice


def test_deleting_a_transcript_leaves_no_trace_of_its_words(client, anonymous, coded, settings, embedder):
    a, b, alice = coded
    viewer = add_user(client.app, "vera", "viewer")
    for who in (alice, viewer):
        refused = anonymous.delete(f"/transcripts/{a['id']}", headers=who)
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert client.delete("/transcripts/999999").status_code == 404
    assert client.delete(f"/transcripts/{2**40}").status_code == 422
    assert any(s in every_value(settings.database_url) for s in SECRET)  # the scan below can find them

    out = client.delete(f"/transcripts/{a['id']}")
    assert out.status_code == 200, out.text
    audit = out.json()
    assert audit["transcript_id"] == a["id"] and audit["participant_id"] == "SP3"
    assert audit["title"] == "Interview SP3" and audit["deleted_by"] == "admin"
    removed = audit["removed"]
    assert removed["segments"] == len(a["segments"]) == 4 and removed["vectors"] == 4
    assert removed["runs"] == 1 and removed["suggestions"] == 3 * settings.top_k  # stored: top k per sentence
    assert removed["decisions"] == len([s for s in a["segments"] if s["suggestions"]]) + 2
    assert removed["evidence_redacted"] == 0  # stored runs carry no confirmed sentence: nothing to redact
    assert removed["cached_embeddings"] == 3
    assert client.delete(f"/transcripts/{a['id']}").status_code == 404  # once

    # Everything that reads transcripts has forgotten it.
    assert client.get(f"/transcripts/{a['id']}").status_code == 404
    assert client.get(f"/transcripts/{a['id']}/labels").status_code == 404
    assert a["id"] not in [t["id"] for t in client.get("/transcripts").json()["items"]]
    for source in ("confirmed", "suggested"):
        report = client.get("/reports/exemplars", params={"source": source, "per_code": 50}).text
        table2 = client.get("/reports/table2", params={"source": source, "format": "csv"}).text
        assert not any(s[:40] in report or s[:40] in table2 for s in SECRET)
    # B no longer shows the deleted participant's sentence as evidence, to anyone.
    for who in ({}, alice):
        b_now = client.get(f"/transcripts/{b['id']}", headers=who).json()
        assert all(s["evidence"]["text"] != CONFIRMED for seg in b_now["segments"]
                   for s in seg["suggestions"] + seg["confirmed"])
    # And the confirmation is no longer evidence for new transcripts.
    c = client.post("/transcripts", headers=alice, json={"text": interview([NEAR_COPY], "SP5")}).json()
    assert all(s["evidence"]["kind"] != "confirmed" for seg in c["segments"] for s in seg["suggestions"])

    # No row of any table holds its words; the audit row is there.
    values = every_value(settings.database_url)
    for sentence in SECRET:
        assert sentence not in values and sentence[:30] not in values
    assert "check voices follow-up" not in values  # the memo on one of its sentences
    deletions = client.get("/deletions").json()
    assert [(d["transcript_id"], d["participant_id"]) for d in deletions] == [(a["id"], "SP3")]
    assert anonymous.get("/deletions", headers=alice).status_code == 403
    # Nor the database file, on SQLite (freed pages are overwritten, the write-ahead log checkpointed).
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert not any(s.encode() in raw for s in SECRET)
    # The batch embedding cache lost its sentences and kept the others.
    cache = EmbeddingCache(settings.cache_dir / "embeddings", embedder.model_id, embedder.dimension)
    left = cache.get_many(SECRET + ["The walking group got me out of the flat and I met people there."])
    cache.close()
    assert list(left) == ["The walking group got me out of the flat and I met people there."]


def test_the_command_line_deletes_for_an_admin_only(client, settings, monkeypatch, tmp_path):
    from app.config import get_settings

    a = client.post("/transcripts", json={"text": interview(SECRET[1:]), "participant_id": "SP7"}).json()
    add_user(client.app, "cyd", "coder")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(settings.cache_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(cli, ["transcripts", "delete", str(a["id"]), "--by", "cyd"])
        assert refused.exit_code == 1 and "admin" in refused.output
        done = runner.invoke(cli, ["transcripts", "delete", str(a["id"]), "--by", "admin"])
        assert done.exit_code == 0, done.output
        assert f"deleted transcript {a['id']} (SP7): 3 segments" in done.output
        assert runner.invoke(cli, ["transcripts", "delete", str(a["id"]), "--by", "admin"]).exit_code == 1
    finally:
        get_settings.cache_clear()
    assert client.get(f"/transcripts/{a['id']}").status_code == 404
    assert not any(s in every_value(settings.database_url) for s in SECRET)
    assert client.get("/deletions").json()[0]["deleted_by"] == "admin"


PERSONAL = ("Interviewer: When did you meet?\n"
            "SP3: I met Sarah Jones on 3rd of March 2020 and PW6 rang me on 07700 900123 every week.\n"
            "SP3: Interviewee_SP4 came along too, and we walked to the park at 2.30pm.\n")


def check_offsets(out: dict) -> None:
    for seg in out["segments"]:
        assert out["text"][seg["start"]:seg["end"]] == seg["text"]


def test_deidentify_on_request_replaces_words_before_anything_is_stored(client, settings):
    plain = client.post("/transcripts/plain", params={"deidentify": "true", "participant_id": "SP3"},
                        content=PERSONAL, headers={"content-type": "text/plain"})
    assert plain.status_code == 201, plain.text
    out = plain.json()
    check_offsets(out)
    assert out["participant_id"] == "SP3"  # metadata is the researcher's own, kept
    assert [s["speaker"] for s in out["segments"]] == ["Interviewer", "SP3", "SP3"]  # labels kept
    assert out["segments"][0]["role"] == "interviewer" and out["segments"][1]["role"] == "supported_peer"
    assert "on [DATE] and [ID] rang me on [PHONE] every week." in out["text"]
    assert "[ID] came along too, and we walked to the park at [TIME]." in out["text"]
    for secret in ("March 2020", "07700", "PW6 rang", "Interviewee_SP4", "2.30pm"):
        assert secret not in out["text"]
    values = every_value(settings.database_url)  # (codebook snapshots quote Interviewee_ ids of their own)
    assert "3rd of March 2020" not in values and "07700 900123" not in values

    turns = client.post("/transcripts", json={"deidentify": True, "turns": [
        {"speaker": "PW6", "text": "I saw SP3 on 12/05/2021 at 10:15 and her email is sp3@example.org."}]}).json()
    check_offsets(turns)
    assert turns["text"] == "PW6: I saw [ID] on [DATE] at [TIME] and her email is [EMAIL].\n\n"

    kept = client.post("/transcripts", json={"text": PERSONAL}).json()  # off by default
    assert kept["text"] == PERSONAL

    files = [("files", ("sp3.txt", PERSONAL.encode(), "text/plain"))]
    imported = client.post("/transcripts/import", files=files, data={"deidentify": "true"})
    assert imported.status_code == 201, imported.text
    stored = client.get(f"/transcripts/{imported.json()['transcripts'][0]['id']}").json()
    check_offsets(stored)
    assert "[PHONE]" in stored["text"] and "07700" not in stored["text"]


def test_the_setting_turns_deidentification_on_for_every_import(settings, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings.model_copy(update={"deidentify": True}), embedder)) as on:
        on.headers.update(add_user(on.app, "admin", "admin"))
        out = on.post("/transcripts", json={"text": PERSONAL}).json()
        assert "07700" not in out["text"] and "[PHONE]" in out["text"]
        check_offsets(out)
        plain = on.post("/transcripts", json={"text": PERSONAL, "deidentify": False}).json()
        assert plain["text"] == PERSONAL  # a request may still turn it off


def test_no_sentence_text_in_the_logs_at_info(client, caplog):
    import logging

    alice = add_user(client.app, "alice", "coder")
    with caplog.at_level(logging.INFO):
        out = client.post("/transcripts/plain", params={"participant_id": "SP3"}, headers={
            **alice, "content-type": "text/plain"}, content=interview(SECRET))
        assert out.status_code == 201
        seg = next(s for s in out.json()["segments"] if s["suggestions"])
        decided = client.post(f"/segments/{seg['id']}/decisions", headers=alice,
                              json={"action": "accept", "suggestion_id": seg["suggestions"][0]["id"]})
        assert decided.status_code == 201
        assert client.post(f"/segments/{seg['id']}/decisions", headers=alice,
                           json={"action": "memo", "memo": "voices again"}).status_code == 201
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records  # the capture works: requests are logged (without their bodies)
    for sentence in SECRET:
        for words in (sentence, sentence[:25], sentence[-25:]):
            assert words not in logged
    assert "voices again" not in logged


def test_the_access_log_keeps_paths_not_query_strings(settings, embedder, caplog):
    """uvicorn's access line, as it logs it, loses the query string (a title or participant id sent as a query
    parameter stays out of log files that outlive a deletion)."""
    import logging

    from app.main import create_app

    create_app(settings, embedder)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                                 "/transcripts/plain?title=Jane%20Doe&participant_id=SP9", "1.1", 201)
    assert '"POST /transcripts/plain HTTP/1.1" 201' in caplog.text
    assert "Jane" not in caplog.text and "SP9" not in caplog.text


def test_a_second_worker_forgets_a_deleted_confirmation_too(client, coded, settings, embedder, tmp_path):
    """Two processes of the service on one database (serve --workers 2): the one that did not delete the
    transcript stops quoting its confirmed sentence at once (its cache is keyed by the deletions too)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    a, b, alice = coded
    with TestClient(create_app(settings, embedder)) as other:
        def quoted() -> bool:
            read = other.get(f"/transcripts/{b['id']}", headers=alice).json()
            return any(c["evidence"]["text"] == CONFIRMED for seg in read["segments"] for c in seg["confirmed"])

        # A later decision elsewhere: the newest decision id does not change when A's decisions go.
        last = b["segments"][-1]["id"]
        assert client.post(f"/segments/{last}/decisions", headers=alice,
                           json={"action": "memo", "memo": "later"}).status_code == 201
        assert quoted()  # the other worker has alice's confirmation cached
        assert client.delete(f"/transcripts/{a['id']}").status_code == 200
        assert not quoted()
        # Both workers have served since: no file either of them wrote holds the participant's words.
        assert other.get(f"/transcripts/{b['id']}/labels", headers=alice).status_code == 200
    written = [p for root in (tmp_path, settings.cache_dir) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in written) or not settings.database_url.startswith("sqlite")
    for path in written:
        raw = path.read_bytes()
        assert not any(s.encode() in raw for s in SECRET), f"{path} still holds a deleted sentence"


def test_ids_of_deleted_transcripts_are_never_given_again(client):
    first = client.post("/transcripts", json={"text": interview(SECRET[:1])}).json()["id"]
    newest = client.post("/transcripts", json={"text": interview(SECRET[1:2])}).json()["id"]
    assert client.delete(f"/transcripts/{newest}").status_code == 200
    again = client.post("/transcripts", json={"text": interview(SECRET[2:])}).json()["id"]
    assert again > newest > first
    assert client.delete(f"/transcripts/{again}").status_code == 200
    ids = [d["transcript_id"] for d in client.get("/deletions").json()]
    assert ids == [newest, again]
