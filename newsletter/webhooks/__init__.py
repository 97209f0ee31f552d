"""Outgoing webhooks: editors' endpoints per newsletter, events queued with the change that
caused them, delivered by the worker signed per Standard Webhooks (standardwebhooks.com).

``events`` queues, ``endpoints`` registers and validates, ``sender`` delivers, ``models``
holds the tables.
"""
