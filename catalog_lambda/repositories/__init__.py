"""Repositories: the only code that writes to the tables (one module per aggregate)."""

from catalog_lambda.repositories.products import Page, ProductRepository, fill_derived

__all__ = ["Page", "ProductRepository", "fill_derived"]
