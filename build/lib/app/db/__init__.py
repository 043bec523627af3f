"""Persistence: ORM tables, queries and writes, migrations. Imports no web or service code."""
