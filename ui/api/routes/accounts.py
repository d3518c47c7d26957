"""/integrations/users/ and /integrations/api-keys/: the tenant's people and their API keys,
managed by an owner. A created key is in that one answer only; a list never holds a key."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tools import api_keys, paging, users
from tools.context import Role
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["accounts"], responses=errors(401, 403, 422))
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the "
                                                                 "previous page")]
Limit = Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)]


@router.get("/users/", response_model=paging.Page[users.UserPublic])
async def list_users(services: ServicesDep, caller: CallerDep, role: Role | None = None,
                     cursor: Cursor = None, limit: Limit = 50) -> paging.Page[users.UserPublic]:
    return await users.list_users(services, caller, role, cursor, limit)


@router.post("/users/", status_code=201, response_model=users.UserPublic,
             responses=errors(400, 409, 413))
async def create_user(services: ServicesDep, caller: CallerDep,
                      body: users.UserCreate) -> users.UserPublic:
    return await users.create_user(services, caller, body)


@router.patch("/users/{user_id}/", response_model=users.UserPublic,
              responses=errors(400, 404, 409, 413))
async def update_user(services: ServicesDep, caller: CallerDep, user_id: uuid.UUID,
                      body: users.UserUpdate) -> users.UserPublic:
    """Change a user's role or name; the only owner stays owner."""
    return await users.update_user(services, caller, user_id, body)


@router.delete("/users/{user_id}/", status_code=204, responses=errors(404, 409))
async def remove_user(services: ServicesDep, caller: CallerDep, user_id: uuid.UUID) -> Response:
    """Remove a user and their API keys; the only owner cannot be removed."""
    await users.remove_user(services, caller, user_id)
    return Response(status_code=204)


@router.get("/api-keys/", response_model=paging.Page[api_keys.ApiKeyPublic])
async def list_keys(services: ServicesDep, caller: CallerDep, user_id: uuid.UUID | None = None,
                    revoked: bool | None = None, cursor: Cursor = None,
                    limit: Limit = 50) -> paging.Page[api_keys.ApiKeyPublic]:
    return await api_keys.list_keys(services, caller, user_id, revoked, cursor, limit)


@router.post("/api-keys/", status_code=201, response_model=api_keys.ApiKeyCreated,
             responses=errors(400, 413))
async def create_key(services: ServicesDep, caller: CallerDep,
                     body: api_keys.ApiKeyCreate) -> api_keys.ApiKeyCreated:
    """The key is in this answer and never again: keep it."""
    return await api_keys.create_key(services, caller, body)


@router.post("/api-keys/{key_id}/revoke/", response_model=api_keys.ApiKeyPublic,
             responses=errors(404, 409))
async def revoke_key(services: ServicesDep, caller: CallerDep,
                     key_id: uuid.UUID) -> api_keys.ApiKeyPublic:
    return await api_keys.revoke_key(services, caller, key_id)
