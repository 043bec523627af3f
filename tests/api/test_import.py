"""Importing the files researchers have, made here with the real libraries: Word (python-docx), WebVTT and
SubRip captions, one-turn-a-row CSV and JSONL, text in a legacy encoding, and a zip of them. A batch with
one unreadable file stores nothing and says which file and line."""

import io
import json
import zipfile

import docx
from sqlalchemy import create_engine, func, select

from app.db.tables import Transcript

VTT = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Interviewer>How did the peer worker help you?</v>

00:00:05.000 --> 00:00:09.250
<v SP7>She came with me to the housing office.</v>

00:00:09.500 --> 00:00:12.000
<v SP7>We set a goal to walk twice a week.</v>
"""

SRT = """1
00:00:01,000 --> 00:00:03,000
PW2: I shared my own experience of hospital.

2
00:00:03,500 --> 00:00:06,000
It helped her open up about how she felt.

3
00:01:02,000 --> 00:01:04,000
Interviewer: Thank you.
"""


def word_file(bold_labels: bool) -> bytes:
    document = docx.Document()
    document.add_heading("Interview PW3", level=1)  # a heading with no label: part of no turn's text
    for speaker, text in [("Interviewer", "What did you do together?"),
                          ("PW3", "We planned small steps, like going to the shop on Monday."),
                          ("PW3", "I told him how I coped with the same worries.")]:
        paragraph = document.add_paragraph()
        if bold_labels:
            paragraph.add_run(f"{speaker}:").bold = True
            paragraph.add_run(f" {text}")
        else:
            paragraph.add_run(f"{speaker}: {text}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def transcripts_in_db(settings) -> int:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Transcript))
    engine.dispose()
    return count


def upload(client, files: list[tuple[str, bytes]], **form):
    return client.post("/transcripts/import", files=[("files", (n, d)) for n, d in files], data=form)


def test_import_every_format(client):
    legacy = "Interviewer: How was it?\nSP5: The café was where we met; it felt “safe” there.\n".encode("cp1252")
    rows = "transcript,speaker,role,text,start,end,site\n" \
           "A1,Facilitator,interviewer,How did it start?,0,2.5,Leeds\n" \
           "A1,Maya,supported_peer,My peer worker rang me every week.,3,6,Leeds\n" \
           "B2,Sam,peer_worker,I showed her how I plan my week.,0,4,York\n"
    jsonl = "\n".join(json.dumps(t) for t in [{"speaker": "SP9", "text": "She never judged me."},
                                              {"speaker": "SP9", "text": "I could tell her anything at all."}])
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("interviews/pw3-bold.docx", word_file(bold_labels=True))
        z.writestr("interviews/notes.pdf", b"%PDF-1.4")
        z.writestr("__MACOSX/._pw3-bold.docx", b"\x00\x05")
        z.writestr("interviews/sp9.jsonl", jsonl)
    response = upload(client, [("sp7.vtt", VTT.encode()), ("pw2.srt", SRT.encode()), ("sp5.txt", legacy),
                               ("turns.csv", rows.encode()), ("pw3-prefix.docx", word_file(bold_labels=False)),
                               ("batch.zip", bundle.getvalue())], trial_arm="intervention")
    assert response.status_code == 201, response.text
    out = response.json()
    titles = [t["title"] for t in out["transcripts"]]
    assert titles == ["sp7", "pw2", "sp5", "A1", "B2", "pw3-prefix", "pw3-bold", "sp9"]
    assert out["skipped"] == ["batch.zip/__MACOSX/._pw3-bold.docx", "batch.zip/interviews/notes.pdf"]
    assert all(t["trial_arm"] == "intervention" for t in out["transcripts"])
    by_title = {t["title"]: client.get(f"/transcripts/{t['id']}").json() for t in out["transcripts"]}

    vtt = by_title["sp7"]
    assert vtt["extra"] == {"source_file": "sp7.vtt", "source_format": "vtt"}
    said = [(s["speaker"], s["role"], s["time_start"], s["time_end"]) for s in vtt["segments"]]
    # SP7's two cues are one turn, and each sentence keeps its own cue's times.
    assert said == [("Interviewer", "interviewer", 1.0, 4.5), ("SP7", "supported_peer", 5.0, 9.25),
                    ("SP7", "supported_peer", 9.5, 12.0)]
    srt = by_title["pw2"]
    assert [(s["speaker"], s["time_start"]) for s in srt["segments"]] == [
        ("PW2", 1.0), ("PW2", 3.5), ("Interviewer", 62.0)]
    assert srt["segments"][1]["text"] == "It helped her open up about how she felt."
    assert by_title["sp5"]["segments"][1]["text"] == "The café was where we met; it felt “safe” there."
    table = by_title["A1"]
    assert table["site"] == "Leeds" and [s["role"] for s in table["segments"]] == ["interviewer", "supported_peer"]
    assert table["segments"][1]["time_start"] == 3.0
    assert by_title["B2"]["segments"][0]["role"] == "peer_worker"
    for name in ("pw3-bold", "pw3-prefix"):
        segments = by_title[name]["segments"]
        assert [s["speaker"] for s in segments] == ["Interviewer", "PW3", "PW3"], name
        assert segments[1]["text"] == "We planned small steps, like going to the shop on Monday."
        assert segments[1]["suggestions"]  # coded like any transcript
    assert [s["text"] for s in by_title["sp9"]["segments"]] == ["She never judged me.",
                                                                "I could tell her anything at all."]


def test_a_bad_file_stores_nothing_and_is_named(client, settings):
    bad_srt = SRT.replace("00:00:03,500 --> 00:00:06,000", "00:00:03,500 --> later")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("good.txt", "SP1: This one is fine to read.\n")
        z.writestr("broken.srt", bad_srt)
    response = upload(client, [("fine.vtt", VTT.encode()), ("batch.zip", bundle.getvalue()),
                               ("turns.csv", b"who,words\nA,hello there\n"), ("fake.docx", b"not a zip at all"),
                               ("scan.pdf", b"%PDF"), ("bad.jsonl", b'{"speaker": "A", "text": "fine"}\n[1, 2]\n'),
                               ("empty.txt", b"   \n")])
    assert response.status_code == 422
    body = response.json()
    assert "nothing was stored" in body["detail"]
    assert body["problems"] == [
        "batch.zip/broken.srt, line 6: cannot read the cue timing '00:00:03,500 --> later'",
        "turns.csv, line 1: the header needs the columns speaker, text (one turn a row); it has who, words",
        "fake.docx: not a readable Word (.docx) file (BadZipFile)",
        "scan.pdf: unsupported file type .pdf; use one of .txt, .json, .docx, .vtt, .srt, .csv, .jsonl, .zip",
        "bad.jsonl, line 2: each line is one JSON object (a turn)",
        "empty.txt: the file is empty",
    ]
    assert transcripts_in_db(settings) == 0
    no_vtt_header = upload(client, [("x.vtt", VTT.replace("WEBVTT", "").encode())])
    assert no_vtt_header.json()["problems"] == ["x.vtt, line 1: a WebVTT file starts with 'WEBVTT'"]
    binary = upload(client, [("x.txt", b"\x00\x01\x02binary")])
    assert binary.json()["problems"] == ["x.txt: this looks like a binary file, not text"]
    assert transcripts_in_db(settings) == 0


def test_times_that_are_no_time_in_a_recording_are_refused_and_nothing_is_stored(client, settings):
    """Absurd caption timings (minute 61, a 20-digit hour, cues out of order) and turn times (negative, past
    100 hours, ending before they start) were once stored as they came: each is refused with its line."""
    late = VTT.replace("00:00:05.000 --> 00:00:09.250", "00:61:05.000 --> 00:61:09.250")
    huge = VTT.replace("00:00:05.000 --> 00:00:09.250", "12345678901234567890:00:05.000 --> 00:00:09.250")
    backwards = VTT.replace("00:00:09.500 --> 00:00:12.000", "00:00:00.500 --> 00:00:00.900")
    table = "speaker,text,start,end\nSP1,Fine words.,10,5\n"
    no_hours = VTT.replace("00:00:05.000 --> 00:00:09.250", "75:00.000 --> 75:05.000")
    response = upload(client, [("late.vtt", late.encode()), ("huge.vtt", huge.encode()),
                               ("backwards.vtt", backwards.encode()), ("turns.csv", table.encode()),
                               ("nan.jsonl", b'{"speaker": "SP1", "text": "Fine.", "start": "nan"}\n'),
                               ("long.json", json.dumps({"turns": [{"speaker": "SP1", "text": "Fine.",
                                                                    "start": 360001}]}).encode()),
                               ("no-hours.vtt", no_hours.encode()),
                               ("huge.json", b'[{"speaker": "SP1", "text": "Fine.", "start": 1' + b"0" * 400 + b"}]"),
                               ("huge.jsonl", b'{"speaker": "SP1", "text": "Fine.", "end": 1' + b"0" * 400 + b"}\n"),
                               ("bool.jsonl", b'{"speaker": "SP1", "text": "Fine.", "start": true}\n'),
                               ("underscore.csv", b"speaker,text,start\nSP1,Fine.,1_000\n")])
    assert response.status_code == 422
    assert response.json()["problems"] == [
        "late.vtt, line 6: minutes and seconds run from 00 to 59 in the cue timing '00:61:05.000 --> 00:61:09.250'",
        "huge.vtt, line 6: cannot read the cue timing '12345678901234567890:00:05.000 --> 00:00:09.250'",
        "backwards.vtt, line 9: this cue starts at 00:00:00.500, before the cue above it; caption cues must be in "
        "time order",
        "turns.csv, line 2: the turn ends (5.0) before it starts (10.0)",
        "nan.jsonl, line 1: start 'nan' is not a number of seconds",
        "long.json: turns[0] start 360001 is not a time in a recording (0 to 360000 seconds)",
        "no-hours.vtt, line 6: minutes and seconds run from 00 to 59 in the cue timing '75:00.000 --> 75:05.000'",
        "huge.json: turns[0] start 10000000000000000000… (401 characters) is not a time in a recording (0 to "
        "360000 seconds)",
        "huge.jsonl, line 1: end inf is not a time in a recording (0 to 360000 seconds)",
        "bool.jsonl, line 1: start True is not a number of seconds",
        "underscore.csv, line 2: start '1_000' is not a number of seconds",
    ]
    posted = client.post("/transcripts", json={"turns": [{"speaker": "SP1", "text": "Fine.", "start": 9,
                                                          "end": 2}]})
    assert posted.status_code == 422 and "ends (2.0) before it starts (9.0)" in posted.text
    assert transcripts_in_db(settings) == 0


def test_utf8_damaged_in_places_is_refused_not_read_as_another_encoding(client, settings):
    damaged = VTT.replace("She came", "She’s “fine” at the café, \udcff came").encode("utf-8", "surrogateescape")
    at = damaged.index(b"\xff")
    # One UTF-8 apostrophe, one Windows-1252 one: two encodings pasted together (was stored as "it窶冱").
    mixed = "SP1: She said it’s fine.\n".encode() + "SP1: And it’s fine too.\n".encode("cp1252")
    response = upload(client, [("damaged.vtt", damaged), ("mixed.txt", mixed)])
    assert response.status_code == 422
    assert response.json()["problems"] == [
        f"damaged.vtt, line 7: not valid UTF-8 (byte {at}), though it has UTF-8 characters elsewhere "
        "(damaged, or two encodings mixed); save it as UTF-8",
        "mixed.txt, line 2: not valid UTF-8 (byte 38), though it has UTF-8 characters elsewhere "
        "(damaged, or two encodings mixed); save it as UTF-8"]
    assert transcripts_in_db(settings) == 0
    # Windows-1252 is read as such: with a UTF-8 pair in it by chance ("É’" is 0xC9 0x92), and where a guess
    # of the encoding took short English text with Spanish names for Central European ("Seńora Muńoz").
    legacy = ["SP5: We met at CAFÉ’S on the corner; it felt “safe” there, and the café was quiet.\n",
              "SP1: I told Señora Muñoz I’d try again, and she said “good”.\n",
              "SP1: I’d say it cost £5 a week, naïvely, at 10°C.\n"]
    response = upload(client, [(f"legacy{n}.txt", text.encode("cp1252")) for n, text in enumerate(legacy)])
    assert response.status_code == 201, response.text
    for text, made in zip(legacy, response.json()["transcripts"], strict=True):
        stored = client.get(f"/transcripts/{made['id']}").json()
        assert stored["text"].strip() == text.strip()
