"""Health and the OpenAPI documentation."""


def test_health_names_the_model_and_database(client, settings):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == settings.database_url.split(":")[0].split("+")[0]
    assert body["model"].startswith("all-MiniLM-L6-v2@")
    assert set(body["codebooks"]) >= {"bcttv1", "relational-aspects", "peer-change-model"}


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/suggest", "/transcripts", "/transcripts/plain", "/codebooks"} <= set(spec["paths"])
    plain = spec["paths"]["/transcripts/plain"]["post"]["requestBody"]["content"]
    assert "text/plain" in plain


def test_a_clone_without_the_large_model_serves_with_fast_and_says_so(settings, tmp_path, caplog):
    """The service's default encoder is EmbeddingGemma; where it was never installed the service still starts,
    on the bundled all-MiniLM-L6-v2, and says why at start and in /health."""
    import logging

    from fastapi.testclient import TestClient

    from app.main import create_app

    empty = tmp_path / "no-encoders"
    configured = settings.model_copy(update={"encoder": "embeddinggemma", "encoders_dir": empty})
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"), TestClient(create_app(configured)) as client:
        body = client.get("/health").json()
    assert body["encoder"] == "minilm" and body["model"].startswith("all-MiniLM-L6-v2@")
    assert body["encoder_fallback"] == (f"encoder embeddinggemma is not installed in {empty} (autocoder models "
                                        "install embeddinggemma); running minilm (fast) instead")
    assert body["encoder_fallback"] in caplog.text


def test_health_answers_without_the_database_and_ready_checks_it(client):
    assert client.get("/health/ready").json() == {"status": "ready", "database": client.get("/health").json()[
        "database"]}
    working = client.app.state.session_factory

    def unavailable():
        raise AssertionError("/health must not open a database session")

    client.app.state.session_factory = unavailable
    try:
        assert client.get("/health").status_code == 200
    finally:
        client.app.state.session_factory = working
