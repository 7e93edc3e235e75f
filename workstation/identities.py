"""One customer across channels on the desktop: finding the customer to merge with in the local cache, and
merging or splitting through the team server."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from workstation import protocol
from workstation.cache import Cache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerMatch:
    """A customer the agent may merge with: their name and every channel identity (channel, handle)."""

    customer_id: int
    display_name: str
    identities: tuple[tuple[str, str], ...]


def find_customers(cache: Cache, text: str, *, exclude: int | None = None, limit: int = 20) -> list[CustomerMatch]:
    """Customers whose name or handle matches the text (the cache's people search), most recently active
    first. Customers with no identity left (merged into another) never match: search finds people through
    their conversations. Blocking: call it on the database worker."""
    found: list[CustomerMatch] = []
    seen: set[int] = set() if exclude is None else {exclude}
    for hit in cache.search(text, limit=limit * 3):
        if hit.matched != "customer":
            continue
        customer_id = cache.customer_id_of(hit.conversation_id)
        if customer_id is None or customer_id in seen:
            continue
        seen.add(customer_id)
        customer = cache.customer(customer_id)
        identities = tuple((i.channel, i.handle) for i in cache.customer_identities(customer_id))
        if customer is None or not identities:
            continue
        found.append(CustomerMatch(customer_id, customer.display_name, identities))
        if len(found) >= limit:
            break
    return found


def identity_id(cache: Cache, customer_id: int, channel: str, handle: str) -> int | None:
    """The id of one of the customer's identities, as the cache has it."""
    for identity in cache.customer_identities(customer_id):
        if identity.channel == channel and identity.handle == handle:
            return identity.id
    return None


# -- through the workspace (async: the database worker, the API) ------------------------------------------------
async def search(workspace, text: str, *, exclude: int | None = None) -> list[CustomerMatch]:
    return await workspace.db.run(lambda: find_customers(workspace.cache, text, exclude=exclude))


async def _catch_up(workspace) -> None:
    """Pulls now, so the cache holds the move the server just made; offline, the next pull brings it."""
    try:
        await workspace.engine.pull()
    except Exception as exc:  # noqa: BLE001 (a failed pull is retried by the sync loop anyway)
        log.info("pull after a merge or split failed: %s", exc)
        workspace.engine.request_pull()


async def merge_customers(workspace, customer_id: int, other_customer_id: int) -> protocol.CustomerPublic:
    """The other customer's identities and conversations join this customer on the server (errors are raised
    for the caller to show); the cache then pulls the move."""
    customer = await workspace.api.merge_customers(customer_id, other_customer_id)
    await _catch_up(workspace)
    return customer


async def split_identity(workspace, customer_id: int, channel: str, handle: str) -> protocol.CustomerPublic:
    """One identity of the customer (and its conversations) becomes a customer of its own on the server;
    answers the new customer. LookupError when the cache no longer has that identity for this customer."""
    found = await workspace.db.run(identity_id, workspace.cache, customer_id, channel, handle)
    if found is None:
        raise LookupError("this channel identity is no longer the customer's")
    customer = await workspace.api.split_identity(found)
    await _catch_up(workspace)
    return customer
