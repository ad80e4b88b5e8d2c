"""``lrstudio db upgrade|current|path``: the database behind the app."""

from __future__ import annotations

import argparse

from lrstudio.commands._common import add_db_option, db_url, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="database: upgrade its schema, show its revision or location",
                       description="upgrade: back the file up and migrate it to this lrstudio's schema "
                                   "(creates a new database). current: show its schema revision. "
                                   "path: show which database is used.")
    add_db_option(p)
    p.add_argument("action", choices=("upgrade", "current", "path"))
    p.add_argument("--no-backup", action="store_true", help="upgrade without copying the file aside first")
    p.add_argument("--json", action="store_true",
                   help='current: print {"revision", "head", "is_head", "database"} as JSON '
                        "(revision null: no lrstudio schema yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lrstudio.paths import display_db_url
    from lrstudio.storage import migrate

    url = db_url(args)
    if args.action == "path":
        print(display_db_url(url))
        return 0
    if args.action == "current":
        state = migrate.probe(url)
        if args.json:
            print_json({"revision": state.revision, "head": state.head, "is_head": state.revision == state.head,
                        "database": display_db_url(url)})
        elif state.revision is None:
            print(f"none (no lrstudio schema yet; this lrstudio's head is {state.head})")
        else:
            print(f"{state.revision}" + (" (head)" if state.revision == state.head else
                                          f" (behind head {state.head}: run `lrstudio db upgrade`)"))
        return 0
    from lrstudio.storage import open_store

    with open_store(url, backup=not args.no_backup, recover=False) as store:
        result = store.migration
    if result is None or result.from_revision == result.to_revision:
        print(f"already at {result.to_revision if result else '?'} (head); nothing to do")
    else:
        print(f"upgraded {result.from_revision or 'new database'} -> {result.to_revision}"
              + (f"; backup: {result.backup}" if result.backup else ""))
    return 0
