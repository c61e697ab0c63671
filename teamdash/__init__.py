"""TeamDash core: storage, scoring, analytics, services, export. Never imports Qt."""

__version__ = "0.1.0"
