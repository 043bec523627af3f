"""Settings come from the environment, typed and checked."""

import pytest
from pydantic import ValidationError

from app.config import Settings


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@localhost/db")
    monkeypatch.setenv("AUTOCODER_THRESHOLD", "0.4")
    monkeypatch.setenv("AUTOCODER_ROLE_PATTERNS", '{"^coach\\\\d*$": "peer_worker"}')
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u:p@localhost/db"
    assert settings.threshold == 0.4
    assert settings.role_patterns == {r"^coach\d*$": "peer_worker"}


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("AUTOCODER_ROLE_PATTERNS", '{"^x$": "doctor"}')
    with pytest.raises(ValidationError, match="unknown roles"):
        Settings()
    monkeypatch.delenv("AUTOCODER_ROLE_PATTERNS")
    monkeypatch.setenv("AUTOCODER_THRESHOLD", "1.5")
    with pytest.raises(ValidationError):
        Settings()


def test_a_slow_start_says_what_it_is_doing(caplog):
    import logging
    import time

    from app.main import still_working

    say = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.INFO, logger="uvicorn.error"), still_working(say, "encoding codebook x", every=0.05):
        time.sleep(0.3)
    beats = [r.getMessage() for r in caplog.records if r.getMessage().startswith("still encoding codebook x")]
    assert len(beats) >= 3 and beats[0].endswith("s so far)")
