"""The NGSI-v2 (Orion) API over the one store. Its public interface to other features (the IoT agent
writes attributes as NGSI-v2 typed values, under Fiware-Service / Fiware-ServicePath). See docs/ngsi-v2.md."""

from toshi.ngsiv2.headers import SERVICE, SERVICE_PATH, tenant_of, write_scope
from toshi.ngsiv2.mapping import (
           FORBIDDEN,
           check_attr_name,
           check_name,
           infer_type,
           main_instance,
           parse_attribute,
)

__all__ = ["FORBIDDEN", "SERVICE", "SERVICE_PATH", "check_attr_name", "check_name", "infer_type", "main_instance",
           "parse_attribute", "tenant_of", "write_scope"]
