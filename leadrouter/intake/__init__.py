"""Intake channels: the public helpline page and its contact form."""
