"""Email addresses in one canonical form, so that look-alikes are one account.

The local part is NFKC-normalized (a full-width ``ａ`` is ``a``, a ligature ``ﬁ`` is ``fi``);
the domain goes through IDNA (UTS #46 mapping, then the ASCII form: ``exämple.com`` is
``xn--exmple-cua.com``). Stores then compare the result case-insensitively. Every way in —
registration, login, OIDC, sharing — uses ``normalize_email``.
"""

from __future__ import annotations

import re
import unicodedata

import idna

__all__ = ["EMAIL", "InvalidEmail", "normalize_email"]

EMAIL = re.compile(r"[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,255}\.[^@\s\x00-\x1f]{1,63}")


class InvalidEmail(ValueError):
    """Not an email address this server accepts."""


def normalize_email(raw: str) -> str:
    """The canonical form of ``raw``; ``InvalidEmail`` when it is not a usable address."""
    text = unicodedata.normalize("NFKC", raw.strip())
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("an email address has the form name@domain")
    try:
        ascii_domain = idna.encode(domain.removesuffix("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise InvalidEmail("the domain of the email address is not a valid name") from None
    email = f"{local}@{ascii_domain}"
    # isprintable: DEL, zero-width and bidi controls would make look-alike accounts.
    if not EMAIL.fullmatch(email) or not email.isprintable():
        raise InvalidEmail("not a valid email address")
    return email
