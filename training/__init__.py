"""Fitting, evaluating and versioning classifiers from coders' confirmed labels.

The package is reserved by the project layout; the learning loop (dataset from confirmed decisions, fit,
cross-validated evaluation, model registry under models/) is tracked as its own issue. Like app.engine,
it must import neither FastAPI nor SQLAlchemy: it works on plain rows and arrays.
"""
