"""De-identification rules and entities on real interview-like text: what is replaced, what is kept."""

import pytest

from app.config import Settings
from app.engine.deidentify import DEFAULT_ID_PATTERNS, Deidentifier, ner_pipeline, nhs_number_valid
from app.engine.segment import label_spans

TEXT = """Interview with Anna Smith, 12 March 2021
[00:01:02] Interviewer: When did you first meet your peer worker?
Interviewee_PW6: I met Sarah Jones in Camberwell on 3rd of March 2020, around 2.30pm.
SP3: My number was 07700 900123 and my email anna.smith@example.org, I lived near SE5 8AZ.
SP3: PW6 told me about Interviewee_SP4 too. It was back in 2019 and she came every Tuesday.
Interviewer: I asked him on 05/06/2021 at 10:15, didn't I?
"""


def rules_only() -> Deidentifier:
    return Deidentifier(ner_model="none")


def test_rules_replace_dates_times_contacts_and_ids_but_keep_speaker_labels():
    out = rules_only().replace(TEXT, keep=label_spans(TEXT))
    lines = out.text.splitlines()
    assert lines[1] == "[00:01:02] Interviewer: When did you first meet your peer worker?"  # label and timestamp
    assert lines[2].startswith("Interviewee_PW6: ") and "on [DATE], around [TIME]." in lines[2]
    assert lines[3] == "SP3: My number was [PHONE] and my email [EMAIL], I lived near [PLACE]."
    assert lines[4] == "SP3: [ID] told me about [ID] too. It was back in [DATE] and she came every Tuesday."
    assert lines[5] == "Interviewer: I asked him on [DATE] at [TIME], didn't I?"
    assert out.counts() == {"DATE": 4, "TIME": 2, "PHONE": 1, "EMAIL": 1, "PLACE": 1, "ID": 2}
    for secret in ("2021", "07700", "example.org", "SE5", "10:15", "2.30"):
        assert secret not in out.text
    assert "Anna Smith" in out.text  # names need the entity recogniser: the rules alone miss them
    for r in out.replaced:  # offsets are of the original text
        assert TEXT[r.start:r.end].strip() and not TEXT[r.start:r.end].startswith("[")


def test_ordinary_talk_is_left_alone():
    talk = "SP3: She came with me to the housing office twice a week and we set a goal for 3 walks.\n"
    assert rules_only().replace(talk, keep=label_spans(talk)).text == talk


def test_id_patterns_come_from_the_setting():
    assert Settings().deid_id_patterns == list(DEFAULT_ID_PATTERNS)
    custom = Deidentifier([r"\bP-\d{3}\b"], ner_model="none").replace("I met P-104 and PW6.")
    assert custom.text == "I met [ID] and PW6."
    with pytest.raises(ValueError, match="not a regular expression"):
        Settings(deid_id_patterns=["(unclosed"])


@pytest.mark.skipif(ner_pipeline() is None, reason="no English spaCy pipeline installed (pip install -e '.[ner]')")
def test_entities_add_names_and_places():
    out = Deidentifier().replace(TEXT, keep=label_spans(TEXT))
    assert out.counts().get("PERSON", 0) >= 2 and "[PLACE]" in out.text
    for name in ("Anna Smith", "Sarah Jones", "Camberwell"):
        assert name not in out.text
    assert out.text.splitlines()[2].startswith("Interviewee_PW6: I met [PERSON]")


@pytest.mark.parametrize(("text", "kind"), [
    ("My NHS number is 943 476 5919.", "ID"), ("NHS no 9434765919", "ID"), ("number 943-476-5919", "ID"),
    ("NI number AB123456C", "ID"), ("my NI is ab 12 34 56 c", "ID"), ("MRN 00123456", "ID"),
    ("hospital number: A1234567", "ID"), ("we moved to ls6 2ab last year", "PLACE"),
    ("we moved to LS6 2AB last year", "PLACE"),
    ("NHS number 943.476.5919", "ID"), ("M.R.N. 00123456", "ID"), ("ring 0044 7700 900123", "PHONE"),
])
def test_uk_health_identifiers_are_replaced(text, kind):
    out = Deidentifier(ner_model="none").replace(text)
    assert f"[{kind}]" in out.text and not any(ch.isdigit() for ch in out.text)  # the identifier is gone whole


def test_ten_digits_that_fail_the_nhs_check_are_left():
    assert nhs_number_valid("9434765919") and not nhs_number_valid("9434765918")
    assert Deidentifier(ner_model="none").replace("I did 1234567890 steps").text == "I did 1234567890 steps"


@pytest.mark.skipif(ner_pipeline() is None, reason="no English spaCy pipeline installed (pip install -e '.[ner]')")
@pytest.mark.parametrize("ending", [" \n", " \r\n", "  \n"])
def test_a_replaced_name_never_joins_the_next_speakers_line(ending):
    """An entity that took the line's trailing space and line break with it merged the interviewer's next
    line into the participant's sentence (found by an attack on the running service)."""
    from app.engine.roles import DEFAULT_ROLE_PATTERNS
    from app.engine.segment import RoleMapper, split_sentences, turns_from_text

    text = f"SP3: Me and Jo Bloggs{ending}Interviewer: ok then what\nSP3: we left\n"
    out = Deidentifier().replace(text, keep=label_spans(text))
    assert out.text.splitlines()[1] == "Interviewer: ok then what"
    turns = turns_from_text(out.text, RoleMapper(DEFAULT_ROLE_PATTERNS))
    assert [t.speaker for t in turns] == ["SP3", "Interviewer", "SP3"]
    assert all("Interviewer" not in s.text for s in split_sentences(out.text, turns))
