"""``sms-appliance``: run the service; manage users, API keys, contacts, groups, receive
connectors and the block list. Every subcommand reads the same store, except ``gateway
test``: only the running service can send, so that one asks it over /api/v1."""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import logging
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import quote

from .accounts import api_keys, users
from .config import file as config_module
from .config.file import Config, ConfigError, with_http_connector
from .connectors import receive as receive_connectors
from .messages import blocklist, contacts
from .store.db import StoreUnusable


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config file (default: built-in defaults)")
    parser.add_argument("--data", metavar="DIR", help="data directory holding the SQLite store")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sms-appliance", description="SMS Appliance: an SMS gateway.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the service")
    _common(run)
    run.add_argument("--simulate", type=int, default=0, metavar="N",
                     help="add N simulated modems (pseudo-terminals speaking AT), for trying the appliance "
                     "without modems; nothing is simulated unless asked")
    run.add_argument("--listen", metavar="HOST:PORT", help="HTTP address (default 127.0.0.1:9710)")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_set = user_commands.add_parser("set", help="create a user or change its password and role")
    _common(user_set)
    user_set.add_argument("name")
    user_set.add_argument("--password", required=True)
    user_set.add_argument("--admin", action="store_true", help="give the user administrator rights")

    key = commands.add_parser("key", help="manage API keys for the JSON API (/api/v1)")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    key_create = key_commands.add_parser("create", help="make an API key for a user; its token is shown once")
    _common(key_create)
    key_create.add_argument("user")
    key_create.add_argument("--name", default="", help="what the key is for, e.g. nagios")
    key_list = key_commands.add_parser("list", help="list API keys (never their tokens)")
    _common(key_list)
    key_list.add_argument("user", nargs="?", help="only this user's keys")
    key_revoke = key_commands.add_parser("revoke", help="revoke an API key: it stops working at once")
    _common(key_revoke)
    key_revoke.add_argument("id", type=int, help="the key's id, as key list shows it")

    contact = commands.add_parser("contact", help="manage a user's contacts (for contact-name)")
    contact_commands = contact.add_subparsers(dest="contact_command", required=True)
    contact_set = contact_commands.add_parser("set", help="create or change a contact")
    _common(contact_set)
    contact_set.add_argument("user")
    contact_set.add_argument("name")
    contact_set.add_argument("number")

    group = commands.add_parser("group", help="manage a user's groups of contacts")
    group_commands = group.add_subparsers(dest="group_command", required=True)
    group_set = group_commands.add_parser("set", help="create or replace a group with these contacts")
    _common(group_set)
    group_set.add_argument("user")
    group_set.add_argument("name")
    group_set.add_argument("members", nargs="+", metavar="CONTACT")
    _receive_connector_parsers(commands)
    _block_parsers(commands)
    _gateway_parsers(commands)
    return parser


API_KEY_VARIABLE = "SMS_APPLIANCE_API_KEY"
TEST_TIMEOUT = 90.0   # seconds: the service itself waits at most 60 s for the answer


def _gateway_parsers(commands: argparse._SubParsersAction) -> None:
    gateway = commands.add_parser("gateway", help="ask the running service about its gateways")
    gateway_commands = gateway.add_subparsers(dest="gateway_command", required=True)
    test = gateway_commands.add_parser(
        "test", help="send a test SMS through this gateway only and show the provider's or modem's answer",
        description=f"Asks the running service (POST /api/v1/gateways/NAME/test) as an administrator: with the "
                    f"API key in the environment variable {API_KEY_VARIABLE}, or with --user and the password "
                    "asked for at the prompt (never on the command line, where others could read it).")
    _common(test)
    test.add_argument("name", help="the gateway's name")
    test.add_argument("--to", required=True, metavar="NUMBER", help="the number the test SMS goes to")
    test.add_argument("--text", required=True, help="its text")
    test.add_argument("--user", help="an administrator's name; its password is asked for")
    test.add_argument("--url", help="the service's address (default: http(s)://<[http] listen>/)")


def _block_parsers(commands: argparse._SubParsersAction) -> None:
    block = commands.add_parser("block", help="manage the block list: numbers no message is sent to")
    block_commands = block.add_subparsers(dest="block_command", required=True)
    block_add = block_commands.add_parser("add", help="block a number, or with --prefix every number starting with it")
    _common(block_add)
    block_add.add_argument("number")
    block_add.add_argument("--prefix", action="store_true", help="block every number that starts with NUMBER")
    block_add.add_argument("--reason", default="", help="why, shown in the list")
    block_remove = block_commands.add_parser("remove", help="take a number off the block list")
    _common(block_remove)
    block_remove.add_argument("number")
    block_list = block_commands.add_parser("list", help="list the block list")
    _common(block_list)


