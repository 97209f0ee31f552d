"""Files a browser fetches on its own: every one the pages name answers."""

import re

LINKED = re.compile(r'<(?:link|script)[^>]+(?:href|src)="(/static/[^"]+)"')
PAGES = ["/", "/newsletters/explaining-ukraine", "/newsletters/explaining-ukraine/embed"]


def test_favicon_is_served(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_every_file_a_page_links_is_there(client):
    for page in [*PAGES, "/admin/login"]:
        html = client.get(page).text
        linked = LINKED.findall(html)
        assert any("favicon" in path for path in linked), page
        for path in linked:
            with client.get(path) as response:
                assert response.status_code == 200, (page, path)
