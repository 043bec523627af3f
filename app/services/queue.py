"""What a coder should review next, and 'more like this'.

The queue favours the sentences whose answer teaches the model most: those where the served scores are least
sure, either whether to show a code at all (the best score sits near the threshold) or which code (the two
best scores are nearly tied). Uncertainty alone would fill the queue with near-copies of one ambiguous
phrasing, so the queue is picked greedily from the most uncertain few hundred, each pick penalised by its
similarity to the sentences already picked (maximal marginal relevance). Only the coder's own decisions
count: with blind double coding, everyone gets their own queue.

Near-empty fragments ("A bit wobbly.", "It was, yeah.") are left out: their scores are nearly tied because
they say too little to match any code, so they would top an uncertainty queue while teaching nothing. The
rule is the one the code index applies to evidence (code_index.stands_alone), so what counts as saying
enough is decided in one place.

So is small talk. The gate serves a score near 0 to a sentence it reads as no technique, so two such codes
are always "0.00 apart": a tie that says nothing. The queue draws only from sentences whose best score is
technique-like (at least NEAR_LINE of the threshold), and the tie between the two best codes counts only where
the best one is shown.
"""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from app.db import decisions as db
from app.db.tables import Segment, Suggestion, SuggestionRun, User
from app.engine.code_index import stands_alone
from app.errors import NotFound
from app.services.accounts import require
from app.services.visibility import Visibility

POOL_PER_ITEM = 10
MAX_POOL = 1000
DIVERSITY = 0.5  # weight of the similarity penalty against (rank-scaled) uncertainty
NEAR_COPY = 0.95  # a sentence this similar to one already queued teaches nothing new: it waits
NEAR_LINE = 0.5  # a best score under this share of the threshold is the gate's "no technique": not queued


@dataclass
class QueueItem:
    segment: Segment
    suggestions: list[Suggestion]
    threshold: float
    uncertainty: float
    why: str


@dataclass
class SimilarItem:
    segment: Segment
    similarity: float
    suggestions: list[Suggestion]  # its current run's, by rank
    threshold: float  # that run's (1.0 with no run: nothing reads as suggested)


def _vectors(segments: list[Segment]) -> np.ndarray:
    return np.stack([np.frombuffer(s.embedding, dtype=np.float32) for s in segments])


def uncertainty(best: float, second: float | None, threshold: float) -> tuple[float, str]:
    """1 minus the smaller of (distance of the best score from the threshold) and (margin over the runner-up)."""
    edge = abs(best - threshold)
    margin = best - second if second is not None and best >= threshold else 1.0
    if edge <= margin:
        return 1.0 - edge, f"best score {best:.2f} is {edge:.2f} from the {threshold:.2f} threshold"
    return 1.0 - margin, f"the two best codes are {margin:.2f} apart"


def pick_diverse(vectors: np.ndarray, priority: np.ndarray, limit: int, diversity: float = DIVERSITY) -> list[int]:
    """Greedy maximal marginal relevance: rows in pick order; near-copies of a pick come only after the rest."""
    chosen: list[int] = []
    closest = np.full(len(vectors), -1.0, dtype=np.float32)  # highest similarity to anything chosen
    available = np.ones(len(vectors), dtype=bool)
    for _ in range(min(limit, len(vectors))):
        value = priority - diversity * np.maximum(closest, 0.0) - 10.0 * (closest >= NEAR_COPY)
        value = np.where(available, value, -np.inf)
        row = int(np.argmax(value))
        chosen.append(row)
        available[row] = False
        closest = np.maximum(closest, vectors @ vectors[row])
    return chosen


