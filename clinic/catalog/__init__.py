"""Catalog: specializations and doctors."""
