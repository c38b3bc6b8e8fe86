"""NGSI-LD context sources (ETSI GS CIM 009 v1.8 clauses 4.3.6, 5.9, 5.10, 5.11, 6.3.17): registrations
(`model.py`, `store.py`, `web.py`), registration subscriptions (`subscriptions.py`) and distributed
operations (`distributed.py`). Its public interface: what the NGSI-LD entity API calls to consult the
registered sources."""

from toshi.csources.distributed import forwarding_allowed, query, retrieve, split_write

__all__ = ["forwarding_allowed", "query", "retrieve", "split_write"]
