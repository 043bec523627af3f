"""The HTTP layer: thin FastAPI routes over the services."""
