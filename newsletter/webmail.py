"""Well-known webmail services by address domain, for the "Open Gmail" link after a signup.

A small table in code: no network, no guess for other domains (an address on a company's
own domain gets no link, even if Google or Microsoft hosts its mail). Providers under
sanctions (mail.ru, Yandex) are left out on purpose.
"""

from typing import NamedTuple


class Webmail(NamedTuple):
    """A webmail service: the name on the link ("Open Gmail") and where the link goes."""

    name: str
    url: str


GMAIL = Webmail("Gmail", "https://mail.google.com/")
OUTLOOK = Webmail("Outlook", "https://outlook.live.com/mail/")
YAHOO = Webmail("Yahoo Mail", "https://mail.yahoo.com/")
ICLOUD = Webmail("iCloud Mail", "https://www.icloud.com/mail/")
PROTON = Webmail("Proton Mail", "https://mail.proton.me/")
GMX = Webmail("GMX", "https://www.gmx.net/")

BY_DOMAIN: dict[str, Webmail] = {
    "gmail.com": GMAIL,
    "googlemail.com": GMAIL,
    "outlook.com": OUTLOOK,
    "hotmail.com": OUTLOOK,
    "live.com": OUTLOOK,
    "msn.com": OUTLOOK,
    "yahoo.com": YAHOO,
    "ymail.com": YAHOO,
    "ukr.net": Webmail("Ukr.net", "https://mail.ukr.net/"),
    "i.ua": Webmail("I.UA", "https://mail.i.ua/"),
    "meta.ua": Webmail("META.UA", "https://webmail.meta.ua/"),
    "icloud.com": ICLOUD,
    "me.com": ICLOUD,
    "mac.com": ICLOUD,
    "proton.me": PROTON,
    "protonmail.com": PROTON,
    "pm.me": PROTON,
    "gmx.net": GMX,
    "gmx.de": GMX,
    "gmx.at": Webmail("GMX", "https://www.gmx.at/"),
    "gmx.ch": Webmail("GMX", "https://www.gmx.ch/"),
    "gmx.com": Webmail("GMX", "https://www.gmx.com/"),
    "web.de": Webmail("WEB.DE", "https://web.de/"),
    "aol.com": Webmail("AOL Mail", "https://mail.aol.com/"),
}


def webmail_for(address: str) -> Webmail | None:
    """The webmail of the address's domain, if it is a well-known one (a masked address
    will do: only the domain counts)."""
    return BY_DOMAIN.get(address.rpartition("@")[2].lower())
