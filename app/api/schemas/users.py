"""Bodies of /users (app/api/routes/users.py): a user in and out, and a new token."""

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas.common import RequestIn, Timestamp

UserRole = Literal["viewer", "coder", "adjudicator", "admin"]


class UserIn(RequestIn):
    name: str = Field(min_length=1, max_length=100)
    role: UserRole


class UserOut(BaseModel):
    name: str
    role: UserRole
    active: bool
    created_at: Timestamp


class NewTokenOut(BaseModel):
    user: UserOut
    token: str = Field(description="Shown this once; only its hash is stored. Send as 'Authorization: Bearer …'.")
