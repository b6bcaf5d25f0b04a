"""Personal data in feedback text: redact contact details before they are stored.

Example:
    >>> redact_text("Mail jan.kowalski@example.pl or call +48 512 345 678 about order 5.2")
    'Mail [email] or call [phone] about order 5.2'
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,5}(?!\w)")
DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    return text if DATE_LIKE.search(text) or not 9 <= digits <= 15 else "[phone]"


def redact_text(text: str) -> str:
    """Replace e-mail addresses with ``[email]`` and phone numbers (9–15 digits) with ``[phone]``."""
    if not text:
        return text
    return PHONE.sub(_phone, EMAIL.sub("[email]", text))
