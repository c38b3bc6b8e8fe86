"""NGSI-LD context sources (ETSI GS CIM 009 v1.8 clauses 4.3.6, 5.9, 5.10, 5.11, 6.3.17): registrations
(`model.py`, `store.py`, `web.py`), registration subscriptions (`subscriptions.py`) and distributed
operations: which sources to ask and how (`sources.py`), reads (`reads.py`, `merge.py`, `discovery.py`,
`temporal.py`) and writes (`writes.py`, `batch.py`, `temporal_writes.py`). Its public interface: what the NGSI-LD entity API calls to consult the
registered sources."""

from toshi.csources.batch import split_batch
from toshi.csources.discovery import attribute_details, merged_attributes, merged_types, type_details
from toshi.csources.reads import query, retrieve
from toshi.csources.sources import forwarding_allowed
from toshi.csources.temporal import query as temporal_query
from toshi.csources.temporal import retrieve as temporal_retrieve
from toshi.csources.temporal_writes import temporal_write
from toshi.csources.writes import purge, split_write

__all__ = ["attribute_details", "forwarding_allowed", "merged_attributes", "merged_types", "purge", "query", "retrieve",
           "split_batch", "split_write", "temporal_query", "temporal_retrieve", "temporal_write", "type_details"]
