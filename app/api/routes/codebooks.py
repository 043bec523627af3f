"""List, read and upload codebooks."""

from fastapi import APIRouter, Request, Response

from app.api.deps import Admin, CatalogDep, SessionDep, Viewer
from app.api.schemas import CodebookOut, CodebookSummary, CodebookUploaded, ErrorOut
from app.api.text_body import read_text_body

router = APIRouter(prefix="/codebooks", tags=["codebooks"])


@router.get("", response_model=list[CodebookSummary])
def list_codebooks(_: Viewer, session: SessionDep, catalog: CatalogDep) -> list:
    return [entry.__dict__ for entry in catalog.entries(session)]


@router.get("/{name}", response_model=CodebookOut, responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def get_codebook(name: str, _: Viewer, session: SessionDep, catalog: CatalogDep) -> dict:
    """A codebook with everything it extends merged in; `name` may combine codebooks, as in 'a+b'."""
    book = catalog.resolve(session, name)
    return {"name": book.name, "version": book.version, "digest": book.digest,
            "parts": [{"name": p.name, "title": p.title, "version": p.version, "attribution": p.attribution,
                       "licence": p.licence} for p in book.parts],
            "codes": [c.model_dump() for c in book.codes],
            "leaves": [c.id for c in book.leaves]}


@router.post("", status_code=201, response_model=CodebookUploaded,
             responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}},
                                                        "application/json": {"schema": {"type": "object"}}}}})
async def upload_codebook(request: Request, response: Response, _: Admin, session: SessionDep,
                          catalog: CatalogDep) -> dict:
    """Upload a codebook as YAML or JSON. Same name, new content: a new version. Same content: no change."""
    book, created = catalog.upload(session, await read_text_body(request))
    session.commit()
    if not created:
        response.status_code = 200
    return {"name": book.name, "version": book.version, "digest": book.digest, "codes": len(book.codes),
            "leaves": len(book.leaves), "created": created}
