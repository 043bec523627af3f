"""Reads and writes for trained classifiers and the serving history. Callers own the transaction."""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.tables import Classifier, Decision, ServingChange, utcnow


def add_classifier(session: Session, **fields) -> Classifier:
    row = Classifier(**fields)
    session.add(row)
    session.flush()
    return row


def get_classifier(session: Session, *, classifier_id: int) -> Classifier | None:
    return session.get(Classifier, classifier_id)


def list_classifiers(session: Session, *, codebook_name: str | None = None) -> list[Classifier]:
    query = select(Classifier).order_by(Classifier.id.desc())
    if codebook_name is not None:
        query = query.where(Classifier.codebook_name == codebook_name)
    return list(session.scalars(query))


def fail_unfinished(session: Session, *, message: str) -> int:
    """Mark fits left 'training' by a stopped process as failed; how many there were."""
    result = session.execute(update(Classifier).where(Classifier.status == "training")
                             .values(status="failed", message=message, finished_at=utcnow()))
    return result.rowcount


def serving_history(session: Session, *, codebook_name: str) -> list[ServingChange]:
    query = select(ServingChange).where(ServingChange.codebook_name == codebook_name)
    return list(session.scalars(query.order_by(ServingChange.id.desc())))


def served(session: Session, *, codebook_name: str) -> ServingChange | None:
    """The newest serving change for a codebook (its classifier_id may be None: similarity alone)."""
    query = select(ServingChange).where(ServingChange.codebook_name == codebook_name)
    return session.scalars(query.order_by(ServingChange.id.desc()).limit(1)).first()


def served_everywhere(session: Session) -> list[ServingChange]:
    """The newest serving change of every codebook that has one."""
    names = session.scalars(select(ServingChange.codebook_name).distinct())
    return [change for name in sorted(names) if (change := served(session, codebook_name=name)) is not None]


def add_serving_change(session: Session, *, codebook_name: str, classifier_id: int | None, reason: str,
                       changed_by: int | None) -> ServingChange:
    row = ServingChange(codebook_name=codebook_name, classifier_id=classifier_id, reason=reason,
                        changed_by=changed_by)
    session.add(row)
    session.flush()
    return row


def last_decision_id(session: Session) -> int:
    return session.scalar(select(func.max(Decision.id))) or 0


def count_label_decisions(session: Session, *, after_id: int) -> int:
    """Decisions that confirm or correct a label (not memos) made after decision `after_id`."""
    query = select(func.count()).select_from(Decision).where(Decision.id > after_id, Decision.action != "memo")
    return session.scalar(query) or 0
