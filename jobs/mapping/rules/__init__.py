"""Every rule module, imported so each registers itself in ``RULES``."""

from jobs.mapping.rules import contact, dates, numbers, privacy, regex, text, values

__all__ = ["contact", "dates", "numbers", "privacy", "regex", "text", "values"]
