"""The store's domain: models, repositories and services. Never imports Chalice."""
