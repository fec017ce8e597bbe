"""Login in front of the dashboard, over HTTP and in real Chromium: nothing answers without
a session (pages, layout, dependencies, callbacks), the login form works and is protected
(CSRF, rate limit), logout ends the session, roles gate the console, and the security
headers are present."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from dashboard_fixtures import (
    TEST_PASSWORD,
    ServedApp,
    create_test_app,
    fixture_graph,
    login,
    make_user,
    shared_accounts,
)

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]
__all__ = ["fixture_graph"]



@pytest.fixture(scope="module")
def served(fixture_graph: Any) -> Iterator[ServedApp]:
    driver, onto, database = fixture_graph
    make_user("vera", "viewer", "RED")
    make_user("anna", "analyst", "RED")
    make_user("gary", "analyst", "GREEN")
    # a RED document in the graph: only analysts cleared RED may use the console
    driver.execute_query("MATCH (d:Document) WITH d LIMIT 1 SET d.tlp = 'RED'",
                         database_=database)
    with ServedApp(create_test_app(driver, onto, database)) as app:
        yield app


def _session(served: ServedApp, name: str, password: str = TEST_PASSWORD) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', s.get(f"{served.url}/login").text)
    assert token
    r = s.post(f"{served.url}/login", data={"csrf": token.group(1), "username": name,
                                            "password": password}, allow_redirects=False)
    assert r.status_code == 302, r.text
    return s


def _callback_payload(output: str) -> dict[str, Any]:
    return {"output": output, "outputs": {"id": "x", "property": "y"}, "inputs": [],
            "changedPropIds": [], "state": []}


# --- nothing without a session ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/documents", "/console", "/document/abc",
                                  "/assets/style.css"])
def test_pages_redirect_to_login(served: ServedApp, path: str) -> None:
    r = requests.get(served.url + path, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_favicon_answers_without_a_session_and_sets_no_cookie(served: ServedApp) -> None:
    # a favicon request that bounced to /login got a fresh session, and its CSRF token,
    # replacing the one of the login form being filled in (a failed login one run in many)
    r = requests.get(served.url + "/favicon.ico", allow_redirects=False)
    assert r.status_code == 204 and "Set-Cookie" not in r.headers
    assert '<link rel="icon" href="data:,">' in requests.get(served.url + "/login").text


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash",
                                  "/_dash-component-suites/dash/dcc/async-dropdown.js"])
def test_dash_endpoints_refuse_without_login(served: ServedApp, path: str) -> None:
    r = requests.get(served.url + path, allow_redirects=False)
    assert r.status_code == 401 and "ENISA" not in r.text


def test_callbacks_refuse_without_login(served: ServedApp) -> None:
    payload = {"output": "details.children", "outputs": {"id": "details", "property":
               "children"}, "inputs": [{"id": "graph", "property": "tapNode", "value":
               {"data": {"id": "Actor:enisa"}}}], "changedPropIds": ["graph.tapNode"],
               "state": []}
    r = requests.post(served.url + "/_dash-update-component", json=payload,
                      allow_redirects=False)
    assert r.status_code == 401 and "ENISA" not in r.text
    # a forged cookie is no session either
    r = requests.post(served.url + "/_dash-update-component", json=payload,
                      cookies={"policykg_session": "eyJ1c2VyIjoidmVyYSJ9.forged.sig"})
    assert r.status_code == 401


def test_login_page_is_public_with_headers_and_secure_cookie(served: ServedApp) -> None:
    r = requests.get(served.url + "/login")
    assert r.status_code == 200 and 'name="csrf"' in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1] \
        .split(";")[0]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert requests.get(served.url + "/assets/login.css").status_code == 200


def test_login_needs_the_csrf_token_and_the_right_password(served: ServedApp) -> None:
    s = requests.Session()
    s.get(served.url + "/login")
    r = s.post(served.url + "/login", data={"username": "vera", "password": TEST_PASSWORD},
               allow_redirects=False)
    assert r.status_code == 400  # no token
    token = re.search(r'name="csrf" value="([^"]+)"', s.get(served.url + "/login").text)
    assert token
    r = s.post(served.url + "/login", data={"csrf": token.group(1), "username": "vera",
                                            "password": "not the password"})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    assert s.get(served.url + "/_dash-layout").status_code == 401
    s = _session(served, "vera")
    layout = s.get(served.url + "/_dash-layout")
    assert layout.status_code == 200 and layout.headers["Cache-Control"] == "no-store"


def test_open_redirect_is_refused(served: ServedApp) -> None:
    s = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', s.get(served.url + "/login").text)
    assert token
    r = s.post(served.url + "/login", data={"csrf": token.group(1), "username": "vera",
                                            "password": TEST_PASSWORD,
                                            "next": "//evil.example/x"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_failed_logins_are_rate_limited(fixture_graph: Any) -> None:
    driver, onto, database = fixture_graph
    make_user("rita", "viewer", "CLEAR")
    with ServedApp(create_test_app(driver, onto, database)) as app:  # its own limiter
        s = requests.Session()
        for _ in range(5):
            token = re.search(r'name="csrf" value="([^"]+)"', s.get(app.url + "/login").text)
            assert token
            r = s.post(app.url + "/login", data={"csrf": token.group(1), "username": "rita",
                                                 "password": "guess-guess"})
            assert r.status_code == 401
        token = re.search(r'name="csrf" value="([^"]+)"', s.get(app.url + "/login").text)
        assert token
        r = s.post(app.url + "/login", data={"csrf": token.group(1), "username": "rita",
                                             "password": TEST_PASSWORD})
        assert r.status_code == 429  # even the right password waits now
        assert s.get(app.url + "/_dash-layout").status_code == 401


def test_removed_account_loses_its_session(fixture_graph: Any) -> None:
    from graph.accounts import AccountStore

    driver, onto, database = fixture_graph
    make_user("temp", "viewer", "CLEAR")
    with ServedApp(create_test_app(driver, onto, database)) as app:
        s = _session(app, "temp")
        assert s.get(app.url + "/_dash-layout").status_code == 200
        # another process (the CLI) changes the password in the same file
        AccountStore(shared_accounts().path).set_password("temp", "a-new-password")
        # cached for a few seconds at most
        for _ in range(30):
            if s.get(app.url + "/_dash-layout").status_code == 401:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the session outlived the password change")


# --- roles -----------------------------------------------------------------------------------


def _console_output(served: ServedApp, s: requests.Session) -> str:
    deps = s.get(served.url + "/_dash-dependencies").json()
    return next(d["output"] for d in deps if "cypher-results" in d["output"])


def test_viewer_and_partly_cleared_analyst_cannot_use_the_console(served: ServedApp) -> None:
    for name in ("vera", "gary"):
        s = _session(served, name)
        output = _console_output(served, s)
        r = s.post(served.url + "/_dash-update-component", json=_callback_payload(output))
        assert r.status_code == 403, name
    s = _session(served, "anna")
    r = s.post(served.url + "/_dash-update-component", json=_callback_payload(
        _console_output(served, s)))
    assert r.status_code != 403  # a RED-cleared analyst passes the gate (the payload is junk)


def test_dash_posts_must_be_json(served: ServedApp) -> None:
    s = _session(served, "vera")
    r = s.post(served.url + "/_dash-update-component",
               data={"payload": json.dumps(_callback_payload("details.children"))})
    assert r.status_code == 415


def test_browser_login_navigation_roles_and_logout(served: ServedApp, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    try:
        page.goto(served.url + "/documents")
        page.wait_for_url(re.compile(r"/login\?next=/documents"))
        page.fill("#login-name", "vera")
        page.fill("#login-password", "wrong password!")
        page.click("#login-submit")
        page.get_by_text("Wrong user name or password").wait_for()
        page.fill("#login-password", TEST_PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"/documents$"))
        page.get_by_role("heading", name=re.compile(r"Documents \(\d+\)")).wait_for()
        nav = page.locator(".nav").inner_text()
        assert "Explorer" in nav and "Console" not in nav and "Accounts" not in nav
        page.goto(served.url + "/console")
        page.locator("#refused").wait_for()
        assert "cleared for every marking" in page.locator("#refused").inner_text()
        assert page.locator("#cypher-input").count() == 0
        page.click("#logout")
        page.wait_for_url(re.compile(r"/login"))
        assert page.request.get(served.url + "/_dash-layout").status == 401
        page.goto(served.url + "/")
        page.wait_for_url(re.compile(r"/login"))
        # an analyst cleared GREEN is told why the console is closed to her
        assert login(context, served.url, "gary") == 302
        page.goto(served.url + "/console")
        page.locator("#refused").wait_for()
        assert "Console" in page.locator(".nav").inner_text()
        # an analyst cleared RED gets the console
        assert login(context, served.url, "anna") == 302
        page.goto(served.url + "/console")
        page.locator("#cypher-input").wait_for()
        assert "anna" in page.locator("#account-name").inner_text()
        assert not errors, errors
    finally:
        context.close()
