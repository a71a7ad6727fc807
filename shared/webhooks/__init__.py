"""Webhook signature schemes shared by many apps (Standard Webhooks, generic HMAC)."""