def _receive_connector_parsers(commands: argparse._SubParsersAction) -> None:
    receive = commands.add_parser("receive-connector",
                                  help="manage receive connectors (other systems post received SMS to them)")
    receive_commands = receive.add_subparsers(dest="receive_command", required=True)
    receive_set = receive_commands.add_parser(
        "set", help="create or change a receive connector; a new token is printed once")
    _common(receive_set)
    receive_set.add_argument("name", help="its name, the last part of the URL /receive/NAME")
    receive_set.add_argument("--number", help="the number it stands for: the default `to` of its messages")
    receive_set.add_argument("--routing", choices=["inbox", "webhook"],
                             help="inbox: into a connector's inbox; webhook: also to a webhook connector")
    receive_set.add_argument("--target", metavar="CONNECTOR",
                             help="the connector whose inbox receives (inbox) or the webhook connector")
    receive_set.add_argument("--subject", help="a subject given to the webhook with each message")
    tokens = receive_set.add_mutually_exclusive_group()
    tokens.add_argument("--no-token", action="store_true", help="accept posts without a token")
    tokens.add_argument("--new-token", action="store_true", help="make a new token (the old one stops working)")
    receive_list = receive_commands.add_parser("list", help="list the receive connectors")
    _common(receive_list)
    receive_remove = receive_commands.add_parser("remove", help="remove a receive connector")
    _common(receive_remove)
    receive_remove.add_argument("name")


def _load_config(args: argparse.Namespace) -> Config:
    return config_module.load(args.config).with_overrides(data=args.data, listen=getattr(args, "listen", None))


def configure_logging(level: str) -> None:
    """The service's log at ``level``. peewee logs each query with its values at DEBUG: a
    PIN, a provider's token or a webhook's as they are stored, so its logger stays at
    INFO: credentials are never logged, whatever the level asked."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("peewee").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))


def _run(args: argparse.Namespace, config: Config) -> int:
    from .app.service import NoGatewayError, Service  # the web server and modem code only when running

    if args.simulate < 0:
        raise ConfigError("--simulate", "must be 0 or more")
    configure_logging(args.log_level)
    try:
        service = Service(config, simulate=args.simulate)
    except NoGatewayError:
        raise NoGatewayError(args.config or "no config file (--config FILE)") from None
    try:
        service.start()
    except ConfigError:
        service.stop()
        raise
    except (OSError, StoreUnusable) as error:
        service.stop()
        print(f"sms-appliance: cannot start: {error}", file=sys.stderr)
        return 1
    print(f"SMS Appliance is running at {service.url}", flush=True)
    if service.admin_password is not None:
        print(f"Admin login: user 'admin', password '{service.admin_password}' "
              "(shown this once; change it with: sms-appliance user set admin --password NEW --admin)",
              flush=True)
    else:
        print("Admin login: the administrator you set up; to reset its password: "
              f"sms-appliance user set admin --password NEW --admin --data {config.storage.path}", flush=True)
    service.run()
    return 0


def _in_store(config: Config, change: Callable[[], str]) -> int:
    """Run one change against the store ``run`` uses; a user's mistake is one clear line."""
    from .store.db import open_database
    from .store.models import User

    database = open_database(config.storage.path)
    try:
        print(f"{change()} (in {config.storage.path})")
        return 0
    except ValueError as error:
        print(f"sms-appliance: {error}", file=sys.stderr)
        return 2
    except User.DoesNotExist:
        print("sms-appliance: no such user: create it first with `sms-appliance user set`", file=sys.stderr)
        return 2
    finally:
        database.close()


def _user_set(args: argparse.Namespace) -> str:
    users.set_user(args.name, args.password, admin=args.admin)
    return f"{'administrator' if args.admin else 'user'} {args.name!r} saved"


def _key(args: argparse.Namespace) -> str:
    from .store.models import User
    from .web.api_v1.fields import timestamp

    if args.key_command == "create":
        key, token = api_keys.create(User.get(User.name == args.user), args.name)
        return (f"API key {key.id} for {args.user}: {token}\n"
                "(the token is shown this once; only its hash is kept)")
    if args.key_command == "list":
        owner = None if args.user is None else User.get(User.name == args.user)
        rows = [f"{k.id}\t{k.user.name}\t{k.name or '-'}\t{k.prefix}…\t{timestamp(k.created_at)}\t"
                f"{timestamp(k.last_used_at) or 'never used'}" for k in api_keys.listed(owner)]
        return "\n".join(["id\tuser\tname\tprefix\tcreated\tlast used", *rows, f"{len(rows)} key(s)"])
    if not api_keys.revoke(args.id):
        raise ValueError(f"there is no API key {args.id}: see `sms-appliance key list`")
    return f"API key {args.id} revoked"


def _contact_set(args: argparse.Namespace) -> str:
    contact = contacts.set_contact(args.user, args.name, args.number)
    return f"contact {args.name!r} of {args.user} is {contact.number}"


