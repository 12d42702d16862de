"""``rtlib im-admin``: users, tokens and conversations of an IM server's database.

    rtlib im-admin --db chat.sqlite add-user alice        # prints alice's token (once)
    rtlib im-admin --db chat.sqlite token alice           # a new token for alice
    rtlib im-admin --db chat.sqlite add-conv general alice bob [--kind group|direct]
    rtlib im-admin --db chat.sqlite add-member general carol
    rtlib im-admin --db chat.sqlite revoke alice [--token TOKEN]   # closes the sessions on it
    rtlib im-admin --db chat.sqlite list
    rtlib im-admin --store postgresql://im@127.0.0.1:PORT/postgres list   # a cluster's store

Tokens are shown once and stored only as SHA-256 hashes.  It is safe to run while
the server runs (SQLite WAL lets one writer and many readers share the file; on a
cluster's PostgreSQL store every gateway sees the change).  A running server re-reads
users, conversations and members within one sweep (2.5 s): a new user can log in and
an added member can send.  Revoking is seen as fast: within one sweep the server closes
(code 1008) every connection that authenticated with a revoked token.
"""

from __future__ import annotations


def register(sub) -> None:
    import argparse

    p = sub.add_parser("im-admin", help="create IM users, tokens and conversations in a server database")
    p.add_argument("--db", "--store", dest="db", required=True,
                   help="SQLite database file (created if missing), or a cluster's postgresql:// URL")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    acts.required = True
    a = acts.add_parser("add-user", help="create a user and print a token")
    a.add_argument("user")
    a = acts.add_parser("token", help="issue another token for a user")
    a.add_argument("user")
    a = acts.add_parser("revoke", help="delete every token of a user (or one, with --token)")
    a.add_argument("user")
    a.add_argument("--token", default=None, help="revoke only this token")
    a = acts.add_parser("add-conv", help="create a conversation with members")
    a.add_argument("conv")
    a.add_argument("members", nargs="*")
    a.add_argument("--kind", choices=["group", "direct"], default="group")
    a = acts.add_parser("add-member", help="add a user to a conversation")
    a.add_argument("conv")
    a.add_argument("user")
    acts.add_parser("list", help="list users and conversations")
    for a in acts.choices.values():  # --json also after the action (SUPPRESS keeps the parent's value)
        a.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from rtlib.cli import emit
    from rtlib.im.pgstore import open_store

    with open_store(args.db) as store:
        now = time.time()
        if args.action == "add-user":
            store.create_user(args.user, now)
            token = store.new_token(args.user, now)
            emit({"user": args.user, "token": token}, args.json, f"user {args.user} created; token (shown once): {token}")
        elif args.action == "token":
            token = store.new_token(args.user, now)
            emit({"user": args.user, "token": token}, args.json, f"new token for {args.user} (shown once): {token}")
        elif args.action == "revoke":
            n = store.revoke_tokens(args.user, args.token)
            emit({"user": args.user, "revoked": n}, args.json, f"revoked {n} token(s) of {args.user}")
        elif args.action == "add-conv":
            store.create_conversation(args.conv, args.members, kind=args.kind, now=now)
            members = sorted(store.members(args.conv))
            emit({"conv": args.conv, "members": members, "kind": args.kind}, args.json,
                 f"conversation {args.conv} ({args.kind}) with {', '.join(members) or 'nobody'}")
        elif args.action == "add-member":
            store.add_member(args.conv, args.user)
            emit({"conv": args.conv, "members": sorted(store.members(args.conv))}, args.json,
                 f"{args.user} added to {args.conv}")
        else:
            convs = {c: {"members": sorted(store.members(c)), "last_seq": store.last_seq(c)}
                     for c in store.conversations()}
            users = store.users()
            lines = [f"users: {', '.join(users) or '(none)'}"]
            lines += [f"  {c}: {v['last_seq']} messages; members {', '.join(v['members'])}" for c, v in convs.items()]
            emit({"users": users, "conversations": convs}, args.json, "\n".join(lines))
    return 0
