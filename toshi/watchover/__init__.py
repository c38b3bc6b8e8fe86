"""Watch-over (見守り): elderly residents and children who consented carry a beacon (passes at the town's
readers) or live with a home sensor; the service alerts the family member or care worker registered
for them when they have been quiet too long, when a pass is outside their area, or on a fall-like
event — only for the residents whose consent it holds, read through the one read path as its own
identity, every read noted in the residents' access log (docs/services.md).

Its public interface: the identity consents name as recipient, the purpose, and the personal-data
declarations a tenant makes so that default deny holds for its types."""

from toshi.watchover.rules import DECLARATIONS, PURPOSE, SERVICE_ID  # noqa: F401
