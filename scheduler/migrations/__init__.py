"""Alembic migration scripts, shipped inside the package so an installed tminus can migrate."""
