"""The ``shelterwatch`` command: every process and admin task.

shelterwatch serve [--host H] [--port P]   the HTTP API (and the periodic tick)
shelterwatch db upgrade                    apply database migrations
shelterwatch user create NAME --role R     create a user (prints a platform API key);
                                           a manager with --shelter CODE (repeatable)
shelterwatch user rotate-key NAME          a new API key for a platform account
shelterwatch tick                          one pass of reminders and escalations
shelterwatch telemetry backfill [--days N] hourly aggregates of past hours (InfluxDB 1.x)
shelterwatch broker setup                  roles and default access on Mosquitto (dynsec)
shelterwatch broker account NAME --role R  a system broker account (prints its password)

A command that fails for a reason outside the program (a database or broker that does not
answer, a missing file, a malformed setting, input that breaks a rule) prints ``error: …``
and exits with status 1; see :mod:`api.processes.errors`.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError

from api import logs
from api.db import build_engine, session_factory, unit_of_work, upgrade
from api.devices import build_device_credentials, embedded_url
from api.http.probes import Component
from api.processes import backup, broker_admin
from api.processes.errors import EXPECTED, CommandError, explain
from api.processes.heap import FrozenHeap
from api.processes.telemetry_wiring import (
    IngestService,
    build_reading_store,
    build_reject_store,
    build_retention_job,
    ensure_influx_retention,
)
from api.settings import Settings
from api.state import AppState
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import Role
from telemetry.access import AccountRole

# Each command imports what only it needs inside its function: the ingester then never loads
# the HTTP routes, the spreadsheet and PDF libraries or the embedded broker, which keeps its
# memory down (see bench/bench_ingest.py).

log = logging.getLogger("shelterwatch")
INGEST_SWITCH_INTERVAL_S = 0.001
ALERT_TICK_SECONDS = 30.0


def open_engine(settings: Settings) -> Engine:
    """The engine of ``SHELTERWATCH_DATABASE_URL``; :class:`CommandError` when SQLAlchemy
    cannot use the URL (malformed, unknown dialect, driver not installed). The URL is not
    repeated in the message: it may hold a password."""
    try:
        return build_engine(settings.database_url)
    except (ArgumentError, ImportError) as exc:
        raise CommandError(f"SHELTERWATCH_DATABASE_URL cannot be used: {exc}") from exc


def build_state(settings: Settings, *, migrate: bool | None = None) -> AppState:
    """Engine, sessions, stores and policy for one process; migrates SQLite (the embedded
    default) at start unless told otherwise."""
    engine = open_engine(settings)
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(engine)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy.load(settings.policy_file),
        signing_key=settings.signing_key(),
        readings=build_reading_store(settings, engine),
        rejects=build_reject_store(settings, engine),
        files=DirectoryFileStore(settings.resolved_files_dir()),
        devices=build_device_credentials(settings),
    )


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where this process's MQTT clients connect: ``SHELTERWATCH_MQTT_URL`` with the configured
    protocol, or the embedded broker on loopback (which speaks MQTT 3.1.1), logged in as the
    system's account of ``role`` there."""

    url: str
    protocol: str
    embedded_port: int | None
    """The port of the embedded broker, when there is no configured one."""

    @classmethod
    def of(
        cls,
        settings: Settings,
        broker_port: int | None = None,
        *,
        role: AccountRole = AccountRole.INGESTER,
    ) -> BrokerEndpoint:
        if settings.mqtt_url:
            return cls(settings.mqtt_url, settings.mqtt_protocol, None)
        port = broker_port or settings.embedded_broker_port
        return cls(embedded_url(settings.signing_key(), port, role), "3.1.1", port)


def served_at(settings: Settings, host: str, port: int) -> Settings:
    """The settings with ``public_base_url`` where this server actually listens, unless it
    was configured: links in notifications and on signs then work as printed."""
    if "public_base_url" in settings.model_fields_set:
        return settings
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return settings.model_copy(update={"public_base_url": f"http://{reachable}:{port}"})


