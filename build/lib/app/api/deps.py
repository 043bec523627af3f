"""Dependencies injected into routes: a database session per request, the coder, the catalogue."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.services.codebooks import CodebookCatalog
from app.services.coding import Coder


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()  # services commit their own work; anything left uncommitted is discarded
        session.close()


def get_coder(request: Request) -> Coder:
    return request.app.state.coder


def get_catalog(request: Request) -> CodebookCatalog:
    return request.app.state.coder.catalog


SessionDep = Annotated[Session, Depends(get_session)]
CoderDep = Annotated[Coder, Depends(get_coder)]
CatalogDep = Annotated[CodebookCatalog, Depends(get_catalog)]
