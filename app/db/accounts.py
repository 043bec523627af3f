"""Reads and writes of users and their API tokens. Callers own the transaction: nothing here commits."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.tables import ApiToken, User


def get_user(session: Session, *, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).first()


def users_by_id(session: Session, *, ids: set[int]) -> dict[int, User]:
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def coder_names(session: Session, decisions) -> dict[int, str]:
    """coder id -> name for everyone who made one of these decisions."""
    return {u.id: u.name for u in users_by_id(session, ids={d.coder_id for d in decisions}).values()}


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def add_user(session: Session, *, name: str, role: str) -> User:
    user = User(name=name, role=role, active=True)
    session.add(user)
    session.flush()
    return user


def add_token(session: Session, *, user_id: int, token_hash: str, prefix: str) -> ApiToken:
    token = ApiToken(user_id=user_id, token_hash=token_hash, prefix=prefix)
    session.add(token)
    session.flush()
    return token


def user_for_token(session: Session, *, token_hash: str) -> User | None:
    """The active user owning an unrevoked token with this hash."""
    query = (select(User).join(ApiToken, ApiToken.user_id == User.id)
             .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.active.is_(True)))
    return session.scalars(query).first()


def revoke_tokens(session: Session, *, user_id: int, at: datetime) -> int:
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                        ApiToken.revoked_at.is_(None))))
    for token in tokens:
        token.revoked_at = at
    session.flush()
    return len(tokens)
