"""What the OpenAPI schema says an operation answers with when it is not (only) JSON: the media types of its
200, so a client (and Schemathesis's conformance check) knows a CSV or a PNG is coming."""

CSV, NDJSON, PARQUET = "text/csv", "application/x-ndjson", "application/vnd.apache.parquet"
JSON, MARKDOWN, TEXT, ZIP = "application/json", "text/markdown", "text/plain", "application/zip"
PNG, SVG, XML = "image/png", "image/svg+xml", "application/xml"
TABLES = (CSV, NDJSON, PARQUET)  # exports.FORMATS: csv, jsonl, parquet


def answers(*media: str) -> dict:
    """`responses` entry for a 200 in each of these media types."""
    return {200: {"content": {m: {} for m in media}, "description": "Successful Response"}}
