"""Who may use the coordinator's API and what they did: hashed API tokens with roles and
sites (`tokens`), site scopes (`scope`) and the hash-chained audit log (`audit_log`).

Pure logic and file/SQLite I/O only; the HTTP side lives in `coordinator.api`.
"""

from coordinator.access.audit_log import AuditLog, AuditRecord, verify_chain
from coordinator.access.scope import Scope
from coordinator.access.tokens import ROLES, Role, TokenEntry, TokenFile, TokenFileError

__all__ = [
    "ROLES",
    "AuditLog",
    "AuditRecord",
    "Role",
    "Scope",
    "TokenEntry",
    "TokenFile",
    "TokenFileError",
    "verify_chain",
]
