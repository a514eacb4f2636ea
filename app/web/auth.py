"""The admin token: from the settings ($DIGITNET_ADMIN_TOKEN), or generated once and kept in the state
directory.

Admin requests carry it as ``Authorization: Bearer <token>``. There are no cookies, so a page on
another site cannot make a browser start a run. The comparison takes the same time whatever the
guess, so timing does not leak the token.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.deps import ServicesDep
from app.settings import MIN_TOKEN_LENGTH

log = logging.getLogger("digitnet")
TOKEN_FILE = "admin-token"


def load_or_create_token(home: Path, configured: str | None = None) -> str:
    """The configured token, else the stored one, else a new one stored with mode 0600."""
    if configured:
        return configured
    path = home / TOKEN_FILE
    token = secrets.token_urlsafe(32)
    # Written whole under a private name, then linked into place: several workers starting at once
    # agree on one token, and none ever reads a half-written file.
    tmp = home / f".{TOKEN_FILE}-{os.getpid()}-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
        log.warning("generated an admin token; it is in %s (readable by this user only)", path)
    except FileExistsError:
        token = path.read_text().strip()
    finally:
        tmp.unlink()
    if len(token) < MIN_TOKEN_LENGTH:
        raise RuntimeError(f"the admin token in {path} is too short; delete the file to make a new one")
    return token


bearer = HTTPBearer(auto_error=False, description="the admin token")  # also documents it in OpenAPI


async def require_admin(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """FastAPI dependency: 401 unless the request carries the admin token."""
    expected = services.admin_token
    given = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "admin token missing or wrong", headers={"WWW-Authenticate": "Bearer"})
