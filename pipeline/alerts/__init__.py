"""Alerts: rules over tracked events, an outbox that sends each alert once, Apprise channels."""
