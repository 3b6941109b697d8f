"""Code every service shares: event contracts, topics, settings, database and Kafka plumbing.

Never domain rules: those live in each service's `domain.py`.
"""
