"""All ORM classes, one file per table."""

from app.models.agent import Agent, AgentBatch, AgentToken, CheckVantage
from app.models.api_token import ApiToken
from app.models.base import Base
from app.models.check import Check
from app.models.dead_letter import DeadLetter
from app.models.flip import Flip
from app.models.incident import Incident
from app.models.incident_update import IncidentUpdate
from app.models.maintenance_window import MaintenanceWindow
from app.models.monitor_run import MonitorRun
from app.models.notification import NotifyPolicy, OutboxNotification
from app.models.probe_result import ProbeResult
from app.models.push_beat import PushBeat
from app.models.rollup import OutageDay, RollupDay, RollupMonth, RollupStale
from app.models.service import Service
from app.models.shard_lease import ShardLease, ShardReplica
from app.models.unit import Unit

__all__ = [
    "Agent",
    "AgentBatch",
    "AgentToken",
    "ApiToken",
    "Base",
    "Check",
    "CheckVantage",
    "DeadLetter",
    "Flip",
    "Incident",
    "IncidentUpdate",
    "MaintenanceWindow",
    "MonitorRun",
    "NotifyPolicy",
    "OutageDay",
    "OutboxNotification",
    "ProbeResult",
    "PushBeat",
    "RollupDay",
    "RollupMonth",
    "RollupStale",
    "Service",
    "ShardLease",
    "ShardReplica",
    "Unit",
]
