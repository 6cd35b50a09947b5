"""What the service tells systemd: the watchdog is petted only while the service is
healthy, and a long first start asks for more time."""

import sqlite3

from appliance.app.service import Service
from appliance.config.file import Config, HttpConfig, StorageConfig
from appliance.store import db as store_db


class RecordingNotifier:
    watchdog_interval = 10.0

    def __init__(self):
        self.sent = []

    def notify(self, *fields):
        self.sent.extend(fields)
        return True

    def ready(self, status=""):
        return self.notify("READY=1")

    def watchdog(self):
        return self.notify("WATCHDOG=1")

    def stopping(self):
        return self.notify("STOPPING=1")

    def close(self):
        pass


def test_watchdog_is_petted_while_healthy_and_withheld_when_the_http_server_dies(tmp_path):
    notifier = RecordingNotifier()
    config = Config(http=HttpConfig(listen="127.0.0.1:0"), storage=StorageConfig(str(tmp_path)))
    service = Service(config, simulate=1, notifier=notifier)
    service.start()
    try:
        service._announce_ready()
        assert notifier.sent[0] == "READY=1"
        assert notifier.sent.count("WATCHDOG=1") == 1
        service.http.stop()  # a dead HTTP server: the appliance is useless, let systemd restart it
        assert not service.healthy()
        service._watchdog(5.0)
        assert notifier.sent.count("WATCHDOG=1") == 1
    finally:
        service.stop()
    assert notifier.sent[-1] == "STOPPING=1"  # and no status news after it


def test_a_store_rewritten_at_start_asks_systemd_to_wait_for_it(tmp_path):
    connection = sqlite3.connect(tmp_path / store_db.DATABASE_FILE)  # an earlier release's store
    connection.execute("PRAGMA page_size = 4096")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    notifier = RecordingNotifier()
    config = Config(http=HttpConfig(listen="127.0.0.1:0"), storage=StorageConfig(str(tmp_path)))
    service = Service(config, simulate=1, notifier=notifier)
    service.start()
    try:
        (extended,) = [field for field in notifier.sent if field.startswith("EXTEND_TIMEOUT_USEC=")]
        assert int(extended.split("=")[1]) >= 60_000_000
        assert service.database.execute_sql("PRAGMA page_size").fetchone()[0] == store_db.PAGE_SIZE
    finally:
        service.stop()
    service = Service(config, simulate=1, notifier=(notifier := RecordingNotifier()))
    service.start()  # rewritten once: the next start is a quick one
    service.stop()
    assert not [field for field in notifier.sent if field.startswith("EXTEND_TIMEOUT_USEC=")]
