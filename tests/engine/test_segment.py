"""Speaker turns and sentences, with offsets that always point at the exact words."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import DEFAULT_ROLE_PATTERNS
from app.engine.segment import RoleMapper, document_from_turns, split_sentences, turns_from_text
from app.errors import InvalidInput

ROLES = RoleMapper(DEFAULT_ROLE_PATTERNS)

TRANSCRIPT = """Interview 7, Setting_2 (transcribed verbatim)

Interviewer: How did the sessions go? Tell me about them.
Interviewee_PW6: I'm not coming from a clinician point of view. I'm coming from a shared experience.
They open up a bit more.
I: Thanks.
SP3: She was lovely: really kind.
[00:01:02] Anna Smith: Yes. At 10:30 we met.
"""


def test_label_styles_speakers_and_roles():
    turns = turns_from_text(TRANSCRIPT, ROLES)
    assert [(t.speaker, t.role) for t in turns] == [
        ("Interviewer", "interviewer"), ("Interviewee_PW6", "peer_worker"), ("I", "interviewer"),
        ("SP3", "supported_peer"), ("Anna Smith", "other")]


def test_offsets_point_at_the_exact_words():
    segments = split_sentences(TRANSCRIPT, turns_from_text(TRANSCRIPT, ROLES))
    assert all(TRANSCRIPT[s.start:s.end] == s.text for s in segments)
    pw = [s.text for s in segments if s.speaker == "Interviewee_PW6"]
    assert pw == ["I'm not coming from a clinician point of view.", "I'm coming from a shared experience.",
                  "They open up a bit more."]  # an unlabelled line continues the turn
    assert [s.sentence_index for s in segments if s.speaker == "Interviewee_PW6"] == [0, 1, 2]
    # A colon inside a turn, and a time, are not speaker labels.
    assert "She was lovely: really kind." in [s.text for s in segments]
    assert "At 10:30 we met." in [s.text for s in segments]


def test_preamble_before_the_first_label_is_kept_in_the_text_but_not_coded():
    segments = split_sentences(TRANSCRIPT, turns_from_text(TRANSCRIPT, ROLES))
    assert not any("transcribed verbatim" in s.text for s in segments)


def test_no_labels_is_an_error_unless_a_default_speaker_is_given():
    with pytest.raises(InvalidInput, match="no speaker labels"):
        turns_from_text("Just some words. And more words.", ROLES)
    turns = turns_from_text("Just some words. And more words.", ROLES, default_speaker="SP1")
    assert [(t.speaker, t.role, t.start) for t in turns] == [("SP1", "supported_peer", 0)]


def test_mapping_and_participant_role():
    roles = RoleMapper(DEFAULT_ROLE_PATTERNS, speaker_roles={"Anna": "peer_worker"}, participant_role="supported_peer")
    assert roles.role_for("anna") == "peer_worker"
    assert roles.role_for("Respondent") == "supported_peer"  # the interview's participant
    assert roles.role_for("Interviewer") == "interviewer"
    assert roles.role_for("Bob", declared="other") == "other"
    with pytest.raises(InvalidInput, match="unknown role"):
        roles.role_for("Bob", declared="doctor")


def test_json_turns_render_to_a_text_the_offsets_index():
    text, turns = document_from_turns([
        {"speaker": "Interviewer", "text": "What helped?"},
        {"speaker": "Maria", "role": "supported_peer", "text": "Talking. She listened to me."},
    ], ROLES)
    segments = split_sentences(text, turns)
    assert text.startswith("Interviewer: What helped?\n\nMaria: Talking.")
    assert [(s.speaker, s.role, s.text) for s in segments] == [
        ("Interviewer", "interviewer", "What helped?"), ("Maria", "supported_peer", "Talking."),
        ("Maria", "supported_peer", "She listened to me.")]
    assert all(text[s.start:s.end] == s.text for s in segments)


words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["I", "PW6", "SP3", "Interviewee_PW2", "Maria"]), words),
                min_size=1, max_size=8))
def test_offsets_hold_for_any_labelled_text(turn_list):
    text = "\n".join(f"{speaker}: {said}" for speaker, said in turn_list)
    for s in split_sentences(text, turns_from_text(text, ROLES)):
        assert text[s.start:s.end] == s.text
        assert s.text == s.text.strip() and s.text


def test_run_on_sentences_are_cut_into_pieces_preferring_clause_breaks():
    run_on = ("SP2: " + " ".join(f"and then we went to place {i}," if i % 7 == 6 else f"word{i}" for i in range(200)))
    segments = split_sentences(run_on, turns_from_text(run_on, ROLES), max_words=80)
    assert all(run_on[s.start:s.end] == s.text for s in segments)
    assert all(len(s.text.split()) <= 80 for s in segments)
    assert all(s.text.endswith(",") for s in segments[:-1])  # each cut falls after a comma
    assert " ".join(s.text for s in segments) == run_on.removeprefix("SP2: ")
    assert [s.sentence_index for s in segments] == list(range(len(segments)))


def test_a_long_piece_without_commas_is_cut_at_the_word_limit():
    text = "SP2: " + " ".join(["word"] * 25)
    segments = split_sentences(text, turns_from_text(text, ROLES), max_words=10)
    assert [len(s.text.split()) for s in segments] == [10, 10, 5]


# Markers transcribers write, in the styles seen in real transcripts: kept inside their sentence.
MARKERS = ["[laughs]", "(laughs)", "[laughter]", "(Laughter)", "[inaudible]", "(inaudible)", "[crosstalk]",
           "[pause]", "(long pause)", "[sighs]", "(sighs)", "[00:12:31]", "[inaudible 00:12:31]", "[coughs]",
           "[LAUGHS]", "(pause.)", "[unclear: maybe Tuesday]"]


@pytest.mark.parametrize("marker", MARKERS)
def test_a_transcription_marker_stays_inside_its_sentence(marker):
    from app.engine.markers import without_markers

    text = (f"SP3: It was a mountain, honestly. {marker} Anyway she helped me make a list. {marker}\n"
            f"SP3: {marker} Then we rang the office. And that was that. {marker}.\n")
    sentences = [s.text for s in split_sentences(text, turns_from_text(text, ROLES))]
    if marker == "[00:12:31]":  # a time alone opens the sentence after it (it times that talk)
        assert sentences == ["It was a mountain, honestly.", f"{marker} Anyway she helped me make a list. {marker}",
                             f"{marker} Then we rang the office.", f"And that was that. {marker}."]
    else:
        assert sentences == [f"It was a mountain, honestly. {marker}", f"Anyway she helped me make a list. {marker}",
                             f"{marker} Then we rang the office.", f"And that was that. {marker}."]
    # Scoring and discovery read the words alone.
    assert [without_markers(s) for s in sentences] == [
        "It was a mountain, honestly.", "Anyway she helped me make a list.", "Then we rang the office.",
        "And that was that."]


@pytest.mark.parametrize("marker", ["[laughs]", "(laughs)", "[pause]", "[inaudible]", "(sighs)"])
def test_a_marker_glued_to_the_full_stop_still_ends_its_sentence(marker):
    text = f"SP3: It was a mountain, honestly.{marker} Anyway she helped me.{marker} \"Right,\" I said.\n"
    assert [s.text for s in split_sentences(text, turns_from_text(text, ROLES))] == [
        f"It was a mountain, honestly.{marker}", f"Anyway she helped me.{marker}", '"Right," I said.']


def test_a_timestamp_between_sentences_opens_the_next_one():
    text = ("SP3: I went home. [00:12:31] Then she rang me back.(00:12:40) We talked.[12:41] OK then.\n"
            "SP3: It was [00:13:02] a long call, and [inaudible 00:13:10] I cried. [00:13:15]\n")
    assert [s.text for s in split_sentences(text, turns_from_text(text, ROLES))] == [
        "I went home.", "[00:12:31] Then she rang me back.", "(00:12:40) We talked.", "[12:41] OK then.",
        "It was [00:13:02] a long call, and [inaudible 00:13:10] I cried. [00:13:15]"]


def test_bracketed_content_is_kept_whole_and_read():
    from app.engine.markers import without_markers

    text = "SP3: I rang my sister (the older one. Not Jo) on Sunday. We met [name] at the café.\n"
    sentences = [s.text for s in split_sentences(text, turns_from_text(text, ROLES))]
    assert sentences == ["I rang my sister (the older one. Not Jo) on Sunday.", "We met [name] at the café."]
    assert [without_markers(s) for s in sentences] == sentences  # content, not markers


def test_a_sentence_of_markers_only_is_never_coded_alone():
    from app.engine.transcripts import skip_reason

    text = "SP3: Yes. [long pause] [sighs]\nSP3: [laughs]\n"
    segments = split_sentences(text, turns_from_text(text, ROLES))
    assert [s.text for s in segments] == ["Yes. [long pause] [sighs]", "[laughs]"]
    assert skip_reason(segments[1], False, 3) == "marker"  # the transcriber's note alone
    assert skip_reason(segments[0], False, 2) == "too_short"  # one word, whatever the markers add


def test_markers_are_found_in_linear_time():
    import time

    from app.engine.markers import without_markers

    hostile = "[laughs " + "a" * 200_000 + " (pause " * 20_000
    started = time.perf_counter()
    without_markers(hostile)
    assert len(without_markers("Yes [pause] " * 100_000)) == len("Yes " * 100_000) - 1
    for body in ("Yes. [pause] (" * 20_000, "Yes.[pause] A " * 20_000, "Ok. [00:12:31] " * 20_000):
        text = "SP3: " + body + "\n"
        split_sentences(text, turns_from_text(text, ROLES))
    assert time.perf_counter() - started < 10


def test_a_transcriber_notes_line_is_not_the_participant():
    roles = RoleMapper(DEFAULT_ROLE_PATTERNS, participant_role="supported_peer")
    for label in ("Transcriber notes", "Transcriber", "Note", "Notes", "Comment", "transcription note"):
        assert roles.role_for(label) == "other", label
    assert roles.role_for("Jo") == "supported_peer" and roles.role_for("Noteworthy Nia") == "supported_peer"
    # Their lines are stored and shown, never coded; a speaker mapped to a role by the team is coded.
    from app.engine.transcripts import other_speakers, skip_reason

    text = "Transcriber notes: Background noise throughout, the participant's dog barks.\nJo: She helped me.\n"
    segments = split_sentences(text, turns_from_text(text, roles))
    assert [(s.role, skip_reason(s, False, 2)) for s in segments] == [("other", "marker"), ("supported_peer", None)]
    assert other_speakers(segments) == []  # nothing to warn about: no speaker map is needed for the notes
    mapped = RoleMapper(DEFAULT_ROLE_PATTERNS, participant_role="supported_peer",
                        speaker_roles={"Transcriber notes": "supported_peer"})
    assert skip_reason(split_sentences(text, turns_from_text(text, mapped))[0], False, 2) is None


def test_a_caption_turn_gives_each_sentence_its_own_cues_times_de_identified_or_not():
    from app.config import Settings
    from app.engine.transcripts import TranscriptInput, segment_transcript
    from app.ingest.readers import read_file

    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v SP3>I went to the group. It was hard at first.\n\n"
           "00:00:04.500 --> 00:00:09.000\n<v SP3>Some weeks I nearly didn't go. I told Maria Lopez\n\n"
           "00:00:09.500 --> 00:00:12.000\n<v SP3>and she rang me. Every time.\n")
    turns = read_file("a.vtt", vtt.encode())[0][0].turns
    for deidentify in (False, True):  # a replaced name moves the cues after it with the words
        _, _, segments = segment_transcript(TranscriptInput(turns=turns, deidentify=deidentify),
                                            Settings().segmentation())
        assert [(s.time_start, s.time_end) for s in segments] == [
            (1.0, 4.0), (1.0, 4.0), (4.5, 9.0), (4.5, 12.0), (9.5, 12.0)], deidentify
        assert segments[-1].text == "Every time." and ("[PERSON]" in segments[3].text) == deidentify


def test_a_marker_opening_a_caption_cue_opens_that_cues_sentence():
    from app.config import Settings
    from app.engine.transcripts import TranscriptInput, segment_transcript
    from app.ingest.readers import read_file

    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v SP3>I went to the group. It was hard at first.\n\n"
           "00:00:04.500 --> 00:00:09.000\n<v SP3>[laughs] Some weeks I nearly didn't go.\n\n"
           "00:00:09.500 --> 00:00:12.000\n<v SP3>Every time. [pause]\n")
    turns = read_file("a.vtt", vtt.encode())[0][0].turns
    _, _, segments = segment_transcript(TranscriptInput(turns=turns), Settings().segmentation())
    assert [s.text for s in segments] == ["I went to the group.", "It was hard at first.",
                                          "[laughs] Some weeks I nearly didn't go.", "Every time. [pause]"]
    assert [(s.time_start, s.time_end) for s in segments] == [(1.0, 4.0), (1.0, 4.0), (4.5, 9.0), (9.5, 12.0)]
    # Past the turn's first cue, where the sentence before the marker opens a cue of its own, and with two.
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v SP2>I went home.\n\n"
           "00:00:03.500 --> 00:00:05.000\n<v SP2>She rang me the next day.\n\n"
           "00:00:06.000 --> 00:00:09.000\n<v SP2>[laughs] Some weeks I nearly didn't go.\n\n"
           "00:00:10.000 --> 00:00:12.000\n<v SP2>Was it worth it?\n\n"
           "00:00:12.500 --> 00:00:14.000\n<v SP2>[laughs] [pause] Yes, every minute.\n")
    turns = read_file("b.vtt", vtt.encode())[0][0].turns
    _, _, segments = segment_transcript(TranscriptInput(turns=turns), Settings().segmentation())
    assert [(s.text, s.time_start, s.time_end) for s in segments] == [
        ("I went home.", 1.0, 3.0), ("She rang me the next day.", 3.5, 5.0),
        ("[laughs] Some weeks I nearly didn't go.", 6.0, 9.0), ("Was it worth it?", 10.0, 12.0),
        ("[laughs] [pause] Yes, every minute.", 12.5, 14.0)]
    # In plain text, with no cue to say when it was heard, a marker after a full stop stays where it was.
    text = "SP3: It was hard at first. [laughs] Some weeks I nearly didn't go."
    plain = split_sentences(text, turns_from_text(text, RoleMapper({})))
    assert [s.text for s in plain] == ["It was hard at first. [laughs]", "Some weeks I nearly didn't go."]
