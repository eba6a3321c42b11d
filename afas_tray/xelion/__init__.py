"""Xelion REST and websocket client: the public face other packages import (nothing reaches
inside)."""

from afas_tray.xelion.addressables import AddressablesApi, Summary
from afas_tray.xelion.capture import Capture, active_channels_reply, replay
from afas_tray.xelion.client import (
    CallDetails,
    CommunicationItem,
    Participant,
    XelionClient,
    parse_xelion_date,
)
from afas_tray.xelion.errors import (
    CODE_BAD_PAYLOAD,
    CODE_NO_DEVICE,
    CODE_NO_DEVICE_NUMBER,
    CODE_NO_PAYLOAD,
    CODE_NO_PERMISSION,
    XelionAlreadyLoggedIn,
    XelionAuthError,
    XelionConfigError,
    XelionDialRefused,
    XelionError,
    XelionMfaRequired,
    XelionNoPermission,
    XelionRequestError,
    XelionUnavailable,
)
from afas_tray.xelion.missed_call import parse_missed_call
from afas_tray.xelion.stream import StreamState, StreamStatus, XelionEventStream
from afas_tray.xelion.trigger import (
    TRIGGER_VALUE,
    is_ours,
    mark_trigger_seen,
    recommended_trigger,
    trigger_rows,
    trigger_seen,
)

__all__ = [
    "CODE_BAD_PAYLOAD",
    "CODE_NO_DEVICE",
    "CODE_NO_DEVICE_NUMBER",
    "CODE_NO_PAYLOAD",
    "CODE_NO_PERMISSION",
    "TRIGGER_VALUE",
    "AddressablesApi",
    "CallDetails",
    "Capture",
    "CommunicationItem",
    "Participant",
    "StreamState",
    "StreamStatus",
    "Summary",
    "XelionAlreadyLoggedIn",
    "XelionAuthError",
    "XelionClient",
    "XelionConfigError",
    "XelionDialRefused",
    "XelionError",
    "XelionEventStream",
    "XelionMfaRequired",
    "XelionNoPermission",
    "XelionRequestError",
    "XelionUnavailable",
    "active_channels_reply",
    "is_ours",
    "mark_trigger_seen",
    "parse_missed_call",
    "parse_xelion_date",
    "recommended_trigger",
    "replay",
    "trigger_rows",
    "trigger_seen",
]
