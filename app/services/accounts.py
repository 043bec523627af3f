"""Users, roles and API tokens. A token is shown once, when it is made; only its SHA-256 is stored."""

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import accounts
from app.db.tables import User, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

# Each can do what the ones before it can; an adjudicator also records consensus codes from every coder's work.
ROLES = ("viewer", "coder", "adjudicator", "admin")
TOKEN_PREFIX = "bca_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class NewToken:
    user: User
    token: str  # the only time the plain token exists outside the client


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough: no dictionary to guess from, no salt needed.
    return hashlib.sha256(token.encode()).hexdigest()


def allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def require(user: User, needed: str) -> None:
    if not allows(user.role, needed):
        article = "an" if user.role[:1] in "aeiou" else "a"
        raise Forbidden(f"{user.name} is {article} {user.role}; this needs the {needed} role or above")


def _issue(session: Session, user: User) -> NewToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    accounts.add_token(session, user_id=user.id, token_hash=hash_token(token), prefix=token[:10])
    return NewToken(user, token)


def add_user(session: Session, name: str, role: str) -> NewToken:
    """A new user with a first token; commits."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise InvalidInput("a user name is 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter "
                           "or digit")
    if accounts.get_user(session, name=name):
        raise Conflict(f"user {name!r} already exists")
    try:
        new = _issue(session, accounts.add_user(session, name=name, role=role))
        session.commit()
    except IntegrityError:  # the same name added at the same moment by someone else
        session.rollback()
        raise Conflict(f"user {name!r} already exists") from None
    return new


def new_token(session: Session, name: str, *, revoke_old: bool = False) -> NewToken:
    user = accounts.get_user(session, name=name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    if revoke_old:
        accounts.revoke_tokens(session, user_id=user.id, at=utcnow())
    new = _issue(session, user)
    session.commit()
    return new


def set_active(session: Session, name: str, active: bool, by: User | None = None) -> User:
    """Activate or deactivate a user. Refused (409) when it would leave no active admin, or when an admin would
    deactivate themselves: nobody could then manage users over HTTP (the command line still can add one)."""
    user = accounts.get_user(session, name=name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    if not active and user.active and user.role == "admin":
        if by is not None and by.id == user.id:
            raise Conflict(f"{name} cannot deactivate themselves; another admin can")
        admins = [u for u in accounts.list_users(session) if u.role == "admin" and u.active]
        if len(admins) <= 1:
            raise Conflict(f"{name} is the last active admin; add another admin first")
    user.active = active
    session.commit()
    return user


def authenticate(session: Session, token: str | None) -> User:
    if not token:
        raise Unauthorized("send an API token: 'Authorization: Bearer <token>' (autocoder users add NAME)")
    user = accounts.user_for_token(session, token_hash=hash_token(token))
    if user is None:
        raise Unauthorized("this API token is unknown, revoked, or belongs to a deactivated user")
    return user
