"""`ControlPlane`: the services of one control-plane process, built from settings and wired once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from berth.control.bus import Bus
from berth.control.deployer import Deployer
from berth.control.registry import Registry
from berth.control.stats import INTERVAL_S as STATS_INTERVAL_S
from berth.control.stats import StatsCollector
from berth.control.supervisor import Supervisor
from berth.settings import Settings

log = logging.getLogger("berth.control")


@dataclass
class ControlPlane:
    settings: Settings
    registry: Registry
    bus: Bus
    supervisor: Supervisor
    deployer: Deployer
    stats: StatsCollector

    @classmethod
    def build(cls, settings: Settings) -> ControlPlane:
        for folder in (settings.home, settings.home / "logs", settings.home / "deployments"):
            folder.mkdir(parents=True, exist_ok=True)
        registry = Registry(settings.sqlalchemy_url, settings.home, settings.host)
        bus = Bus(registry)
        supervisor = Supervisor(settings, registry, bus)
        deployer = Deployer(settings, registry, bus, supervisor)
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        # sampled at least as often as health is probed, so a short probe interval (tests) gives quick charts
        interval = min(STATS_INTERVAL_S, settings.health_interval_s)
        stats = StatsCollector(supervisor, api_key, interval)
        return cls(settings, registry, bus, supervisor, deployer, stats)

    async def start(self) -> None:
        """Migrate the registry, restore what should run, then start watching."""
        self.registry.migrate()
        self.supervisor.start_template()
        await self.deployer.restore()
        self.supervisor.start()
        self.stats.start()
        log.info("control plane ready with %d deployments", len(self.registry.list()))

    async def close(self) -> None:
        await self.stats.close()
        await self.deployer.close()
        await self.supervisor.close()
        self.registry.close()
