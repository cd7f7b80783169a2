"""Persistence: table definitions, column types, row values and the migration runner.

Only :mod:`scheduler.store` (and the migrations) speak SQL; everything else
imports the row values from :mod:`scheduler.db.rows`.
"""
