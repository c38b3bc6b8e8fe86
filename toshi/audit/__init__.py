"""The tamper-evident audit trail: its public interface to other features."""

from toshi.audit.commands import record_cli
from toshi.audit.log import AuditLog, audit_log_of

__all__ = ["AuditLog", "audit_log_of", "record_cli"]
