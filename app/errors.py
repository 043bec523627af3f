"""Domain errors, and the one table of the status codes the API and the pages answer them with (the numbers
are HTTP's; nothing else here knows about HTTP)."""


class AutocoderError(Exception):
    """Base class: a message a researcher can act on, and optional details."""

    def __init__(self, message: str, details: list | dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(AutocoderError):
    """The request is well-formed but its content cannot be used (maps to 422)."""


class NotFound(AutocoderError):
    """The thing asked for does not exist (maps to 404)."""


class Conflict(AutocoderError):
    """The request clashes with what is stored (maps to 409)."""


class UnsupportedContent(AutocoderError):
    """The body is not text of a kind we read (maps to 415)."""


class Unauthorized(AutocoderError):
    """No valid credentials were sent (maps to 401)."""


class Forbidden(AutocoderError):
    """The user is known but their role does not allow this (maps to 403)."""


class PayloadTooLarge(AutocoderError):
    """The content is over a size limit, counted while reading it (maps to 413)."""


STATUS = {InvalidInput: 422, NotFound: 404, Conflict: 409, UnsupportedContent: 415, Unauthorized: 401,
          Forbidden: 403, PayloadTooLarge: 413}


def status_of(exc: AutocoderError) -> int:
    """The status code for a domain error: its kind's in STATUS (a subclass takes its parent's), else 400."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
