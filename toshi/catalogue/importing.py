"""An import as the admin API and `toshi import` run it: into an existing dataset, or into a new one
made from the standard the file's headers show; validate, and write only when confirmed and valid."""

from __future__ import annotations

import csv
import io

from toshi.catalogue import csv_import
from toshi.catalogue.datasets import Dataset, Datasets, checked
from toshi.catalogue.opening import open_dataset
from toshi.catalogue.standards import OTHER_COLUMNS, recognise
from toshi.core.progress import Progress


def dataset_for(datasets: Datasets, tenant: str, name: str, data: bytes) -> tuple[Dataset, bool]:
    """The dataset to import into, and whether it is new (made from the file's standard, not saved yet)."""
    existing = datasets.get(name)
    if existing is not None:
        if existing.tenant != tenant:
            raise LookupError(f"dataset {name} belongs to another tenant")
        return existing, False
    text, _ = csv_import.decode(data)
    headers = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
    found = recognise(headers)
    if found is None:
        raise csv_import.ImportRefused(f"no dataset {name}, and the file is not a standard dataset this Toshi "
                                       "knows: create the dataset first with its column mapping")
    return checked({"name": name, "type": found.type, "tenant": tenant, "standard": found.id,
                    "title": {"ja": found.title_ja, "en": found.title_en},
                    "keywords": [found.title_ja], "attrs": []}), True


async def run_import(services, tenant: str, name: str, data: bytes, *, confirm: bool, prune: bool,
                     progress: Progress | None = None) -> dict:
    """The import's report; writes (and saves a new dataset) only when confirmed and every row is valid
    (`progress`: told of the rows checked and the entities written)."""
    datasets = Datasets(services.store)
    dataset, new = dataset_for(datasets, tenant, name, data)
    plan = csv_import.plan(dataset, data, progress)
    report = {"dataset": dataset.name, "newDataset": new, **plan.report(), "written": False}
    if not confirm or plan.error_count:
        return report
    report["changes"], report["writeErrors"] = await csv_import.write(services, dataset, plan, prune=prune,
                                                                      progress=progress)
    report["written"] = True
    extra = [h for h in plan.headers if plan.standard.column(h) is None]
    dataset.extra_columns = extra
    if new:
        present = {plan.standard.column(h).attr for h in plan.headers if plan.standard.column(h) is not None}
        dataset.attrs = [a for a in plan.standard.attrs if a in present] + ([OTHER_COLUMNS] if extra else [])
    if dataset.open and extra and OTHER_COLUMNS not in dataset.attrs:
        dataset.attrs.append(OTHER_COLUMNS)
        open_dataset(services, services.store, dataset)  # the rule follows the attributes
    else:
        datasets.save(dataset)
    return report
