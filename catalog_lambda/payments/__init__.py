"""Payments: a port (:mod:`.port`) with two providers, ``stripe`` (the official SDK,
imported only on payment paths) and ``local`` (the local stack's own hosted page),
plus webhook verification in Stripe's format for both (:mod:`.webhook`)."""
