"""Bodies of /jobs (app/api/routes/jobs.py): a batch pre-coding job's state and progress."""

from pydantic import BaseModel


class JobOut(BaseModel):
    id: str
    status: str
    options: dict
    transcripts_total: int
    transcripts_done: int
    sentences_done: int
    chunks_total: int
    chunks_done: int
    errors: int
    sentences_per_second: float
    eta_seconds: float | None
    message: str | None
    files: list[str]
