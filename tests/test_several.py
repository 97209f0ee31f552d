"""One form for several newsletters and one confirmation for one signup (page and iframe).

The reader ticks some of the newsletters a form offers; one email names those whose
subscription waits for a confirmation, and its one button confirms exactly those.
"""

import re

import pytest
from sqlalchemy import select

from newsletter import link_tokens
from newsletter.db import database
from newsletter.models import Confirmation
from newsletter.models import SignupRequest
from newsletter.models import SubscriptionStatus
from newsletter.web import form_words
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import subscriptions
from tests.reader import text_part
from tests.several import ALL_THREE
from tests.several import BRIEFING
from tests.several import DIGEST
from tests.several import PARTNER_SITE
from tests.several import PRIVATE
from tests.several import SHARED_SITE
from tests.several import SLUG
from tests.several import add_newsletters
from tests.several import sign_up_to_several

WORDS = form_words.current()


@pytest.fixture(autouse=True)
def three_newsletters(app) -> None:
    add_newsletters(app)


def statuses(app) -> dict[str, SubscriptionStatus]:
    return {row.newsletter.slug: row.status for row in subscriptions(app)}


def checkboxes(page: str) -> dict[str, bool]:
    """The form's newsletter checkboxes: slug → ticked."""
    return {
        match.group(1): "checked" in match.group(0)
        for match in re.finditer(r'<input[^>]*name="newsletters" value="([^"]+)"[^>]*>', page)
    }


def test_the_form_offers_every_public_newsletter_by_default_in_order(client):
    page = client.get("/subscribe")
    assert page.status_code == 200
    assert checkboxes(page.text) == {SLUG: False, BRIEFING: False, DIGEST: False}
    assert "<fieldset" in page.text
    assert f'<legend class="signup__name">{WORDS.newsletters}</legend>' in page.text
    assert "The morning&#39;s news in five minutes." in page.text


def test_the_form_offers_the_newsletters_named_and_ticks_a_lone_one(client):
    assert checkboxes(client.get(f"/subscribe?newsletters={DIGEST},{SLUG}").text) == {
        SLUG: False,
        DIGEST: False,
    }
    assert checkboxes(client.get(f"/subscribe?newsletters={BRIEFING}").text) == {BRIEFING: True}


@pytest.mark.parametrize("named", ["no-such-thing", PRIVATE, f"{SLUG},nope", "Bad%00Slug"])
def test_a_page_or_frame_offering_an_unknown_or_private_newsletter_is_404(client, named):
    assert client.get(f"/subscribe?newsletters={named}").status_code == 404
    assert client.get(f"/embed?newsletters={named}").status_code == 404


def test_one_signup_one_email_whose_button_confirms_exactly_the_chosen(
    app, client, runner, mailbox
):
    response = sign_up_to_several(client, "reader@example.com", [SLUG, DIGEST])
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    text = shown_text(thanks.text)
    assert WORDS.sent_to_several.format(address="r***@example.com") in text
    assert "Explaining Ukraine with Kate Tsurkan" in text and "The Weekly Digest" in text
    assert "The Daily Briefing" not in text
    assert len(subscriptions(app)) == 0  # only recorded

    deliver(runner)
    [email] = mailbox.messages
    assert email["Subject"] == (
        "Confirm your subscription to Explaining Ukraine with Kate Tsurkan and The Weekly Digest"
    )
    assert "- Explaining Ukraine with Kate Tsurkan" in text_part(email)
    assert "- The Weekly Digest" in text_part(email)
    assert "List-Unsubscribe" not in email
    assert statuses(app) == {SLUG: "pending", DIGEST: "pending"}

    confirm = link_path(email, "/confirm/")
    assert "The Weekly Digest" in shown_text(client.get(confirm).text)
    assert statuses(app) == {SLUG: "pending", DIGEST: "pending"}  # GET changes nothing
    assert client.post(confirm).status_code == 303
    assert statuses(app) == {SLUG: "confirmed", DIGEST: "confirmed"}
    deliver(runner)
    welcomes = sorted(message["Subject"] for message in mailbox.messages[1:])
    assert welcomes == [
        "Welcome to Explaining Ukraine with Kate Tsurkan",
        "Welcome to The Weekly Digest",
    ]
    assert all("List-Unsubscribe" in message for message in mailbox.messages[1:])


