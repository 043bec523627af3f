"""Request and response models of the HTTP API, one module per route module: the bodies of
app/api/routes/<name>.py are in app/api/schemas/<name>.py (a route and its bodies are found by the same name,
and change together); common.py holds what several domains share (RequestIn, ErrorOut, Id, Timestamp, Role,
a suggested code with its evidence and span). Import from the module itself: this package re-exports nothing.
"""
