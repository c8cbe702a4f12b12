"""The local stack configures every provider dialect so that its three sides match:
what the simulator accepts and signs with, what the sender presents, what webhook_ingest
verifies with, read back through each service's own settings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fanout_cli.stack.components import service_named
from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.dialects.keys import public_key_b64, sendgrid_key
from services.sender.config import Settings as SenderSettings
from services.webhook_ingest.config import Settings as IngestSettings
from shared.settings import CommonSettings


@pytest.fixture
def stack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment `fanout stack up` gives its services (the sender's; all share it)."""
    monkeypatch.setenv("FANOUT_SIMULATOR_WEBHOOK_SECRET", "a-stack-secret-for-this-test-only")
    common = CommonSettings(home=tmp_path)
    for name, value in service_named("sender").env(common).items():
        if name.startswith("FANOUT_"):
            monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("stack_env")
def test_stack_dialect_credentials_match_on_every_side() -> None:
    simulator, sender, ingest = SimulatorSettings(), SenderSettings(), IngestSettings()
    assert sender.sendgrid.api_key == simulator.sendgrid_api_key
    key = sendgrid_key(simulator.sendgrid_webhook_key.get_secret_value())
    assert public_key_b64(key) == ingest.sendgrid_public_key.get_secret_value()
    assert sender.mailgun.api_key == simulator.mailgun_api_key
    assert ingest.mailgun_signing_key == simulator.mailgun_webhook_signing_key
    assert sender.postmark.server_token == simulator.postmark_server_token
    assert ingest.postmark_username == simulator.postmark_webhook_username
    assert ingest.postmark_password == simulator.postmark_webhook_password
    assert sender.ses.access_key_id == simulator.ses_access_key_id
    assert sender.ses.secret_access_key == simulator.ses_secret_access_key
    assert sender.ses.configuration_set_name
    assert ingest.ses_topic_arns == [simulator.ses_topic_arn]
    assert sender.smtp.password == simulator.smtp_password
    assert sender.smtp.port == simulator.smtp_port


@pytest.mark.usefixtures("stack_env")
def test_stack_dialects_point_at_the_simulator() -> None:
    simulator, sender, ingest = SimulatorSettings(), SenderSettings(), IngestSettings()
    base = f"http://127.0.0.1:{service_named('esp_simulator').port}"
    assert sender.sendgrid.base_url == f"{base}/sendgrid"
    assert sender.mailgun.messages_url.startswith(f"{base}/mailgun/v3/")
    assert sender.postmark.base_url == f"{base}/postmark"
    assert sender.ses.base_url == f"{base}/ses"
    certificate = f"http://{simulator.host}:{simulator.port}/ses/sns-certificate.pem"
    assert ingest.sns_trusted_cert_url == certificate
    assert set(simulator.dialects) == {"sendgrid", "mailgun", "postmark", "ses"}
    assert all(sender.rate_budgets[name] > 0 for name in ("sendgrid", "ses", "smtp"))
    assert set(ingest.providers) == {"simulator", "sendgrid", "mailgun", "postmark", "ses"}


def test_stack_dialect_credentials_differ_per_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys = []
    for secret in ("first-stack-secret-of-this-test", "second-stack-secret-of-this-test"):
        monkeypatch.setenv("FANOUT_SIMULATOR_WEBHOOK_SECRET", secret)
        env = service_named("sender").env(CommonSettings(home=tmp_path))
        keys.append((env["FANOUT_SENDER_SENDGRID__API_KEY"], env["FANOUT_SENDER_SMTP__PASSWORD"]))
        der = base64.b64decode(env["FANOUT_ESP_SIMULATOR_SENDGRID_WEBHOOK_KEY"])
        serialization.load_der_private_key(der, password=None)  # a usable key
    assert keys[0][0] != keys[1][0] and keys[0][1] != keys[1][1]
