"""Fake HTTP SMS providers, each written from its provider's public API documentation and
speaking real HTTPS on 127.0.0.1 (server.py), for the provider gateways' tests."""
