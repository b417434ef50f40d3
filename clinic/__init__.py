"""Clinic booking service for Telegram: REST API, bot webhook and MiniApp over PostgreSQL."""
