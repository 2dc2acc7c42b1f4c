"""The JSON API under /api/v1: thin controllers over votes.service."""

from __future__ import annotations

from litestar import Router

from votes.settings import Settings
from web.routes.api.auth import AuthController, StaffController
from web.routes.api.ballots import StaffBallotController, owner_ballot_controller
from web.routes.api.credentials import CredentialController, CredentialRequestController
from web.routes.api.meetings import MeetingController, MeetingLifecycleController
from web.routes.api.objections import ObjectionController
from web.routes.api.officers import OfficerKeyController
from web.routes.api.record import RecordController
from web.routes.api.regions import RegionController
from web.routes.api.turnout import TurnoutController

__all__ = ["api_router"]


def api_router(settings: Settings) -> Router:
    return Router(
        "/",
        route_handlers=[
            AuthController,
            StaffController,
            OfficerKeyController,
            RegionController,
            MeetingController,
            MeetingLifecycleController,
            CredentialController,
            CredentialRequestController,
            owner_ballot_controller(settings.max_body_bytes),
            StaffBallotController,
            TurnoutController,
            RecordController,
            ObjectionController,
        ],
    )
