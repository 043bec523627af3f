"""Users and tokens: admins manage them; everyone can see who they are signed in as."""

from fastapi import APIRouter

from app.api.deps import Admin, SessionDep, Viewer
from app.api.schemas.common import ErrorOut
from app.api.schemas.users import NewTokenOut, UserIn, UserOut
from app.db import accounts as db
from app.db.tables import User
from app.services import accounts

router = APIRouter(prefix="/users", tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, active=user.active, created_at=user.created_at)


@router.get("/me", response_model=UserOut)
def me(user: Viewer) -> UserOut:
    return user_out(user)


@router.get("", response_model=list[UserOut])
def list_users(_: Admin, session: SessionDep) -> list[UserOut]:
    return [user_out(u) for u in db.list_users(session)]


@router.post("", status_code=201, response_model=NewTokenOut, responses={409: {"model": ErrorOut}})
def add_user(body: UserIn, _: Admin, session: SessionDep) -> NewTokenOut:
    """A new user and their first token (shown once)."""
    new = accounts.add_user(session, body.name, body.role)
    return NewTokenOut(user=user_out(new.user), token=new.token)


@router.post("/{name}/tokens", status_code=201, response_model=NewTokenOut, responses={404: {"model": ErrorOut}})
def new_token(name: str, _: Admin, session: SessionDep, revoke_old: bool = False) -> NewTokenOut:
    new = accounts.new_token(session, name, revoke_old=revoke_old)
    return NewTokenOut(user=user_out(new.user), token=new.token)


@router.post("/{name}/deactivate", response_model=UserOut,
             responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def deactivate(name: str, admin: Admin, session: SessionDep) -> UserOut:
    """The user's tokens stop working; their decisions stay. The last active admin, and an admin's own account,
    cannot be deactivated (409)."""
    return user_out(accounts.set_active(session, name, False, by=admin))