def server_components(state: AppState, broker: BrokerEndpoint) -> list[Component]:
    """What the API process runs beside requests: the inspection tick (reminders, escalation,
    monthly compliance), the alert tick and the notification delivery worker."""
    from api.alerting.jobs import run_alert_tick
    from api.alerting.sink import transitions_for
    from api.notify.delivery import DeliveryWorker, build_channels
    from api.notify.metrics import NotifyMetrics
    from api.processes.scheduler import JobMetrics, Periodic, run_tick

    settings = state.settings
    transitions = transitions_for(state)
    channel_settings = settings.model_copy(update={"mqtt_protocol": broker.protocol})
    components: list[Component] = []
    jobs = JobMetrics(state)
    if settings.tick_interval_seconds > 0:
        components.append(
            Periodic(
                "inspection-tick",
                lambda: jobs.tick(run_tick(state)),
                settings.tick_interval_seconds,
            )
        )
    retention = build_retention_job(settings, state.engine, state.clock)
    if retention is not None and settings.retention_interval_seconds > 0:
        # First at start: on InfluxDB this sets up the retention policies and the query.
        components.append(
            Periodic("retention", retention, settings.retention_interval_seconds, first_after=0)
        )
    components += [
        Periodic(
            "alert-tick",
            lambda: jobs.alerts(run_alert_tick(state, transitions)),
            ALERT_TICK_SECONDS,
        ),
        DeliveryWorker(
            state,
            build_channels(channel_settings, broker.url, state.resolver),
            settings.delivery_interval_seconds,
            metrics=NotifyMetrics(state.metrics),
        ),
    ]
    return components


def close_state(state: AppState) -> None:
    state.readings.close()
    state.engine.dispose()


