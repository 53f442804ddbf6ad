"""The container path: server-rendered product pages, the sitemap and a health check.

A small Flask app (run by gunicorn) that reuses the catalog services of
``catalog_lambda``; CloudFront sends ``/p/*`` and ``/sitemap.xml`` here through the ALB.
"""
