"""The simulator's DNS: a zone filled through `/v1/dns` and a UDP server answering from it.

`install_dns(app)` gives an app its zone and control routes; `serving_dns` runs the
server (the process opens it on its port, `FANOUT_ESP_SIMULATOR_DNS_PORT`; tests on a
free one). docs/domains.md says what it is for.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.esp_simulator.dns.control import router
from services.esp_simulator.dns.responder import serving_dns
from services.esp_simulator.dns.zone import PublishedRecord, Zone, ZoneError

__all__ = ["PublishedRecord", "Zone", "ZoneError", "install_dns", "serving_dns", "zone_of"]


def install_dns(app: FastAPI) -> Zone:
    """Give `app` an empty zone (`app.state.dns_zone`) and the `/v1/dns` routes."""
    zone = Zone()
    app.state.dns_zone = zone
    app.include_router(router)
    return zone


def zone_of(app: FastAPI) -> Zone:
    """The zone `install_dns` gave `app`."""
    zone: Zone = app.state.dns_zone
    return zone
