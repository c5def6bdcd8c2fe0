"""``analyze --executor dask --scheduler tls://...``: the client connects with Dask's TLS settings."""

from __future__ import annotations

from typing import ClassVar

import dask
import distributed
import pytest

from vae_passive import executor
from vae_passive.errors import VaePassiveError


class FakeClient:
    """Records how the execution layer built its client; connects to nothing."""

    made: ClassVar[list[tuple[str, dict]]] = []

    def __init__(self, address: str, **options):
        FakeClient.made.append((address, options))

    def close(self) -> None:
        pass


@pytest.fixture
def fake_client(monkeypatch):
    FakeClient.made = []
    monkeypatch.setattr(distributed, "Client", FakeClient)
    return FakeClient


def test_a_tls_scheduler_gets_a_security_object_from_dasks_config(fake_client, tmp_path):
    ca, cert, key = (str(tmp_path / name) for name in ("ca.pem", "client.pem", "client.key"))
    tls = {"ca-file": ca, "client.cert": cert, "client.key": key}
    with dask.config.set({f"distributed.comm.tls.{name}": value for name, value in tls.items()}):
        executor.dask_client("tls://head:8786")
    address, options = fake_client.made[0]
    security = options["security"]
    assert address == "tls://head:8786" and isinstance(security, distributed.security.Security)
    assert (security.tls_ca_file, security.tls_client_cert, security.tls_client_key) == (ca, cert, key)


def test_a_tcp_scheduler_needs_no_security(fake_client):
    executor.dask_client("tcp://head:8786")
    assert fake_client.made == [("tcp://head:8786", {"timeout": "20s"})]


def test_a_tls_scheduler_without_settings_is_a_clear_error(fake_client):
    with (
        dask.config.set({"distributed.comm.tls.ca-file": None}),
        pytest.raises(VaePassiveError, match="DASK_DISTRIBUTED__COMM__TLS__CA_FILE"),
    ):
        executor.dask_client("tls://head:8786")
    assert fake_client.made == []
