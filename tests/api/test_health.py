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
