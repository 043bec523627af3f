"""Security headers on every response: a Content-Security-Policy (only our own scripts, styles and images;
no framing), X-Frame-Options DENY and X-Content-Type-Options nosniff. The interactive API docs (/docs, /redoc)
load Swagger UI and ReDoc from their CDN with an inline script, so they get a policy that allows just that."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# 'unsafe-inline' styles only: the pages set no inline styles themselves, but browsers' form and htmx
# swaps may; scripts are strictly our own files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
            "https://cdn.redoc.ly; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")
DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response (errors and static files included)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope.get("path") in DOCS else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-security-policy", b"x-frame-options",
                                                b"x-content-type-options")]
                headers += [(b"content-security-policy", policy.encode()), (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
