"""Fixtures and helpers the tests share: modules with known answers, files in real formats, a loopback server."""