def ingest_components(
    state: AppState, broker: BrokerEndpoint
) -> tuple[list[Component], IngestService]:
    """The ingester and the platform alert feed, preceded by the embedded broker when there
    is no configured one."""
    from api.alerting.sink import transitions_for
    from api.notify.channels import MqttChannel
    from api.notify.platform_feed import PlatformFeed
    from api.processes.telemetry_wiring import build_ingest_service
    from telemetry.metrics import IngestMetrics
    from telemetry.mqtt import BrokerAddress

    settings = state.settings
    components: list[Component] = []
    if broker.embedded_port is not None:
        from api.devices import embedded_access
        from telemetry.broker import EmbeddedBroker
        from telemetry.broker_limits import BrokerLimits
        from telemetry.metrics import BrokerMetrics

        access = embedded_access(settings.var_dir, state.signing_key)
        limits = BrokerLimits(
            settings.embedded_broker_max_packet_bytes,
            settings.embedded_broker_max_queued_messages,
        )
        components.append(
            EmbeddedBroker(
                "127.0.0.1",
                broker.embedded_port,
                access=access,
                limits=limits,
                metrics=BrokerMetrics(state.metrics),
            )
        )
    # The platform's alert feed leaves from here as soon as a transition commits.
    feed = PlatformFeed(
        state.sessions,
        MqttChannel(
            BrokerAddress.parse(broker.url),
            client_id=f"{settings.mqtt_client_id}-alerts",
            protocol=broker.protocol,
        ),
        clock=state.clock,
        max_attempts=settings.delivery_max_attempts,
    )
    service = build_ingest_service(
        settings,
        store=state.readings,
        rejects=state.rejects,
        sessions=state.sessions,
        metrics=IngestMetrics(state.metrics),
        clock=state.clock,
        broker_url=broker.url,
        protocol=broker.protocol,
        transitions=transitions_for(state, feed=feed),
        on_events=feed.commit,
        on_rollback=feed.discard,
    )
    components.append(service)
    components.append(feed)
    return components, service


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = served_at(settings, args.host, args.port)
    state = build_state(settings)
    components = [*server_components(state, BrokerEndpoint.of(settings)), FrozenHeap()]
    app = create_app(state, components=components)
    log.info("ShelterWatch API on http://%s:%d (docs at /docs)", args.host, args.port)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, server_header=False)
    finally:
        close_state(state)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything in one process on the embedded default: API, broker, ingester, simulator,
    periodic jobs, demo data."""
    import uvicorn

    from api.app import create_app
    from api.processes.demo import SimulatorComponent, demo_fleet, seed

    settings = served_at(settings, args.host, args.port)
    state = build_state(settings, migrate=True)
    fleet = demo_fleet()
    login_file = settings.var_dir / "demo-login.txt"
    seeded = seed(state, fleet, login_file)
    broker = BrokerEndpoint.of(settings, args.broker_port)
    components, service = ingest_components(state, broker)
    if not args.no_simulator:
        simulator = BrokerEndpoint.of(settings, args.broker_port, role=AccountRole.SIMULATOR)
        components.append(SimulatorComponent(simulator.url, fleet, protocol=broker.protocol))
    components.extend(server_components(state, broker))
    components.append(FrozenHeap())
    app = create_app(state, components=components, extra_checks=[service.checks])
    base = f"http://{args.host}:{args.port}"
    first = fleet.shelters[0]
    print(
        f"\nShelterWatch is running on the embedded default ({settings.database_url}).\n"
        f"  web app:        {base}/ (log in with an account below)\n"
        f"  API docs:       {base}/docs\n"
        f"  live readings:  {base}/api/v1/shelters/{first}/telemetry/latest\n"
        f"  MQTT broker:    {_broker_line(settings, broker)}\n"
        f"  logins ({'new' if seeded else 'from the first run'}): {login_file}\n"
        + "".join(f"    {line}\n" for line in login_file.read_text(encoding="utf-8").splitlines())
        + "  Log in: POST /api/v1/auth/token (form: username, password), then send\n"
        "  'Authorization: Bearer <token>'. Stop with Ctrl-C.\n",
        flush=True,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, server_header=False)
    finally:
        close_state(state)
    return 0


def _broker_line(settings: Settings, broker: BrokerEndpoint) -> str:
    """Where devices publish, and the platform's login on the embedded broker."""
    if broker.embedded_port is None:
        return f"{broker.url} (devices publish to shelters/<code>/<sensor>/telemetry)"
    platform = BrokerEndpoint.of(settings, broker.embedded_port, role=AccountRole.PLATFORM)
    return (
        f"mqtt://127.0.0.1:{broker.embedded_port}; each sensor logs in with what its "
        f"registration answers;\n                  the platform subscribes to "
        f"shelters/+/alerts as {platform.url} (client id = user name)"
    )


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    """Publish simulated readings to a broker (SHELTERWATCH_MQTT_URL, or the embedded one as
    its simulator account)."""
    from telemetry.mqtt import BrokerAddress
    from telemetry.sim_model import Fleet
    from telemetry.simulate import Simulator

    url = BrokerEndpoint.of(settings, role=AccountRole.SIMULATOR).url
    fleet = Fleet.generate(
        args.shelters, args.sensors, seed=args.seed, prefix=args.prefix, interval_s=args.interval
    )
    sim = Simulator(
        BrokerAddress.parse(url),
        fleet=fleet,
        protocol=args.protocol,
        rate_per_s=args.rate,
        batch=args.batch,
        malformed_every=args.malformed_every,
        fire_shelter=args.fire,
        silent_fraction=args.silent,
    )
    stats = sim.run(duration_s=args.duration, count=args.count)
    print(f"published {stats}")
    return 0


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    """The ingester process; its HTTP port serves /healthz, /readyz and /metrics only."""
    import uvicorn

    # The ingester's threads hand work to each other and wait on the store and the database;
    # a thread whose I/O finished gets the interpreter back within 1 ms instead of Python's
    # default 5 ms, which keeps the store writers busy and the alert evaluator's queue short
    # (bench/bench_ingest.py: lower peak memory with 100-reading messages, same throughput).
    sys.setswitchinterval(INGEST_SWITCH_INTERVAL_S)

    from api.http.probes import create_probe_app

    state = build_state(settings)
    components, service = ingest_components(state, BrokerEndpoint.of(settings))
    components.append(FrozenHeap())
    app = create_probe_app(state, components=components, checks=service.checks)
    log.info("ingesting; health and metrics on http://%s:%d", args.host, args.port)
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_config=None,
            timeout_graceful_shutdown=30,
            server_header=False,
        )
    finally:
        close_state(state)
    return 0


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    """Migrate the records database; on InfluxDB 1.x, also its retention policies and the
    hourly continuous query."""
    engine = open_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    log.info("database at head")
    ensure_influx_retention(settings)
    return 0


