"""``shelterwatch broker …``: the system's accounts on Mosquitto's dynamic-security plugin,
through the admin account of ``SHELTERWATCH_MQTT_ADMIN_URL``.

``broker setup`` sets the default access (deny) and the roles of `telemetry.access`;
``broker account NAME --role ingester|platform`` creates that account or gives it a new
password, printed once. Sensors' accounts are made when sensors are registered.
"""

from __future__ import annotations

import argparse

from api.devices import dynsec_admin
from api.processes.errors import CommandError
from api.settings import Settings
from telemetry.access import AccountRole
from telemetry.dynsec import SERVICE_ROLES, DynsecAdmin, ensure_roles, ensure_service_account


def _admin(settings: Settings) -> DynsecAdmin:
    admin = dynsec_admin(settings)
    if admin is None:
        raise CommandError("set SHELTERWATCH_MQTT_ADMIN_URL (mqtt://user:password@host:port)")
    return admin


def _setup(settings: Settings, _args: argparse.Namespace) -> int:
    ensure_roles(_admin(settings))
    print(f"default access: deny; roles {', '.join(SERVICE_ROLES.values())} up to date")
    return 0


def _account(settings: Settings, args: argparse.Namespace) -> int:
    role = AccountRole(args.role)
    password = ensure_service_account(_admin(settings), args.username, role)
    print(f"broker account {args.username} ({role.value}); password (shown once): {password}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = sub.add_parser("broker", help="Mosquitto dynamic-security accounts")
    commands = broker.add_subparsers(dest="broker_command", required=True)
    commands.add_parser("setup", help="default access and the system's roles").set_defaults(
        func=_setup
    )
    account = commands.add_parser("account", help="create a system account or renew it")
    account.add_argument("username", help="shelterwatch-…")
    account.add_argument("--role", required=True, choices=["ingester", "platform"])
    account.set_defaults(func=_account)
