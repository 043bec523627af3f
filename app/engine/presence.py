"""When a code counts as present in a transcript, from its suggestions.

A single sentence over the threshold is weak evidence: at 0.30, zero-shot suggestions marked 17 of 98 codes
present in an average development-half interview whose coders found 11.6 (precision 0.29). A code counts as
present when at least PRESENCE_MIN_SENTENCES sentences show it at or over the threshold, or one sentence shows
it at PRESENCE_STRONG_SCORE or more: on the development half, 7.9 codes per interview (precision 0.31,
recall 0.21); docs/evaluation.md.
"""

from collections.abc import Iterable

PRESENCE_MIN_SENTENCES = 2
PRESENCE_STRONG_SCORE = 0.45


def present_codes(shown: Iterable[tuple[str, float]], threshold: float) -> set[str]:
    """The codes present in one transcript, from (code, score) of every suggestion shown on its sentences."""
    counts: dict[str, int] = {}
    strongest: dict[str, float] = {}
    for code, score in shown:
        if score is None or score < threshold:
            continue
        counts[code] = counts.get(code, 0) + 1
        strongest[code] = max(strongest.get(code, 0.0), score)
    return {c for c, n in counts.items()
            if n >= PRESENCE_MIN_SENTENCES or strongest[c] >= max(PRESENCE_STRONG_SCORE, threshold)}