def _telemetry_backfill(settings: Settings, args: argparse.Namespace) -> int:
    """Hourly aggregates of past hours on InfluxDB 1.x (its continuous query covers only the
    hours that end after it was created)."""
    from datetime import UTC, datetime, timedelta

    from telemetry.influx_retention import InfluxRetention
    from telemetry.retention import hour_floor

    policy = settings.retention_policy()
    if not settings.influx_url or policy is None:
        print("error: backfill is for InfluxDB 1.x (the SQL store rolls up by itself)")
        return 2
    now = datetime.now(UTC)
    start = hour_floor(now - timedelta(days=args.days if args.days else policy.raw.days))
    retention = InfluxRetention(
        settings.influx_url,
        settings.influx_token.get_secret_value(),
        settings.influx_bucket,
        policy,
    )
    try:
        written = retention.backfill(start, hour_floor(now))
    finally:
        retention.close()
    print(f"backfilled {written} hourly points from {start.isoformat()} to the current hour")
    return 0


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    from inspection.access import SYSTEM
    from inspection.registry import update_shelter
    from inspection.schemas import ShelterUpdate, UserCreate
    from inspection.users import create_user

    role = Role(args.role)
    shelters = list(dict.fromkeys(args.shelter or []))  # in order, each once
    password = args.password
    if password is None and role != Role.PLATFORM:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else None
    data = UserCreate(
        username=args.username,
        role=role,
        password=password,
        district=args.district,
        display_name=args.display_name or "",
        email=args.email,
        phone=args.phone,
        shelter=shelters[0] if shelters else None,
    )
    state = build_state(settings)
    try:
        with unit_of_work(state.sessions) as session:
            now = state.clock()
            user, api_key = create_user(session, data, actor=SYSTEM, now=now)
            for code in shelters[1:]:  # as the office links a 工程长 to a further shelter
                update_shelter(
                    session, code, ShelterUpdate(manager=user.username), actor=SYSTEM, now=now
                )
            print(f"created {user.role} {user.username} (id {user.id})")
            if shelters:
                print(f"manager of {', '.join(shelters)}")
            if api_key:
                print(f"API key (shown once): {api_key}")
    finally:
        close_state(state)
    return 0


def _user_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from inspection.access import SYSTEM
    from inspection.users import rotate_api_key

    hours = settings.api_key_grace_hours if args.grace_hours is None else args.grace_hours
    state = build_state(settings)
    try:
        with unit_of_work(state.sessions) as session:
            user, key = rotate_api_key(
                session,
                args.username,
                grace=timedelta(hours=hours),
                actor=SYSTEM,
                now=state.clock(),
            )
            print(f"API key (shown once): {key}")
            until = user.previous_api_key_expires_at
            print(
                f"the previous key works until {until.isoformat()}"
                if until
                else "the previous key no longer works"
            )
    finally:
        close_state(state)
    return 0


