"""Owner Vote domain: roster, rules, tally, the meeting record, services and storage."""

__version__ = "0.1.0"
