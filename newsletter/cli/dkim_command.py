"""``newsletter dkim dns``: the DNS record that lets mail servers check our signatures."""

import click
from flask.cli import with_appcontext

from newsletter.mail import dkim


@click.group("dkim")
def dkim_group() -> None:
    """DKIM signing of the mail we send."""


@dkim_group.command("dns")
@with_appcontext
def dns() -> None:
    """Print the TXT record to publish for the configured key (NEWSLETTER_DKIM_*)."""
    signer = dkim.app_signer()
    if signer is None:
        raise click.ClickException(
            "DKIM is off: set NEWSLETTER_DKIM_PRIVATE_KEY, NEWSLETTER_DKIM_SELECTOR "
            "and NEWSLETTER_DKIM_DOMAIN"
        )
    # One string per TXT character-string: DNS caps each at 255 bytes.
    value = signer.dns_value()
    chunks = " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))
    click.echo(f"{signer.dns_name()}. IN TXT ( {chunks} )")