def _tick(settings: Settings, _args: argparse.Namespace) -> int:
    from api.processes.scheduler import run_tick

    state = build_state(settings)
    try:
        report = run_tick(state)
        print(
            f"reminders={report.reminders} deadline_notices={report.deadline_notices} "
            f"escalations={report.escalations} snapshots={report.snapshots}"
        )
    finally:
        state.engine.dispose()
    return 0


def _add_job_commands(sub: Any) -> None:
    """``tick`` and ``telemetry backfill``."""
    sub.add_parser("tick", help="send due reminders and escalate overdue follow-ups").set_defaults(
        func=_tick
    )
    telemetry = sub.add_parser("telemetry", help="telemetry store tasks").add_subparsers(
        dest="telemetry_command", required=True
    )
    backfill = telemetry.add_parser(
        "backfill", help="InfluxDB 1.x: hourly aggregates of past hours (safe to run again)"
    )
    backfill.add_argument(
        "--days",
        type=int,
        help="how far back (default SHELTERWATCH_RAW_RETENTION_DAYS: all raw readings kept)",
    )
    backfill.set_defaults(func=_telemetry_backfill)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shelterwatch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)
    run = sub.add_parser("run", help="everything on the embedded default, with demo data")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--broker-port", type=int, help="embedded broker port (default 1884)")
    run.add_argument("--no-simulator", action="store_true")
    run.set_defaults(func=_run)
    sim = sub.add_parser("simulate", help="publish simulated sensor readings")
    sim.add_argument("--shelters", type=int, default=10)
    sim.add_argument("--sensors", type=int, default=2, help="sensors per shelter")
    sim.add_argument("--prefix", default="SIM")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--interval", type=int, default=60, help="seconds between readings")
    sim.add_argument("--rate", type=float, help="messages/s instead of real intervals")
    sim.add_argument("--batch", type=int, default=1, help="readings per message (gateway)")
    sim.add_argument("--malformed-every", type=int, default=0)
    sim.add_argument("--fire", help="shelter code with a fire event")
    sim.add_argument("--silent", type=float, default=0.0, help="fraction of silent sensors")
    sim.add_argument("--protocol", choices=["5", "3.1.1"], default="5")
    sim.add_argument("--duration", type=float, help="seconds to run")
    sim.add_argument("--count", type=int, help="readings to publish")
    sim.set_defaults(func=_simulate)
    ingest = sub.add_parser("ingest", help="run the MQTT ingester")
    ingest.add_argument("--host", default="127.0.0.1", help="health/metrics address")
    ingest.add_argument("--port", type=int, default=9108, help="health/metrics port")
    ingest.set_defaults(func=_ingest)
    db_sub = sub.add_parser("db", help="database tasks").add_subparsers(
        dest="db_command", required=True
    )
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)
    _user_commands(sub)
    _add_job_commands(sub)
    _operator_commands(sub)
    return p


def _user_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``user create`` and ``user rotate-key``."""
    user = sub.add_parser("user", help="user tasks")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--password")
    create.add_argument("--district")
    create.add_argument("--display-name")
    create.add_argument("--email")
    create.add_argument("--phone")
    create.add_argument(
        "--shelter",
        action="append",
        metavar="CODE",
        help="a manager account for this shelter's 工程长 (repeatable): linked as its manager; "
        "an empty name or phone is taken from the first shelter's contact fields",
    )
    create.set_defaults(func=_user_create)
    rotate = user_sub.add_parser("rotate-key", help="a new API key for a platform account")
    rotate.add_argument("username")
    rotate.add_argument(
        "--grace-hours",
        type=int,
        help="how long the replaced key keeps working (default SHELTERWATCH_API_KEY_GRACE_HOURS; "
        "0: it stops now)",
    )
    rotate.set_defaults(func=_user_rotate_key)


def _operator_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The broker accounts, backup and restore (each module declares its own)."""
    broker_admin.add_commands(sub)
    backup.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, json_lines=settings.log_json, levels=settings.log_levels)
    try:
        code: int = args.func(settings, args)
    except EXPECTED as exc:
        print(f"error: {explain(exc)}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
