"""NGSI-LD subscriptions (ETSI GS CIM 009 v1.8 clauses 5.2.12, 5.8, 5.11): the stored model
(`model.py`), what changed in an entity (`diff.py`), matching a change against a subscription
(`matching.py`), the notified entity (`notification.py`) and the HTTP API (`web.py`)."""