class ReviewQueue:
    def next_for(self, session: Session, user: User, *, limit: int = 20,
                 codebook: str | None = None) -> list[QueueItem]:
        require(user, "coder")
        runs_query = select(SuggestionRun).where(SuggestionRun.current.is_(True))
        if codebook:
            runs_query = runs_query.where(SuggestionRun.codebook_name == codebook)
        runs = {r.id: r for r in session.scalars(runs_query)}
        if not runs:
            return []
        # In SQL: each undecided sentence's best code (technique-like only) beside its runner-up, the most
        # uncertain first, a few times the pool; fragments are then left out here. Reading every sentence's
        # top two into Python took 1.9 s a call with 20k sentences stored.
        size = min(MAX_POOL, limit * POOL_PER_ITEM)
        second = aliased(Suggestion)
        threshold = SuggestionRun.threshold
        edge = func.abs(Suggestion.score - threshold)
        margin = case((and_(Suggestion.score >= threshold, second.score.is_not(None)),  # as in uncertainty()
                       Suggestion.score - second.score), else_=1.0)
        query = (select(Suggestion.segment_id, Suggestion.run_id, Suggestion.score, second.score, threshold,
                        Segment.text)
                 .join(SuggestionRun, SuggestionRun.id == Suggestion.run_id)
                 .join(Segment, Segment.id == Suggestion.segment_id)
                 .outerjoin(second, and_(second.run_id == Suggestion.run_id,
                                         second.segment_id == Suggestion.segment_id, second.rank == 2))
                 .where(Suggestion.run_id.in_(runs), Suggestion.rank == 1,
                        Suggestion.score >= NEAR_LINE * threshold,  # small talk is not a question for the coder
                        Suggestion.segment_id.not_in(db.decided_by(coder_id=user.id)))
                 .order_by(case((edge <= margin, edge), else_=margin), Suggestion.segment_id)
                 .limit(size * 3))
        scored = []
        for segment_id, run_id, best, runner_up, line, text in session.execute(query):
            if stands_alone(text):
                u, why = uncertainty(best, runner_up, line)
                scored.append((u, segment_id, why, run_id))
        scored.sort(key=lambda t: (-t[0], t[1]))
        pool = scored[:size]
        if not pool:
            return []
        segments = db.segments_by_id(session, ids={t[1] for t in pool})
        pool = [t for t in pool if segments[t[1]].embedding is not None]
        priority = 1.0 - np.arange(len(pool)) / max(len(pool), 1)  # rank-scaled: the scale of a similarity
        order = pick_diverse(_vectors([segments[t[1]] for t in pool]), priority, limit)
        picked = [pool[i] for i in order]
        shown = select(Suggestion).where(Suggestion.segment_id.in_([t[1] for t in picked]),
                                         Suggestion.run_id.in_({t[3] for t in picked}))
        by_segment: dict[int, list[Suggestion]] = {}
        for s in session.scalars(shown.order_by(Suggestion.rank)):
            by_segment.setdefault(s.segment_id, []).append(s)
        return [QueueItem(segments[sid], by_segment.get(sid, []), runs[run].threshold, round(u, 4), why)
                for u, sid, why, run in picked]

    def similar(self, session: Session, user: User, segment_id: int, *, limit: int = 10,
                undecided_only: bool = False, chunk: int = 5000) -> list[SimilarItem]:
        """The coded segments of any transcript closest in meaning to this one, most similar first, each with
        its current suggestions (so its status reads as in its transcript)."""
        require(user, "viewer")
        target = db.segments_by_id(session, ids={segment_id}).get(segment_id)
        if target is None:
            raise NotFound(f"no segment with id {segment_id}")
        if target.embedding is None:
            raise NotFound(f"segment {segment_id} has no stored embedding to compare")
        vector = np.frombuffer(target.embedding, dtype=np.float32)
        skip = {segment_id}
        if undecided_only:
            skip |= Visibility(user).decided_segment_ids(session)
        best_ids, best_sims = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = (select(Segment.id, Segment.embedding)
                 .where(Segment.skip_reason.is_(None), Segment.embedding_model == target.embedding_model)
                 .execution_options(yield_per=chunk))
        for part in session.execute(query).partitions(chunk):  # a chunk at a time: memory stays flat
            rows = [(i, e) for i, e in part if i not in skip]
            if not rows:
                continue
            ids = np.array([i for i, _ in rows], dtype=np.int64)
            sims = np.stack([np.frombuffer(e, dtype=np.float32) for _, e in rows]) @ vector
            best_ids, best_sims = np.concatenate([best_ids, ids]), np.concatenate([best_sims, sims])
            keep = np.argsort(-best_sims, kind="stable")[:limit]
            best_ids, best_sims = best_ids[keep], best_sims[keep]
        found = db.segments_by_id(session, ids=set(best_ids.tolist()))
        suggested = db.current_suggestions(session, segment_ids=set(found))
        return [SimilarItem(found[int(i)], round(float(s), 4), *suggested.get(int(i), ([], 1.0)))
                for i, s in zip(best_ids, best_sims, strict=True)]
