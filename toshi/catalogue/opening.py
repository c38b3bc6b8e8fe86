"""Opening a dataset: one allow rule of the policy engine lets everyone ("*") read exactly the
dataset's attributes of its type's entities in its tenant, and closing it takes the rule away.
Attributes that the consent feature declares personal data can never be opened."""

from __future__ import annotations

from toshi.auth import policy_engine_of
from toshi.catalogue.datasets import Dataset, Datasets
from toshi.catalogue.saved_query import expand


class OpenRefused(ValueError):
    """The dataset cannot be opened as it stands (no attributes, or personal ones)."""


def rule_id(dataset: Dataset) -> str:
    return f"catalogue-open-{dataset.name}"


def personal_attributes(services, dataset: Dataset) -> set[str]:
    """The dataset's attributes that are personal data, as the consent feature (when this Toshi has
    it) declares them for the tenant and type."""
    consent = services.features.get("consent") if services is not None else None
    if consent is None:
        return set()
    declared = consent.service.declarations.of_tenant(dataset.tenant).get(expand(dataset.type))
    if declared is None:
        return set()
    return {a for a in dataset.attrs if expand(a) in declared.categories}


def open_dataset(services, store, dataset: Dataset) -> Dataset:
    if not dataset.attrs:
        raise OpenRefused("say which attributes the dataset publishes (attrs) before opening it")
    if refused := sorted(personal_attributes(services, dataset)):
        raise OpenRefused(f"personal data can never be opened: {', '.join(refused)}")
    policy_engine_of(store).put({
        "id": rule_id(dataset), "effect": "allow", "principals": ["*"], "actions": ["read"],
        "tenant": dataset.tenant or "default", "types": [dataset.type], "attrs": list(dataset.attrs),
        "description": f"open data: catalogue dataset {dataset.name}"})
    dataset.open = True
    return Datasets(store).save(dataset)


def close_dataset(store, dataset: Dataset) -> Dataset:
    policy_engine_of(store).delete(rule_id(dataset))
    dataset.open = False
    return Datasets(store).save(dataset)
