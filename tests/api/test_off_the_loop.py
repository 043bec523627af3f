"""CPU work never runs on the event loop (so /health and every other request keep being answered while a
large transcript, import, codebook or job manifest is processed), and sentence limits are checked before the
slow sentence splitting. Asserted by where the work runs, not by timing."""

import asyncio

import pytest

from app.services import coding
from app.services.codebooks import CodebookCatalog
from tests.api.test_import import upload

TEXT = "SP3: We set a goal that I would get out of the house twice a week.\n"


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def where(monkeypatch) -> list[tuple[str, bool]]:
    """Records, for segmenting and codebook validation, whether they ran on the event loop's thread."""
    seen: list[tuple[str, bool]] = []
    segment, upload_book = coding.segment_transcript, CodebookCatalog.upload

    def segment_spy(*args, **kwargs):
        seen.append(("segment", on_event_loop()))
        return segment(*args, **kwargs)

    def upload_spy(self, *args, **kwargs):
        seen.append(("codebook", on_event_loop()))
        return upload_book(self, *args, **kwargs)

    monkeypatch.setattr(coding, "segment_transcript", segment_spy)
    monkeypatch.setattr(CodebookCatalog, "upload", upload_spy)
    return seen


def test_cpu_work_of_async_routes_runs_in_worker_threads(client, where):
    assert client.post("/transcripts/plain", content=TEXT).status_code == 201
    assert upload(client, [("a.txt", TEXT.encode())]).status_code == 201
    book = "name: mine\ntitle: Mine\ncodes:\n  - {id: a, label: A, definition: Going out together.}\n"
    assert client.post("/codebooks", content=book, headers={"content-type": "application/yaml"}).status_code == 201
    assert client.post("/transcripts", json={"text": TEXT}).status_code == 201
    assert [kind for kind, _ in where] == ["segment", "segment", "codebook", "segment"]
    assert not any(loop for _, loop in where), where


def test_sentence_limit_is_checked_before_splitting(client, settings, monkeypatch):
    client.app.state.coder.settings = settings.model_copy(update={"max_segments": 20})

    def never(*args, **kwargs):
        raise AssertionError("sentences were split before the limit was checked")

    monkeypatch.setattr(coding, "split_sentences", never)
    many_turns = "".join(f"SP3: Turn {n} of the talk.\n" for n in range(30))
    response = client.post("/transcripts/plain", content=many_turns)
    assert response.status_code == 422 and "more than 20 sentences" in response.json()["detail"]
    many_words = "SP3: " + "word " * (20 * settings.max_sentence_words + 100)
    response = client.post("/transcripts/plain", content=many_words)
    assert response.status_code == 422 and "more than 20 sentences" in response.json()["detail"]
