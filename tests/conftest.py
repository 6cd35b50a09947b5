"""Shared test fixtures."""

import pytest


class Clock:
    """A settable clock for the store's time stamps: tests move time, nothing sleeps."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(tmp_path):
    """A fresh store in the test's own folder, at the current schema."""
    from appliance.store import db as store_db

    database = store_db.open_database(tmp_path)
    yield database
    database.close()


@pytest.fixture
def env(tmp_path):
    """The JSON API over a fresh store with alice, bob and root (api_v1_client.build_env)."""
    from api_v1_client import build_env

    built, database = build_env(tmp_path)
    yield built
    database.close()


# -- both APIs with [routing] country_code = "44" (tests/test_numbers.py, test_blocklist.py) ----

@pytest.fixture
def diafaan(tmp_path):
    """The Diafaan API on a fresh store, with the user alice; national numbers get +44."""
    from test_http_api import PASSWORD, Client

    from appliance.accounts import users
    from appliance.accounts.authenticator import Authenticator
    from appliance.store import db as store_db
    from appliance.store.inbox import Inbox
    from appliance.store.queue import Queue
    from appliance.web.app import create_app
    from appliance.web.diafaan.commands import HttpApiContext

    database = store_db.open_database(tmp_path / "diafaan")
    users.set_user("alice", PASSWORD)
    context = HttpApiContext(queue=Queue(database), authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: (), on_accepted=lambda: None, inbox=Inbox(database),
                             server_status=dict, country_code="44")
    yield Client(create_app(context))
    database.close()


@pytest.fixture
def json_api(tmp_path):
    """The JSON API as ``env``, with national numbers completed with +44."""
    from api_v1_client import build_env

    built, database = build_env(tmp_path / "json", country_code="44")
    yield built
    database.close()


# -- a running ServerControl (tests/test_control.py, tests/test_server_command.py) -------------

from fake_gateway import FakeGateway  # noqa: E402

from appliance.app.service import build_routing  # noqa: E402
from appliance.config.file import Config, ConnectorConfig, ModemConfig  # noqa: E402
from appliance.connectors.webhook import WebhookSender  # noqa: E402
from appliance.control.server_control import ServerControl, effective_config, webhook_targets  # noqa: E402
from appliance.gateways.limits import LimitTracker  # noqa: E402
from appliance.gateways.router import Router  # noqa: E402
from appliance.store import db as store_db  # noqa: E402
from appliance.store.inbox import Inbox  # noqa: E402
from appliance.store.queue import NewMessage, Queue  # noqa: E402
from hil.loop_thread import LoopThread  # noqa: E402

CONTROL_FILE = Config(
    modems=(ModemConfig("GSM1", "/dev/ttyUSB0", send_limit_day=100, pin="1234"),
            ModemConfig("GSM2", "/dev/ttyUSB1", enabled=False)),
    connectors=(ConnectorConfig("HTTP API"),
                ConnectorConfig("Hook", "webhook", url="http://127.0.0.1:9/hook", token="s3cret-token")),
)


class ControlRig:
    """A store, a router over fake gateways (or ``make_gateways(loop, database)``), a
    webhook sender and a ServerControl, with their event loop running in its own thread."""

    def __init__(self, data_dir, config=CONTROL_FILE, make_gateways=None):
        self.file = config
        self.database = store_db.open_database(data_dir)
        self.queue = Queue(self.database)
        self.loop_thread = LoopThread("control")
        self.loop = loop = self.loop_thread.loop
        self.config = effective_config(config)
        self.gateways = (make_gateways(loop, self.database) if make_gateways
                         else [FakeGateway(m.name) for m in self.config.modems])
        names = tuple(m.name for m in self.config.modems)
        self.router = Router(loop, self.queue, self.gateways, build_routing(self.config.connectors, names),
                             limits=LimitTracker({}))
        self.webhooks = WebhookSender(loop, self.database, webhook_targets(self.config.connectors))
        self.inbox = Inbox(self.database)
        self.settings_loaded = []
        self.control = ServerControl(loop, self.database, self.config, router=self.router,
                                     webhooks=self.webhooks, inbox=self.inbox,
                                     on_settings=lambda: self.settings_loaded.append(1))
        self.loop_thread.start()
        self.call(self.control.start_gateways)

    def call(self, function, *args):
        return self.loop_thread.call(function, *args)

    def settle(self):
        """Every callback the loop had queued has run (its queue is FIFO)."""
        self.call(lambda: None)

    def send(self, text="hello"):
        (message_id,) = self.queue.accept([NewMessage(recipient="+447700900123", text=text)])
        self.call(self.router.kick)
        return message_id

    def close(self):
        self.webhooks.stop()
        self.loop_thread.stop()
        self.database.close()


@pytest.fixture
def control_rig(tmp_path):
    """Builds ControlRigs (keyword arguments as ControlRig's) and closes them afterwards."""
    rigs = []

    def make(**options):
        rigs.append(ControlRig(tmp_path / f"store{len(rigs)}", **options))
        return rigs[-1]
    yield make
    for rig in reversed(rigs):
        rig.close()
