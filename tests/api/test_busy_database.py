"""A write that waits too long for another one (a long deletion or re-code) gets 503 with Retry-After and
changes nothing; the same request works once the other write is done. On SQLite and on PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from app.main import create_app
from tests.conftest import add_user

TURNS = [{"speaker": "SP1", "text": "We set a goal that I would get out of the house twice a week."}]


@pytest.fixture
def impatient(settings, embedder):
    with TestClient(create_app(settings.model_copy(update={"db_busy_seconds": 0.5}), embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        yield client


def test_a_busy_database_answers_503_with_retry_after(impatient, database_url):
    out = impatient.post("/transcripts", json={"turns": TURNS}).json()
    segment = out["segments"][0]["id"]
    other = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with other.connect() as holder:  # another long write holds the lock
        if database_url.startswith("sqlite"):
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.exec_driver_sql("BEGIN")
            holder.exec_driver_sql("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        busy = impatient.post(f"/segments/{segment}/decisions", json={"action": "add", "code": "1.1"})
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "5" and "try again" in busy.json()["detail"]
        holder.exec_driver_sql("ROLLBACK")
    other.dispose()
    done = impatient.post(f"/segments/{segment}/decisions", json={"action": "add", "code": "1.1"})
    assert done.status_code == 201
    assert len(impatient.get(f"/transcripts/{out['id']}/decisions").json()) == 1  # the refused one left nothing
