"""Agreement statistics against published worked examples, and the units as methodologists define them: every
codable sentence of the transcripts both coders finished, a blank sentence a 0 for every code, span codes on
every sentence of the span; checked against the two-coder example of docs/agreement.md, computed by hand."""

import math

import pytest

from app.db import decisions as db
from app.db import store
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.errors import Forbidden
from app.services import accounts, progress
from app.services.agreement import Work, alpha, compare, gather, kappa, percent, table
from app.services.sentences import Sentences
from app.services.visibility import Visibility

NAN = math.nan


def test_alpha_matches_krippendorffs_worked_example():
    """Krippendorff (2011), 'Computing Krippendorff's Alpha-Reliability', nominal data, 4 observers, 12 units,
    with missing values: alpha = 0.743."""
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN]]
    assert alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_alpha_matches_the_encyclopedia_example():
    """The 3-coder, 15-unit example with missing values in the Krippendorff's alpha article: nominal 0.691."""
    data = [[NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
            [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
            [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4]]
    assert alpha(data) == pytest.approx(0.691, abs=5e-4)


def test_kappa_worked_example_and_undefined_cases():
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert kappa(a, b) == pytest.approx(0.4) and percent(a, b) == pytest.approx(0.7)
    assert kappa([0, 0, 0], [0, 0, 0]) is None and percent([0, 0, 0], [0, 0, 0]) == 1.0
    assert kappa([], []) is None and percent([], []) is None
    assert alpha([[1, 1], [1, 1]]) is None


# The worked example of docs/agreement.md: transcripts 1 (sentences 1-6) and 2 (sentences 7-10) are finished
# by both coders; codes 1.1, 1.2, 3.1; "-" is a sentence the coder left blank.
#
#   sentence   1    2    3    4         5    6    7    8    9    10
#   alice      1.1  1.1  1.2  1.2,3.1   -    3.1  -    -    1.1  -
#   bob        1.1  -    1.2  1.2       3.1  3.1  -    -    1.1  -      (bob's 1.2 is one span over 3-4)
EXAMPLE_ALICE = {1: {"1.1"}, 2: {"1.1"}, 3: {"1.2"}, 4: {"1.2", "3.1"}, 6: {"3.1"}, 9: {"1.1"}}
EXAMPLE_BOB = {1: {"1.1"}, 3: {"1.2"}, 4: {"1.2"}, 5: {"3.1"}, 6: {"3.1"}, 9: {"1.1"}}

# Code 1.1, the 2x2 table over the 10 sentences: both 2 (1, 9), alice only 1 (2), bob only 0, neither 7.
#   p_o = (2 + 7) / 10 = 0.9; p_e = 0.3 * 0.2 + 0.7 * 0.8 = 0.62; kappa = (0.9 - 0.62) / (1 - 0.62) = 0.28 / 0.38
# Code 1.2: both 2, neither 8: kappa = 1.
# Code 3.1: both 1 (6), alice only 1 (4), bob only 1 (5), neither 7:
#   p_o = 0.8; p_e = 0.2 * 0.2 + 0.8 * 0.8 = 0.68; kappa = 0.12 / 0.32 = 0.375
KAPPA = {"1.1": 0.28 / 0.38, "1.2": 1.0, "3.1": 0.12 / 0.32}
# Krippendorff's alpha, nominal, two coders, no missing values: every unit gives n = 2N pairable values, and
#   alpha = 1 - (n - 1) * (sum of off-diagonal coincidences) / (sum over c != k of n_c * n_k)
#         = 1 - (n - 1) * 2d / (2 * n_0 * n_1) = 1 - (n - 1) * d / (n_0 * n_1)
# with d the units the two disagree on and n_1 the 1s both gave together (n_0 the 0s).
#   1.1: n = 20, d = 1, n_1 = 3 + 2 = 5, n_0 = 15: alpha = 1 - 19 * 1 / 75
#   1.2: d = 0: alpha = 1
#   3.1: n = 20, d = 2, n_1 = 4, n_0 = 16: alpha = 1 - 19 * 2 / 64
# Pooled over the 30 (sentence, code) units: n = 60, d = 3, n_1 = 5 + 4 + 4 = 13, n_0 = 47:
#   alpha = 1 - 59 * 3 / (13 * 47) = 1 - 177 / 611
ALPHA = {"1.1": 1 - 19 / 75, "1.2": 1.0, "3.1": 1 - 38 / 64}
POOLED_ALPHA = 1 - 177 / 611
# Pooled kappa over the same 30 units: both 5, alice only 2, bob only 1, neither 22:
#   p_o = 27 / 30 = 0.9; p_e = (7/30)(6/30) + (23/30)(24/30) = (42 + 552) / 900 = 0.66; kappa = 0.24 / 0.34
POOLED_KAPPA = 0.24 / 0.34
PREVALENCE = {"1.1": (0.3, 0.2), "1.2": (0.2, 0.2), "3.1": (0.2, 0.2)}


def assert_worked_example(report) -> None:
    assert report.coders == ["alice", "bob"] and report.units == 10 and report.codes == ["1.1", "1.2", "3.1"]
    assert report.alpha == pytest.approx(POOLED_ALPHA)
    (pair,) = report.pairs
    assert (pair.transcripts, pair.units) == (2, 10)
    assert pair.kappa == pytest.approx(POOLED_KAPPA) and pair.percent_agreement == pytest.approx(0.9)
    assert (pair.prevalence_a, pair.prevalence_b) == (pytest.approx(7 / 30), pytest.approx(6 / 30))
    for c in report.per_code:
        (p,) = c.pairs
        assert p.kappa == pytest.approx(KAPPA[c.code]), c.code
        assert c.alpha == pytest.approx(ALPHA[c.code]), c.code
        assert (p.prevalence_a, p.prevalence_b) == pytest.approx(PREVALENCE[c.code])
        assert c.prevalence == {"alice": pytest.approx(PREVALENCE[c.code][0]),
                                "bob": pytest.approx(PREVALENCE[c.code][1])}


def test_the_worked_example_from_ratings():
    sentences = {1: [1, 2, 3, 4, 5, 6], 2: [7, 8, 9, 10]}
    coders = {"alice": Work({1, 2}, {u: frozenset(c) for u, c in EXAMPLE_ALICE.items()}),
              "bob": Work({1, 2}, {u: frozenset(c) for u, c in EXAMPLE_BOB.items()})}
    assert_worked_example(compare(coders, sentences))


def test_a_transcript_one_coder_has_not_finished_is_left_out():
    sentences = {1: [1, 2, 3, 4, 5, 6], 2: [7, 8, 9, 10], 3: [11, 12]}
    alice = Work({1, 2, 3}, {u: frozenset(c) for u, c in EXAMPLE_ALICE.items()} | {11: frozenset({"5.1"})})
    bob = Work({1, 2}, {u: frozenset(c) for u, c in EXAMPLE_BOB.items()})
    report = compare({"alice": alice, "bob": bob}, sentences)
    assert_worked_example(report)  # 5.1, used only in transcript 3, is not among the codes compared
    assert report.transcripts == [1, 2]


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'agreement.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def _transcript(session, sentences: int, interviewer_first: bool = False) -> list[int]:
    """A transcript of one turn of `sentences` sentences (after an interviewer's, skipped); segment ids."""
    rows, position = [], 0
    if interviewer_first:
        rows.append(dict(position=0, turn_index=0, sentence_index=0, speaker="Interviewer", role="interviewer",
                         char_start=0, char_end=10, text="Question?", skip_reason="interviewer"))
        position = 1
    for n in range(sentences):
        rows.append(dict(position=position + n, turn_index=1, sentence_index=n, speaker="SP1",
                         role="supported_peer", char_start=20 * n, char_end=20 * n + 19, text=f"Sentence {n}."))
    transcript = store.add_transcript(session, fields={"source_format": "text", "text": "..."}, segments=rows)
    return [s.id for s in transcript.segments if s.skip_reason is None]


def test_the_worked_example_from_the_database(session):
    """Real decisions replayed: bob's 1.2 is one span over sentences 3-4; alice rejects a suggestion on
    sentence 7 and leaves only a memo on 8 (both still blank, still units); transcript 3, which bob has not
    finished, is left out and listed; an interviewer's sentence is never a unit."""
    users = {n: accounts.add_user(session, n, role).user for n, role in
             [("alice", "coder"), ("bob", "coder"), ("ada", "admin"), ("cy", "coder")]}
    t1 = _transcript(session, 6, interviewer_first=True)
    t2 = _transcript(session, 4)
    t3 = _transcript(session, 2)
    unit = dict(zip(range(1, 11), t1 + t2, strict=True))
    rows = []

    def add(who: str, segment: int, code: str, end: int | None = None, action: str = "add", memo=None) -> None:
        tid = 1 if segment in t1 else 2 if segment in t2 else 3
        rows.append(dict(transcript_id=tid, segment_id=segment, end_segment_id=end, coder_id=users[who].id,
                         action=action, code_id=code, memo=memo))

    for n, codes in EXAMPLE_ALICE.items():
        for code in sorted(codes):
            add("alice", unit[n], code)
    add("alice", unit[5], "1.1")
    add("alice", unit[5], "1.1", action="remove")  # taken back: sentence 5 is blank for alice
    add("alice", unit[7], None, action="reject")
    add("alice", unit[8], None, action="memo", memo="not sure")
    for n, codes in EXAMPLE_BOB.items():
        for code in sorted(codes - {"1.2"}):
            add("bob", unit[n], code)
    add("bob", unit[3], "1.2", end=unit[4])
    add("alice", t3[0], "5.1")
    add("bob", t3[1], "5.1")
    db.add_decisions(session, rows=rows)
    session.commit()
    for tid in (1, 2, 3):
        progress.mark(session, users["alice"], tid)
    for tid in (1, 2, 3):
        progress.mark(session, users["bob"], tid)
    progress.mark(session, users["bob"], 3, finished=False)  # reopened: the newest mark holds

    everyone = Visibility.everyone()
    found = gather(session, everyone, None)
    report = compare(**found)
    assert_worked_example(report)
    assert report.unfinished == {"bob": [3]} and report.model == []  # no suggestion runs: no model line
    assert found["sentences"][1] == t1  # the interviewer's sentence is not a unit
    text = table(report)
    assert "alice / bob" in text and f"{POOLED_KAPPA:.3f}" in text and "90.0" in text
    assert "Left out, not marked finished: bob: transcript 3" in text

    # Narrowed to one transcript, and to named coders; a coder who finished nothing is compared on nothing.
    assert compare(**gather(session, everyone, [2])).units == 4
    narrowed = compare(**gather(session, everyone, None, ["alice", "cy"]))
    assert narrowed.units == 0 and narrowed.pairs[0].units == 0 and narrowed.alpha is None
    # Under blind coding a coder may not compare; an admin may.
    with pytest.raises(Forbidden):
        gather(session, Visibility(users["cy"], blind=True), None)
    assert_worked_example(compare(**gather(session, Visibility(users["ada"], blind=True), None)))


def test_a_span_counts_on_each_codable_sentence_it_covers(session):
    """A span over three sentences whose middle one is a skipped fragment: its code is on the other two."""
    rows = [dict(position=n, turn_index=0, sentence_index=n, speaker="SP1", role="supported_peer",
                 char_start=10 * n, char_end=10 * n + 9, text=text, skip_reason=skip)
            for n, (text, skip) in enumerate([("We planned it.", None), ("Yeah.", "fragment"),
                                              ("Then we did it.", None), ("Later on.", None)])]
    first, fragment, third, fourth = [s.id for s in store.add_transcript(
        session, fields={"source_format": "text", "text": "..."}, segments=rows).segments]
    session.commit()
    sentences = Sentences.load(session, None)
    assert sentences.codable == {1: [first, third, fourth]}
    assert sentences.covered(first, third) == [first, third]
    assert sentences.covered(fragment, None) == [] and sentences.covered(fourth, None) == [fourth]


def test_the_model_against_a_finished_consensus_worked_example():
    # Consensus (finished on transcript 1): sentence 1 has 1.1, sentence 2 has 1.2. The model shows 1.1 on
    # sentence 1 and 1.2 on sentence 3. Over the 4 sentences x 2 codes used: both 1 once, one each only once,
    # both 0 five times: p_o = 6/8, p_e = (2/8)(2/8) + (6/8)(6/8) = 0.625, kappa = 0.125 / 0.375 = 1/3.
    # Per code: 1.1 agrees everywhere (kappa 1); 1.2: p_o = 0.5, p_e = 0.625, kappa = -1/3.
    sentences = {1: [1, 2, 3, 4], 2: [5, 6]}
    consensus = Work({1}, {1: frozenset({"1.1"}), 2: frozenset({"1.2"})})
    model = {1: frozenset({"1.1"}), 2: frozenset(), 3: frozenset({"1.2"}), 4: frozenset(), 5: frozenset({"9.1"}),
             6: frozenset()}
    alice, bob = Work({1}, {1: frozenset({"1.1"})}), Work({1}, {1: frozenset({"1.1"})})
    report = compare({"alice": alice, "bob": bob}, sentences, model, consensus=consensus)
    pooled = report.model_consensus
    assert (pooled.a, pooled.b, pooled.transcripts, pooled.units) == ("model", "consensus", 1, 4)
    assert pooled.kappa == pytest.approx(1 / 3) and pooled.percent_agreement == pytest.approx(0.75)
    by_code = {c.code: c.model_consensus for c in report.per_code + report.model_consensus_codes}
    assert by_code["1.1"].kappa == pytest.approx(1.0) and by_code["1.2"].kappa == pytest.approx(-1 / 3)
    assert "9.1" not in by_code  # only transcript 2 has it, and its consensus is not finished
    assert [c.code for c in report.model_consensus_codes] == ["1.2"]  # no coder used 1.2
    assert "The model against the finished consensus" in table(report)
    assert compare({"alice": alice, "bob": bob}, sentences, model).model_consensus is None
