"""The administrators' accounts page (`/accounts`): who may log in, with which role and
clearance. Accounts are added, removed and given new passwords with `policykg users`; the
page lists them (never their hashes)."""

from __future__ import annotations

from dash import Dash, html

from dashboard.context import AppContext
from graph.accounts import AccountStore

PATH = "/accounts"


def layout(store: AccountStore) -> html.Div:
    users = store.list()
    rows = [html.Tr([html.Td(u.name), html.Td(u.role), html.Td(u.clearance),
                     html.Td((u.created or "")[:19].replace("T", " "))]) for u in users]
    return html.Div(
        [
            html.H2(f"Accounts ({len(users)})"),
            html.P(["Manage them on the command line: ",
                    html.Code("policykg users add NAME --role analyst --clearance GREEN"),
                    " (the password is read from standard input), ",
                    html.Code("policykg users remove NAME"), ", ",
                    html.Code("policykg users passwd NAME"), "."], className="muted"),
            html.Table([html.Thead(html.Tr([html.Th(h) for h in
                                            ("Name", "Role", "Clearance", "Created")])),
                        html.Tbody(rows)], className="table", id="accounts-table"),
        ],
        className="page accounts-page",
    )


def register_callbacks(app: Dash, app_ctx: AppContext, store: AccountStore) -> None:
    """The page is static."""
    del app, app_ctx, store
