"""The Sumsub fake's services, built once per sandbox (the routes and the control plane use these)."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.events import Outbox
from simulator.core.runtime import Runtime
from simulator.sumsub.applicants import Applicants
from simulator.sumsub.auth import Workspaces
from simulator.sumsub.documents import Documents
from simulator.sumsub.notify import Notifier
from simulator.sumsub.share_tokens import ShareTokens


@dataclass(frozen=True)
class Sumsub:
    rt: Runtime
    workspaces: Workspaces
    notifier: Notifier
    applicants: Applicants
    documents: Documents
    share_tokens: ShareTokens

    @classmethod
    def build(cls, rt: Runtime, outbox: Outbox) -> Sumsub:
        workspaces = Workspaces(rt)
        notifier = Notifier(rt, workspaces, outbox)
        applicants = Applicants(rt, workspaces, notifier)
        return cls(
            rt=rt,
            workspaces=workspaces,
            notifier=notifier,
            applicants=applicants,
            documents=Documents(rt, workspaces, applicants, notifier),
            share_tokens=ShareTokens(rt, workspaces, applicants, notifier),
        )
