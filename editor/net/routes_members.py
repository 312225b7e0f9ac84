"""REST routes of ``/v1/documents/{id}/members``: who has access, sharing, invitations.

Sharing with an email answers the same whatever the email: a user with that address gets
the role at once, an address without an account gets a pending invitation that becomes a
role once someone proves they own it (the verification link, or an OIDC issuer). Either way
the address gets a mail, so probing which addresses have accounts is neither silent nor
visible in the answer (PROTOCOL.md §4; docs/security.md).
"""

from __future__ import annotations

import smtplib
from typing import Any

from quart import Blueprint

from editor import logs
from editor.auth.emails import InvalidEmail, normalize_email
from editor.auth.mail import Mail, invitation_mail, share_mail
from editor.errors import BadRequest, NotFound
from editor.net.access import document_with_role, require
from editor.net.plumbing import current_user, json_body, limit, services
from editor.store import ROLES, DocumentMeta, User

log = logs.get(__name__)
member_routes = Blueprint("members", __name__, url_prefix="/<doc_id>/members")
# Each share may send a mail to an address of the caller's choosing.


def _email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidEmail as exc:
        raise BadRequest(f"'email' is not a valid email address: {exc}",
                         code="validation") from None


async def _owned(doc_id: str, user: User) -> DocumentMeta:
    meta, role = await document_with_role(doc_id, user)
    require(role, "owner")
    return meta


@member_routes.get("")
async def members(doc_id: str) -> list[dict[str, Any]]:
    """Everyone with a role on the document; for the owner, pending invitations too."""
    user = await current_user()
    _, role = await document_with_role(doc_id, user)
    store = services().store
    listed: list[dict[str, Any]] = [
        {"user_id": m.user_id, "email": m.email, "name": m.name, "role": m.role,
         "pending": False} for m in await store.members(doc_id)]
    if role == "owner":
        listed += [{"user_id": None, "email": i.email, "name": "", "role": i.role,
                    "pending": True} for i in await store.invitations(doc_id)]
    return listed


@member_routes.put("/<email>")
async def put_member(doc_id: str, email: str) -> dict[str, Any]:
    """Share with an email (owner only): a role for its account, else an invitation."""
    user = await current_user()
    body = await json_body({"role"})
    meta = await _owned(doc_id, user)
    new_role = body["role"]
    if new_role not in ROLES:
        raise BadRequest(f"'role' must be one of {', '.join(ROLES)}", code="validation")
    email = _email(email)
    await limit(f"share-user:{user.id}", services().cfg.shares_per_user_per_min)
    store = services().store
    member = await store.user_by_email(email)
    base = services().cfg.public_url.rstrip("/")
    mail: Mail | None = None
    if member is not None:
        if member.id == meta.owner_id and new_role != "owner":
            raise BadRequest("the owner's role cannot be changed", code="validation")
        had_role = await store.role_of(doc_id, member.id)
        await store.set_member(doc_id, member.id, new_role)
        services().engine.set_role(doc_id, member.id, new_role)
        if had_role is None:
            mail = share_mail(member.email, user.name, meta.title, f"{base}/d/{doc_id}")
    elif await store.invite(doc_id, email, new_role, user.id):
        mail = invitation_mail(email, user.name, meta.title, f"{base}/register")
    if mail is not None:
        await _send(mail, doc_id)
    # The same answer whether or not the address has an account.
    return {"email": email, "role": new_role}


async def _send(mail: Mail, doc_id: str) -> None:
    """Mail; a failure is logged, not raised: the role or invitation stands either way."""
    try:
        await services().auth.mailer.send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send the sharing email", extra={"doc_id": doc_id,
                                                             "error": repr(exc)})


@member_routes.delete("/<email>")
async def delete_member(doc_id: str, email: str) -> tuple[str, int]:
    """Take a role away, or withdraw an invitation (owner only); their open sessions close
    with 4403."""
    user = await current_user()
    meta = await _owned(doc_id, user)
    email = _email(email)
    store = services().store
    member = await store.user_by_email(email)
    if member is not None and await store.role_of(doc_id, member.id):
        if member.id == meta.owner_id:
            raise BadRequest("the owner cannot be removed", code="validation")
        await store.remove_member(doc_id, member.id)
        services().engine.set_role(doc_id, member.id, None)
        return "", 204
    if await store.revoke_invitation(doc_id, email):
        return "", 204
    raise NotFound("nobody with this email has a role or an invitation here")
