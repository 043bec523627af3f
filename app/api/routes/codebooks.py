"""List, read and upload codebooks; exchange them with QDA tools as REFI-QDA .qdc files."""

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import Admin, CatalogDep, SessionDep, Viewer
from app.api.media import XML, answers
from app.api.schemas.codebooks import CodebookOut, CodebookSummary, CodebookUploaded
from app.api.schemas.common import ErrorOut
from app.api.text_body import read_text_body
from app.errors import InvalidInput
from app.exchange.refi import RefiError, codebook_qdc, read_qdc

router = APIRouter(prefix="/codebooks", tags=["codebooks"])


@router.get("", response_model=list[CodebookSummary])
def list_codebooks(_: Viewer, session: SessionDep, catalog: CatalogDep) -> list:
    return [entry.__dict__ for entry in catalog.entries(session)]


@router.get("/{name}/qdc", responses={404: {"model": ErrorOut}, **answers(XML)}, response_class=Response)
def export_qdc(name: str, _: Viewer, session: SessionDep, catalog: CatalogDep) -> Response:
    """The codebook as a REFI-QDA .qdc file (NVivo, ATLAS.ti, MAXQDA import it)."""
    book = catalog.resolve(session, name, to_encode=False)
    return Response(codebook_qdc(book), media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.qdc"'})


@router.post("/qdc", status_code=201, response_model=CodebookUploaded,
             responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}})
async def import_qdc(request: Request, response: Response, _: Admin, session: SessionDep, catalog: CatalogDep,
                     name: Annotated[str, Query(description="Name to store the codebook under")]) -> dict:
    """Import a REFI-QDA .qdc codebook (a code's number is read from the start of its name)."""
    try:
        book = await run_in_threadpool(read_qdc, await request.body(), name)
    except (RefiError, ValueError) as exc:
        raise InvalidInput(f"cannot import this .qdc: {exc}") from None
    return await run_in_threadpool(_store, response, session, catalog, json.dumps(book.model_dump()))


@router.get("/{name}", response_model=CodebookOut, responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def get_codebook(name: str, _: Viewer, session: SessionDep, catalog: CatalogDep) -> dict:
    """A codebook with everything it extends merged in; `name` may combine codebooks, as in 'a+b'."""
    book = catalog.resolve(session, name, to_encode=False)
    return {"name": book.name, "version": book.version, "digest": book.digest,
            "parts": [{"name": p.name, "title": p.title, "version": p.version, "attribution": p.attribution,
                       "licence": p.licence} for p in book.parts],
            "codes": [c.model_dump() for c in book.codes],
            "leaves": [c.id for c in book.leaves],
            "background": [b.model_dump() for b in book.background],
            "background_borrowed": not book.background}


@router.post("", status_code=201, response_model=CodebookUploaded,
             responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}},
                                                        "application/json": {"schema": {"type": "object"}}}}})
async def upload_codebook(request: Request, response: Response, _: Admin, session: SessionDep,
                          catalog: CatalogDep) -> dict:
    """Upload a codebook as YAML or JSON. Same name, new content: a new version. Same content: no change."""
    text = await read_text_body(request)
    return await run_in_threadpool(_store, response, session, catalog, text)


def _store(response: Response, session: SessionDep, catalog: CatalogDep, text: str) -> dict:
    """Parse and validate (CPU work: the caller runs it in a worker thread), then store."""
    book, created = catalog.upload(session, text)
    session.commit()
    if not created:
        response.status_code = 200
    return {"name": book.name, "version": book.version, "digest": book.digest, "codes": len(book.codes),
            "leaves": len(book.leaves), "created": created}