def _group_set(args: argparse.Namespace) -> str:
    contacts.set_group(args.user, args.name, args.members)
    return f"group {args.name!r} of {args.user}: {', '.join(args.members)}"


def _receive_connector(args: argparse.Namespace, config: Config) -> str:
    if args.receive_command == "list":
        return "\n".join(_describe(c) for c in receive_connectors.list_all()) or "no receive connectors"
    if args.receive_command == "remove":
        receive_connectors.remove(args.name)
        return f"receive connector {args.name!r} removed"
    kinds = {c.name: c.type for c in with_http_connector(config.connectors)}
    connector, token = receive_connectors.set_connector(
        args.name, kinds, number=args.number, routing=args.routing, target=args.target, subject=args.subject,
        require_token=False if args.no_token else None, generate_token=args.new_token)
    saved = f"receive connector {args.name!r} saved: {_describe(connector)}"
    if token is None:
        return saved
    return (f"{saved}\ntoken (shown this once; only its hash is kept): {token}\n"
            f"post with the header 'Authorization: Bearer {token}'")


def _block(args: argparse.Namespace, config: Config) -> str:
    country_code = config.routing.country_code
    if args.block_command == "list":
        rows = [f"{row.number}{'*' if row.prefix else ''}\t{row.source}\t{row.reason or '-'}"
                for row in blocklist.listed()]
        return "\n".join(["number\tsource\treason", *rows, f"{len(rows)} blocked"])
    if args.block_command == "remove":
        row = blocklist.remove(args.number, source="cli", country_code=country_code)
        return f"{row.number} is no longer blocked"
    row = blocklist.add(args.number, prefix=args.prefix, source="cli", reason=args.reason,
                        country_code=country_code)
    return f"every number starting with {row.number} is blocked" if row.prefix else f"{row.number} is blocked"


def _service_url(config: Config) -> str:
    """The running service's address from its config: a wildcard listen address is reached
    on this machine's loopback."""
    http = config.http
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(http.host, http.host)
    shown = f"[{host}]" if ":" in host else host
    return f"{http.scheme}://{shown}:{http.port}/"


def _tls(config: Config, given_url: str | None) -> ssl.SSLContext | None:
    """The service's own certificate is trusted (it is often self-signed), and the host
    name is not compared when the address came from the config: it is this machine."""
    if config.http.tls_cert is None:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(config.http.tls_cert)
    context.check_hostname = given_url is not None
    return context


def _gateway_test(args: argparse.Namespace, config: Config) -> int:
    key = os.environ.get(API_KEY_VARIABLE, "")
    if key:
        authorization = f"Bearer {key}"
    elif args.user:
        password = getpass.getpass(f"password of {args.user}: ")
        authorization = "Basic " + base64.b64encode(f"{args.user}:{password}".encode()).decode()
    else:
        print(f"sms-appliance: an administrator's credentials are needed: put an API key in {API_KEY_VARIABLE} "
              "or give --user NAME (its password is asked for)", file=sys.stderr)
        return 2
    base = (args.url or _service_url(config)).rstrip("/")
    request = urllib.request.Request(
        f"{base}/api/v1/gateways/{quote(args.name, safe='')}/test", method="POST",
        data=json.dumps({"to": args.to, "text": args.text}).encode(),
        headers={"Authorization": authorization, "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TEST_TIMEOUT, context=_tls(config, args.url)) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {error.code}"
        print(f"sms-appliance: {args.name}: {message}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"sms-appliance: cannot reach the service at {base}: {getattr(error, 'reason', error)} "
              "(is it running? --url gives its address)", file=sys.stderr)
        return 1
    line = f"{args.name}: {result['answer']} (message {result['id']})"
    if result["state"] != "sent":
        print(f"sms-appliance: {line}", file=sys.stderr)
        return 1
    print(line)
    return 0


def _describe(connector) -> str:
    token = "token required" if connector.require_token else "no token"
    parts = [f"/receive/{connector.name}", f"routing {connector.routing} to {connector.target!r}", token]
    if connector.number:
        parts.insert(1, f"number {connector.number}")
    if connector.subject:
        parts.append(f"subject {connector.subject!r}")
    return ", ".join(parts)


CHANGES = {"user": _user_set, "key": _key, "contact": _contact_set, "group": _group_set}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = _load_config(args)
        if args.command == "run":
            return _run(args, config)
        if args.command == "gateway":
            return _gateway_test(args, config)
        if args.command == "receive-connector":
            return _in_store(config, lambda: _receive_connector(args, config))
        if args.command == "block":
            return _in_store(config, lambda: _block(args, config))
        return _in_store(config, lambda: CHANGES[args.command](args))
    except ConfigError as error:
        print(f"sms-appliance: configuration error: {error}", file=sys.stderr)
        return 2
    except StoreUnusable as error:
        print(f"sms-appliance: cannot open the store: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
