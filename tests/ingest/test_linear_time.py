"""Every pattern applied to what a user sends runs in time linear in its length: the worst inputs found by an
attack on the running service (each once held every request for seconds to minutes), fed whole and timed.

A bound of a second holds on a busy 2-core machine with a wide margin: each input here took 50 s, 11 s or
over ten minutes before, and takes milliseconds now."""

import time

import pytest

from app.engine.deidentify import Deidentifier
from app.ingest.metadata import NamePattern
from app.ingest.readers import ReadError, ReadLimits, TooLarge, read_file

BOUND = 1.0  # seconds


def timed(call, *args):
    start = time.perf_counter()
    try:
        result = call(*args)
    except ReadError as exc:
        result = exc
    return result, time.perf_counter() - start


def test_a_name_pattern_of_many_wildcards_reads_a_long_name_at_once():
    pattern = NamePattern("{participant}" + "_{*}" * 6 + "_{role}")
    name = "P1" + "_x" * 90 + "y" * 20 + ".txt"  # 200 characters: read, and its role refused
    start = time.perf_counter()
    with pytest.raises(ValueError, match="neither a role"):
        pattern.fields(name)
    assert time.perf_counter() - start < BOUND
    with pytest.raises(ValueError, match="at most 8"):
        NamePattern("{participant}" + "_{*}" * 24)  # the pattern that ran for over ten minutes: refused
    assert NamePattern("{participant}_{*}_{role}.txt").fields("SP3_interview_2_SP.txt") == {
        "participant_id": "SP3", "role": "supported_peer"}


def test_de_identification_is_linear_on_the_worst_texts():
    rules = Deidentifier(ner_model="none")
    for worst in ("a." * 80_000, "a@" * 500_000, "-." * 500_000, "0" * 1_000_000, "1 " * 500_000):
        _, seconds = timed(rules.replace, worst)
        assert seconds < BOUND, (worst[:6], seconds)


def test_a_trial_id_pattern_re2_cannot_run_in_linear_time_is_refused_when_set():
    from app.config import Settings

    with pytest.raises(ValueError, match="RE2 can run"):
        Settings(deid_id_patterns=[r"(?<=ID)\d+"])
    with pytest.raises(ValueError, match="cannot be used"):
        Deidentifier([r"(a)\1"], ner_model="none")


def test_caption_tags_and_voices_are_linear():
    for cue in ("<v" + " " * 60_000, "<" * 60_000 + "x", "<v " + "<" * 30_000):
        data = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{cue}\n".encode()
        _, seconds = timed(read_file, "a.vtt", data, ReadLimits())
        assert seconds < BOUND, (cue[:4], seconds)


def test_a_caption_file_of_too_many_cues_is_refused_while_reading():
    cues = "".join(f"\n{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000 --> {i // 3600:02d}:{i // 60 % 60:02d}:"
                   f"{i % 60:02d}.500\nSP1: word {i}\n" for i in range(90_000))
    start = time.perf_counter()
    with pytest.raises(TooLarge, match="more than 80000 cues"):
        read_file("many.vtt", ("WEBVTT\n" + cues).encode(), ReadLimits())
    assert time.perf_counter() - start < 5 * BOUND  # 90,000 cues read once, not joined into a string each time
    one_speaker = read_file("ok.vtt", ("WEBVTT\n" + cues[:200_000]).encode(), ReadLimits())[0][0]
    assert len(one_speaker.turns) == 1 and one_speaker.turns[0]["text"].startswith("word 0 word 1 ")


def test_a_text_over_the_limits_is_refused_before_it_is_de_identified():
    """1.9 MB in one turn, de-identification on (names by the NER model where installed): refused at once, not
    after the rules and the entity recogniser read it all (that once held every request for 2 seconds)."""
    from app.config import Settings
    from app.engine.transcripts import TranscriptInput, segment_transcript
    from app.errors import InvalidInput

    data = TranscriptInput(text="SP1: " + "a." * 950_000, deidentify=True)
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="one turn is 1900000 characters"):
        segment_transcript(data, Settings().segmentation())
    assert time.perf_counter() - start < BOUND


def test_sentence_splitting_is_linear_on_long_runs_with_no_space():
    """spaCy's tokenizer is quadratic on one long token: 24 KB of "[" held a request for 12 s, and 18 KB of
    nested brackets for 18 s here (an attacker's run). It now reads a same-length copy with the runs broken."""
    from app.engine.segment import RoleMapper, split_sentences, tokenizable, turns_from_text

    for body in ("SP: " + " ".join(["[" * 8_000] * 3), "SP: " + "(" * 9_000 + ")" * 9_000,
                 "SP: I went home. " + "x" * 20_000 + ". Then she rang."):
        segments, seconds = timed(split_sentences, body, turns_from_text(body, RoleMapper({})))
        assert seconds < BOUND, (body[4:8], seconds)
        assert "".join(s.text for s in segments).replace(" ", "") == body[4:].replace(" ", "")  # nothing lost
    assert tokenizable("a" * 129) == ("a" * 63 + " ") * 2 + "a" and tokenizable("So I went home.") == "So I went home."
    assert tokenizable("a" * 128) == "a" * 63 + " " + "a" * 64  # never its last: the run's end stays a word


def test_a_table_time_of_100_kb_of_digits_is_refused_at_once():
    """A CSV start of 100,000 "1" and an "e": the number pattern split the digits every way it could (157 s)."""
    for cell in ("1" * 100_000 + "e", "1" * 100_000 + ".", "+" + "1" * 100_000 + ".1e"):
        result, took = timed(read_file, "t.csv", f"speaker,text,start\nSP1,Fine words.,{cell}\n".encode(),
                             ReadLimits())
        assert isinstance(result, ReadError) and took < BOUND, (cell[-3:], took)
    assert read_file("t.csv", b"speaker,text,start,end\nSP1,Fine.,1.5,2.\nSP1,More.,2.5e0,.5e1\n")[0][0].turns[1][
        "end"] == 5.0