def test_already_confirmed_ones_are_neither_mailed_nor_confirmed_again(
    app, client, runner, mailbox
):
    sign_up_to_several(client, "reader@example.com", [SLUG])
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    mailbox.clear()

    sign_up_to_several(client, "reader@example.com", [SLUG, BRIEFING])
    deliver(runner)
    [email] = mailbox.messages
    assert email["Subject"] == "Confirm your subscription to The Daily Briefing"
    assert "Kate Tsurkan" not in text_part(email)

    sign_up_to_several(client, "reader@example.com", [SLUG])
    deliver(runner)
    assert len(mailbox.messages) == 1  # nothing changed: nothing sent


def test_the_button_leaves_alone_what_was_unsubscribed_since(app, client, runner, mailbox):
    sign_up_to_several(client, "reader@example.com", [SLUG, BRIEFING])
    deliver(runner)
    first = link_path(mailbox.messages[0], "/confirm/")
    [briefing] = [row for row in subscriptions(app) if row.newsletter.slug == BRIEFING]
    unsubscribe = link_tokens.make_unsubscribe_token(app.config["SECRET_KEY"], briefing.public_id)
    client.post(f"/unsubscribe/{unsubscribe}")

    client.post(first)
    assert statuses(app) == {SLUG: "confirmed", BRIEFING: "unsubscribed"}


def test_a_confirm_link_sent_before_confirmations_existed_still_confirms(
    app, client, runner, mailbox
):
    """Links in emails sent by the previous release name a subscription and its round."""
    sign_up_to_several(client, "reader@example.com", [BRIEFING])
    deliver(runner)
    [subscription] = subscriptions(app)
    token = link_tokens.make_confirm_token(app.config["SECRET_KEY"], subscription.public_id, 1)

    assert "The Daily Briefing" in shown_text(client.get(f"/confirm/{token}").text)
    assert client.post(f"/confirm/{token}").status_code == 303
    assert statuses(app) == {BRIEFING: "confirmed"}


def test_renewing_an_expired_link_sends_one_email_for_the_pending_ones(
    app, client, runner, mailbox, monkeypatch
):
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 0
    sign_up_to_several(client, "reader@example.com", [SLUG, DIGEST])
    deliver(runner)
    confirm = link_path(mailbox.messages[0], "/confirm/")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1  # every link is now too old
    page = client.get(confirm)
    assert page.status_code == 410
    assert "The Weekly Digest" in shown_text(page.text)

    client.post(f"{confirm}/renew")
    deliver(runner)
    app.config["CONFIRM_TOKEN_MAX_AGE"] = 7 * 86400
    [renewed] = mailbox.messages[1:]
    assert "- The Weekly Digest" in text_part(renewed)
    client.post(link_path(renewed, "/confirm/"))
    assert statuses(app) == {SLUG: "confirmed", DIGEST: "confirmed"}


def test_the_resend_throttle_holds_per_subscription(app, client, runner, mailbox):
    """Within the interval a pending newsletter is not mailed again; a new one is."""
    sign_up_to_several(client, "reader@example.com", [SLUG])
    sign_up_to_several(client, "reader@example.com", [SLUG, DIGEST])
    deliver(runner)
    assert [message["Subject"] for message in mailbox.messages] == [
        "Confirm your subscription to Explaining Ukraine with Kate Tsurkan",
        "Confirm your subscription to The Weekly Digest",
    ]


@pytest.mark.parametrize(
    ("chosen", "error"),
    [
        ([], WORDS.choose_one),
        ([PRIVATE], WORDS.unknown_newsletter.format(slug=PRIVATE)),
        (["made-up"], WORDS.unknown_newsletter.format(slug="made-up")),
    ],
)
def test_a_form_without_a_valid_choice_says_why(app, client, chosen, error):
    response = sign_up_to_several(client, "reader@example.com", chosen)
    assert response.status_code == 422
    assert error in shown_text(response.text)
    assert 'aria-describedby="newsletters-error"' in response.text
    with app.app_context(), database(app).transaction() as session:
        assert session.scalars(select(SignupRequest)).all() == []


