"""``newsletter newsletters``: create, list and change newsletters."""

import functools
from collections.abc import Callable

import click
from flask.cli import with_appcontext

from newsletter import languages
from newsletter import newsletters
from newsletter.cli.common import editing
from newsletter.cli.common import newsletter_named
from newsletter.cli.common import reading
from newsletter.newsletters import InvalidNewsletter


def per_language_texts(command: Callable) -> Callable:
    """Give a command ``--name-uk``, ``--description-uk`` (one pair per language readers
    can have), passed to it as ``names`` and ``descriptions``: the languages given."""

    @functools.wraps(command)
    def with_texts(**options):
        texts = {
            field: {
                language: value
                for language in languages.LANGUAGES
                if (value := options.pop(f"{field}_{language}")) is not None
            }
            for field in ("name", "description")
        }
        return command(names=texts["name"], descriptions=texts["description"], **options)

    for language in reversed(languages.LANGUAGES):
        in_language = f"readers in {languages.LANGUAGE_NAMES[language]}"
        with_texts = click.option(
            f"--description-{language}",
            help=f"The description {in_language} see ('' for --description).",
        )(with_texts)
        with_texts = click.option(
            f"--name-{language}", help=f"The name {in_language} see ('' for --name)."
        )(with_texts)
    return with_texts


@click.group("newsletters")
def newsletters_group() -> None:
    """Create, list and change newsletters."""


@newsletters_group.command("create")
@click.option("--slug", required=True, help="Used in URLs, e.g. explaining-ukraine.")
@click.option("--name", required=True, help="Shown to readers.")
@click.option("--description", default="", help="One or two sentences for the signup page.")
@click.option("--allow-origin", "origins", multiple=True, help="A site that may embed the form.")
@click.option("--sender", default="", help="From header, e.g. 'Kate Tsurkan <kate@example.com>'.")
@click.option("--public/--private", default=True, help="Listed on the front page (default) or not.")
@click.option("--position", default=0, type=int, help="Lists show lower positions first.")
@click.option(
    "--language",
    type=click.Choice(languages.LANGUAGES),
    default=languages.ENGLISH,
    help="For readers who ask for no language we have (default: en).",
)
@click.option("--accent-color", default="", help="Its forms' and emails' colour, e.g. #0057b8.")
@click.option("--logo-url", default="", help="An https:// image shown above its name.")
@with_appcontext
@per_language_texts
def newsletters_create(
    slug: str,
    name: str,
    description: str,
    origins: tuple[str, ...],
    sender: str,
    public: bool,
    position: int,
    language: str,
    accent_color: str,
    logo_url: str,
    names: dict[str, str],
    descriptions: dict[str, str],
) -> None:
    """Create a newsletter, named and described in each language if given
    (--name-uk, --description-uk; a language without falls back to --name, --description)."""
    with editing(InvalidNewsletter) as session:
        created = newsletters.create(
            session,
            slug=slug,
            name=name,
            description=description,
            allowed_origins=origins,
            sender=sender,
            public=public,
            position=position,
            language=language,
            accent_color=accent_color,
            logo_url=logo_url,
            names=names,
            descriptions=descriptions,
        )
        click.echo(f"Created {created.slug}: {created.name}")


@newsletters_group.command("list")
@with_appcontext
def newsletters_list() -> None:
    """List the newsletters, in their order: slug, name, origins, listing, position."""
    with reading() as session:
        for item in newsletters.all_newsletters(session):
            origins = ", ".join(item.allowed_origins) or "-"
            listing = "public" if item.public else "private"
            click.echo(f"{item.slug}\t{item.name}\t{origins}\t{listing}\t{item.position}")


@newsletters_group.command("update")
@click.argument("slug")
@click.option("--name", help="New name.")
@click.option("--description", help="New description.")
@click.option("--allow-origin", "origins", multiple=True, help="Replaces the allowed origins.")
@click.option("--no-origins", is_flag=True, help="Allow no site to embed the form.")
@click.option("--sender", help="New From header ('' for the service's default).")
@click.option("--public/--private", default=None, help="List it on the front page, or not.")
@click.option("--position", type=int, help="New position (lower ones are listed first).")
@click.option(
    "--language",
    type=click.Choice(languages.LANGUAGES),
    help="New default language for readers who ask for none we have.",
)
@click.option("--accent-color", help="New colour, e.g. #0057b8 ('' for the service's).")
@click.option("--logo-url", help="New https:// logo image ('' for none).")
@with_appcontext
@per_language_texts
def newsletters_update(
    slug: str,
    name: str | None,
    description: str | None,
    origins: tuple[str, ...],
    no_origins: bool,
    sender: str | None,
    public: bool | None,
    position: int | None,
    language: str | None,
    accent_color: str | None,
    logo_url: str | None,
    names: dict[str, str],
    descriptions: dict[str, str],
) -> None:
    """Change a newsletter's name, description, their words in a language, allowed
    origins, sender, listing, position, default language, accent colour or logo."""
    if origins and no_origins:
        raise click.UsageError("--allow-origin and --no-origins contradict each other")
    with editing(InvalidNewsletter) as session:
        newsletter = newsletter_named(session, slug)
        new_origins = () if no_origins else (origins or None)
        newsletters.update(
            session,
            newsletter,
            name=name,
            description=description,
            allowed_origins=new_origins,
            sender=sender,
            public=public,
            position=position,
            language=language,
            accent_color=accent_color,
            logo_url=logo_url,
            names=names,
            descriptions=descriptions,
        )
        click.echo(f"Updated {newsletter.slug}")
