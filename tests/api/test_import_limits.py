"""Uploads that would expand past the limits are refused while they are read, with a 4xx and nothing stored:
zip bombs (by member size, archive total, compression ratio, member count), a .docx bomb, CSV cells over the
csv module's limit, a transcript with more turns than the sentence limit, deeply nested JSONL."""

import io
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.api.test_import import transcripts_in_db, upload, word_file
from tests.conftest import add_user

TURN = "SP3: We set a goal that I would get out of the house twice a week.\n"


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def small_limits(settings, embedder) -> Iterator[TestClient]:
    """An app whose archive and sentence limits are small enough to pass with test-sized files."""
    bounded = settings.model_copy(update={"max_member_bytes": 200_000, "max_archive_bytes": 300_000,
                                          "max_archive_members": 5, "max_segments": 50})
    with TestClient(create_app(bounded, embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        yield client


def test_a_zip_bomb_is_refused_by_its_expanded_size(small_limits, settings):
    bomb = zipped({"interview.txt": TURN.encode() + b" " * 5_000_000})  # ~5 KB compressed
    assert len(bomb) < 50_000
    response = upload(small_limits, [("bomb.zip", bomb)])
    assert response.status_code == 413, response.text
    assert "AUTOCODER_MAX_MEMBER_BYTES" in response.json()["detail"] and "nothing was stored" in response.json()[
        "detail"]
    total = zipped({f"{n}.txt": TURN.encode() * 2000 for n in range(4)})  # 4 x 134 KB: each fine, not together
    response = upload(small_limits, [("many.zip", total)])
    assert response.status_code == 413 and "AUTOCODER_MAX_ARCHIVE_BYTES" in response.json()["detail"]
    crowd = zipped({f"{n}.txt": TURN.encode() for n in range(6)})
    response = upload(small_limits, [("crowd.zip", crowd)])
    assert response.status_code == 413 and "AUTOCODER_MAX_ARCHIVE_MEMBERS" in response.json()["detail"]
    assert transcripts_in_db(settings) == 0


def test_a_highly_compressed_member_is_refused_by_ratio(client, settings):
    bomb = zipped({"interview.txt": TURN.encode() + b"\n" * 3_000_000})
    response = upload(client, [("bomb.zip", bomb)])
    assert response.status_code == 413 and "zip bomb" in response.json()["detail"]
    document = zipfile.ZipFile(io.BytesIO(word_file(bold_labels=False)))
    padded = zipped({**{n: document.read(n) for n in document.namelist()}, "word/media/pad.bin": b"\0" * 3_000_000})
    response = upload(client, [("bomb.docx", padded)])
    assert response.status_code == 413 and "zip bomb" in response.json()["detail"]
    assert transcripts_in_db(settings) == 0


def test_turn_limit_and_bad_cells_are_refused_while_reading(small_limits, settings):
    rows = "speaker,text\n" + "".join(f"SP3,Turn {n} was about going out more often.\n" for n in range(60))
    response = upload(small_limits, [("long.csv", rows.encode())])
    assert response.status_code == 413 and "more than 50 turns" in response.json()["detail"]
    huge_cell = "speaker,text\nSP3," + "word " * 30_000 + "\n"
    response = upload(small_limits, [("cell.csv", huge_cell.encode())])
    assert response.status_code == 422 and "cell.csv, line" in response.json()["problems"][0]
    nested = '{"speaker": "SP3", "text": "hi", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    response = upload(small_limits, [("deep.jsonl", nested.encode())])
    assert response.status_code == 422 and "nested too deeply" in response.json()["problems"][0]
    assert transcripts_in_db(settings) == 0


def encrypted(members: dict[str, bytes]) -> bytes:
    """A zip whose members carry the 'encrypted' flag (what `zip -e` writes), as zipfile reads it."""
    data = bytearray(zipped(members))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset] |= 0x1
            at = data.find(signature, at + 4)
    return bytes(data)


@pytest.mark.parametrize("name", ["locked.zip", "locked.docx"])
def test_an_encrypted_archive_is_refused_with_a_reason(client, settings, name):
    response = upload(client, [(name, encrypted({"interview.txt": TURN.encode()}))])
    assert response.status_code == 422, response.text
    assert "is encrypted (password-protected)" in response.text
    assert transcripts_in_db(settings) == 0
