"""The data model; importing this package registers every table."""

from leadrouter.models.advisor import ADVISOR_STATUSES, API_ADVISOR_STATUSES, SET_AWAY_ACTION, Advisor
from leadrouter.models.base import utcnow
from leadrouter.models.lead import (
    LEAD_SOURCES,
    LEAD_STATUSES,
    OPEN_STATUSES,
    URGENCY_RANK,
    ConsentRecord,
    Event,
    FollowUp,
    Lead,
)
from leadrouter.models.report import ReportHour, ReportPartial, ReportRollupState
from leadrouter.models.routing import Assignment, Notification, RoutingDecision
from leadrouter.models.security import AccessLog, ApiKey, AuditEntry, IdempotencyRecord, Setting
from leadrouter.models.telephony import (
    ANSWERED_WITH_LENGTH,
    CALL_STATUS_ORDER,
    Call,
    CallOffer,
    ContactPreference,
    Recording,
    TextMessage,
    TrackingNumber,
    holding_now,
    live_call,
)
from leadrouter.models.user import ROLES, User
from leadrouter.models.worker import WorkerHeartbeat

__all__ = [
    "ANSWERED_WITH_LENGTH",
    "ADVISOR_STATUSES",
    "API_ADVISOR_STATUSES",
    "CALL_STATUS_ORDER",
    "LEAD_SOURCES",
    "LEAD_STATUSES",
    "OPEN_STATUSES",
    "ROLES",
    "SET_AWAY_ACTION",
    "URGENCY_RANK",
    "AccessLog",
    "Advisor",
    "ApiKey",
    "Assignment",
    "AuditEntry",
    "Call",
    "CallOffer",
    "ConsentRecord",
    "ContactPreference",
    "Event",
    "FollowUp",
    "IdempotencyRecord",
    "Lead",
    "Notification",
    "Recording",
    "ReportHour",
    "ReportPartial",
    "ReportRollupState",
    "RoutingDecision",
    "Setting",
    "TextMessage",
    "TrackingNumber",
    "User",
    "WorkerHeartbeat",
    "holding_now",
    "live_call",
    "utcnow",
]
