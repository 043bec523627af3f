"""Read a request body as text, refusing binary content with a clear message."""

from fastapi import Request

from app.errors import UnsupportedContent


async def read_text_body(request: Request) -> str:
    raw = await request.body()
    if b"\x00" in raw:
        raise UnsupportedContent("the body contains NUL bytes: it looks like a binary file; send UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedContent(f"the body is not UTF-8 text (invalid byte at position {exc.start}); "
                                 "save the file as UTF-8 and send it again") from None
