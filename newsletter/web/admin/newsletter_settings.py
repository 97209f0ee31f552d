"""``/admin/newsletters/new`` and ``…/<slug>/edit``: an editor creates and changes newsletters."""

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from newsletter import db
from newsletter import languages
from newsletter import newsletters
from newsletter.models import Newsletter
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.forms import NewNewsletterForm
from newsletter.web.admin.forms import NewsletterForm
from newsletter.web.admin.forms import origin_lines
from newsletter.web.admin.forms import sentence
from newsletter.web.admin.forms import text_data
from newsletter.web.admin.forms import texts_given


@bp.route("/newsletters/new", methods=["GET", "POST"])
@requires(Need.OWNER)
def new_newsletter():
    """Create a newsletter; its signup form is live as soon as it is saved."""
    form = NewNewsletterForm()
    if form.validate_on_submit():
        try:
            created = newsletters.create(db.session(), slug=form.slug.data, **_settings(form))
        except newsletters.InvalidNewsletter as error:
            return _invalid(form, error, newsletter=None)
        flash(f"Created “{created.name}”. Its signup form is live.", "success")
        return redirect(url_for("admin.subscribers", slug=created.slug), 303)
    return _form_page(form, None)


@bp.route("/newsletters/<slug>/edit", methods=["GET", "POST"])
@requires(Need.EDIT)
def edit_newsletter(newsletter: Newsletter):
    """Change a newsletter's name, description (and theirs in each language), sender, the
    sites that may embed it, and where it is listed."""
    form = NewsletterForm(
        data={
            "name": newsletter.name,
            "description": newsletter.description,
            "allowed_origins": "\n".join(newsletter.allowed_origins),
            "sender": newsletter.sender,
            "public": newsletter.public,
            "position": newsletter.position,
            "language": newsletter.language,
            "accent_color": newsletter.accent_color,
            "logo_url": newsletter.logo_url,
        }
        | text_data(newsletter)
    )
    if form.validate_on_submit():
        try:
            newsletters.update(db.session(), newsletter, **_settings(form))
        except newsletters.InvalidNewsletter as error:
            return _invalid(form, error, newsletter)
        flash("Saved.", "success")
        return redirect(url_for("admin.subscribers", slug=newsletter.slug), 303)
    return _form_page(form, newsletter)


def _settings(form: NewsletterForm) -> dict:
    """What the form says of a newsletter, as the domain takes it (the slug aside)."""
    return {
        "name": form.name.data,
        "description": form.description.data or "",
        "allowed_origins": origin_lines(form.allowed_origins.data),
        "sender": form.sender.data or "",
        "public": form.public.data,
        "position": form.position.data,
        "language": form.language.data,
        "accent_color": form.accent_color.data or "",
        "logo_url": form.logo_url.data or "",
    } | texts_given(form)


def _form_page(form: NewsletterForm, newsletter: Newsletter | None):
    """The form, with 422 when what was sent did not validate."""
    page = render_template(
        "admin/newsletter_form.html",
        form=form,
        newsletter=newsletter,
        text_languages=languages.LANGUAGES,
    )
    return page, 422 if form.errors else 200


def _invalid(form: NewsletterForm, error: Exception, newsletter: Newsletter | None):
    """The domain refused what the form let through (a slug in use, say): say why."""
    form.form_errors.append(sentence(str(error)))
    return _form_page(form, newsletter)
