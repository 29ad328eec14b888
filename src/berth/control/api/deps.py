"""Shared route dependencies: the control plane, and a deployment name checked against DNS-1123."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from berth.control.plane import ControlPlane
from berth.errors import InvalidSpec
from berth.spec import NAME_PATTERN, NAME_RULE


def _plane(request: Request) -> ControlPlane:
    plane: ControlPlane = request.app.state.plane
    return plane


def check_name(name: Annotated[str, Path(description="the deployment's name (a DNS-1123 label)")]) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidSpec(f"{name!r} is not a valid name: {NAME_RULE}")
    return name


Plane = Annotated[ControlPlane, Depends(_plane)]
Name = Annotated[str, Depends(check_name)]
