"""Domain errors. The HTTP layer maps each to a status code; nothing here knows about HTTP."""


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