def test_a_newsletter_gone_private_since_the_form_was_shown_is_named(app, client):
    page = client.get(f"/subscribe?newsletters={SLUG},{PRIVATE}".replace(f",{PRIVATE}", ""))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"/subscribe?newsletters={SLUG},{PRIVATE}",
        data={"email": "reader@example.com", "newsletters": [SLUG], "csrf_token": token},
    )
    assert response.status_code == 422
    assert WORDS.unknown_newsletter.format(slug=PRIVATE) in shown_text(response.text)


def test_the_thank_you_page_without_a_valid_parameter_thanks_generically(client):
    page = client.get("/subscribed?sent_to=forged")
    assert WORDS.thanks_several in shown_text(page.text)
    single = link_tokens.make_unsubscribe_token("test secret key", "x")
    assert WORDS.thanks_several in shown_text(client.get(f"/subscribed?sent_to={single}").text)


def test_one_confirmation_per_signup_is_stored(app, client, runner):
    sign_up_to_several(client, "reader@example.com", [SLUG, BRIEFING, DIGEST])
    deliver(runner)
    with app.app_context(), database(app).transaction() as session:
        [confirmation] = session.scalars(select(Confirmation)).all()
        assert [item.subscription.newsletter.slug for item in confirmation.items] == [
            SLUG,
            BRIEFING,
            DIGEST,
        ]


# The iframe form.
FROM_OUR_FRAME = {"Sec-Fetch-Site": "same-origin"}


def frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part for part in policy.split("; ") if part.startswith("frame-ancestors"))


def test_only_origins_every_newsletter_allows_may_frame_the_form(client):
    assert frame_ancestors(client.get(f"/embed?newsletters={ALL_THREE}")) == (
        f"frame-ancestors {SHARED_SITE}"
    )
    assert frame_ancestors(client.get(f"/embed?newsletters={BRIEFING}")) == (
        f"frame-ancestors {SHARED_SITE} {PARTNER_SITE}"
    )
    # The briefing allows the partner; the digest next to it does not.
    assert frame_ancestors(client.get(f"/embed?newsletters={BRIEFING},{DIGEST}")) == (
        f"frame-ancestors {SHARED_SITE}"
    )
    assert "X-Frame-Options" not in client.get(f"/embed?newsletters={BRIEFING}").headers


def test_the_frame_form_signs_up_without_cookies(app, runner, mailbox):
    client = app.test_client(use_cookies=False)
    page = client.get(f"/embed?newsletters={ALL_THREE}").text
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/embed?newsletters={ALL_THREE}",
        data={
            "email": "reader@example.com",
            "newsletters": [BRIEFING, DIGEST],
            "form_token": token,
        },
        headers=FROM_OUR_FRAME,
    )
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert frame_ancestors(done) == f"frame-ancestors {SHARED_SITE}"
    assert "The Weekly Digest" in shown_text(done.text)
    deliver(runner)
    [email] = mailbox.messages
    client.post(link_path(email, "/confirm/"))
    assert statuses(app) == {BRIEFING: "confirmed", DIGEST: "confirmed"}


def test_the_frame_form_token_names_its_set_of_newsletters(app, client):
    page = client.get(f"/embed?newsletters={BRIEFING}").text
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/embed?newsletters={ALL_THREE}",
        data={"email": "reader@example.com", "newsletters": [SLUG], "form_token": token},
        headers=FROM_OUR_FRAME,
    )
    assert response.status_code == 422
    assert WORDS.expired in shown_text(response.text)


def test_a_frame_post_from_another_site_is_403(client):
    response = client.post(
        f"/embed?newsletters={BRIEFING}",
        data={"email": "reader@example.com", "newsletters": [BRIEFING]},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


def test_a_page_form_without_its_csrf_token_is_shown_again_with_a_fresh_one(client):
    response = client.post(
        f"/subscribe?newsletters={ALL_THREE}",
        data={"email": "reader@example.com", "newsletters": [SLUG]},
    )
    assert response.status_code == 400
    assert WORDS.expired in shown_text(response.text)
    # What the reader ticked stays ticked.
    assert checkboxes(response.text) == {SLUG: True, BRIEFING: False, DIGEST: False}
