"""`toshi dataset create|list|show|update|delete|open|close` and `toshi import FILE --dataset NAME`,
on a stopped server's data (SQLite), or beside running servers (PostgreSQL). Imports write through
the one write path: a Writer with every feature's listeners, over the opened store."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from toshi.catalogue.csv_import import ImportRefused
from toshi.catalogue.datasets import FREQUENCIES, LICENCES, Datasets, checked
from toshi.catalogue.harvest import HarvestRefused, harvest, harvest_dcat
from toshi.catalogue.importing import run_import
from toshi.catalogue.opening import OpenRefused, close_dataset, open_dataset
from toshi.catalogue.saved_query import query_of
from toshi.catalogue.standards import STANDARDS
from toshi.core.progress import Progress

DESCRIBING = (("title_ja", "title", "ja"), ("title_en", "title", "en"),
              ("description_ja", "description", "ja"), ("description_en", "description", "en"))


def add_commands(subparsers, cli) -> None:
    dataset = subparsers.add_parser("dataset", help="open-data catalogue datasets (toshi/catalogue)")
    commands = dataset.add_subparsers(dest="dataset_command", required=True)
    for name, run, audited, help_text in (
            ("create", _create, True, "describe a dataset (an entity type or a saved query)"),
            ("update", _update, True, "change a dataset's description or selection"),
            ("list", _list, False, "the tenant's datasets"),
            ("show", _show, False, "one dataset"),
            ("delete", _delete, True, "remove a dataset (closing it first)"),
            ("open", _open, True, "publish: everyone may read its attributes"),
            ("close", _close, True, "unpublish")):
        parser = commands.add_parser(name, help=help_text, parents=[cli.common])
        parser.add_argument("--tenant", default="", help="the tenant (default: the default tenant)")
        if name != "list":
            parser.add_argument("name", help="the dataset's name (a-z, 0-9, - and _)")
        if name in ("create", "update"):
            _describing(parser)
        parser.set_defaults(run=cli.with_store(_refusing(cli, run), audited=audited))
    imports = subparsers.add_parser("import", help="import a CSV (a standard dataset, or the dataset's mapping)",
                                    parents=[cli.common])
    imports.add_argument("file", type=Path)
    imports.add_argument("--dataset", required=True, help="the dataset (made from the file's standard if new)")
    imports.add_argument("--tenant", default="")
    imports.add_argument("--dry-run", action="store_true", help="only check the file")
    imports.add_argument("--prune", action="store_true", help="delete the dataset's entities whose row has gone")
    imports.set_defaults(run=cli.with_store(_refusing(cli, _import), audited=True))
    harvest = subparsers.add_parser("harvest", parents=[cli.common],
                                    help="pull a dataset another CKAN catalogue publishes into this town's entities")
    harvest.add_argument("catalogue", help="the other catalogue's address (its CKAN Action API is under /api/3/action)")
    harvest.add_argument("--package", required=True, help="the package's name or id there (with --dcat: the "
                         "dataset's dct:identifier or IRI)")
    harvest.add_argument("--dcat", action="store_true", help="the address is a DCAT catalogue document (Turtle, "
                         "JSON-LD or RDF/XML, e.g. another Toshi's /catalog), not a CKAN Action API")
    harvest.add_argument("--dataset", required=True, help="the dataset here (made from the CSV's standard if new)")
    harvest.add_argument("--tenant", default="")
    harvest.add_argument("--dry-run", action="store_true", help="only fetch and check the data")
    harvest.add_argument("--prune", action="store_true", help="delete the dataset's entities the source no longer has")
    harvest.set_defaults(run=cli.with_store(_refusing(cli, _harvest), audited=True))


def _refusing(cli, run):
    """run(cli, store, args), a ValueError (a bad dataset, say) told as the command line tells it."""
    def command(store, args) -> int:
        try:
            return run(cli, store, args)
        except ValueError as exc:
            print(f"toshi: {exc}", file=sys.stderr)
            return 2
    return command


def _describing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", help="the entity type")
    for flag, _, _ in DESCRIBING:
        parser.add_argument("--" + flag.replace("_", "-"), dest=flag)
    parser.add_argument("--attrs", help="the attributes it publishes, comma-separated")
    parser.add_argument("--q", help="NGSI-LD q of a saved query")
    parser.add_argument("--georel")
    parser.add_argument("--geometry")
    parser.add_argument("--coordinates")
    parser.add_argument("--publisher")
    parser.add_argument("--licence", choices=list(LICENCES))
    parser.add_argument("--keywords", help="comma-separated")
    parser.add_argument("--frequency", choices=FREQUENCIES)
    parser.add_argument("--spatial", help='a place name, or a bounding box "west,south,east,north"')
    parser.add_argument("--temporal-start", dest="temporal_start")
    parser.add_argument("--temporal-end", dest="temporal_end")
    parser.add_argument("--standard", choices=list(STANDARDS))
    parser.add_argument("--columns", help='a town\'s own CSV: JSON {"header": "attr" or "attr:kind"}')
    parser.add_argument("--id-column", dest="id_column")


def _doc(args: argparse.Namespace, existing: dict | None = None) -> dict:
    doc: dict = {"name": args.name}
    for key in ("type", "q", "georel", "geometry", "coordinates", "publisher", "licence", "frequency", "spatial",
                "temporal_start", "temporal_end", "standard", "id_column"):
        if getattr(args, key) is not None:
            doc[key] = getattr(args, key)
    for key in ("attrs", "keywords"):
        if getattr(args, key) is not None:
            doc[key] = [v.strip() for v in getattr(args, key).split(",") if v.strip()]
    if args.columns is not None:
        doc["columns"] = json.loads(args.columns)
    for flag, key, language in DESCRIBING:
        if getattr(args, flag) is not None:
            doc[key] = {**(existing or {}).get(key, {}), **doc.get(key, {}), language: getattr(args, flag)}
    return doc


def _checked(doc: dict, existing=None):
    dataset = checked(doc, existing=existing)
    query_of(dataset)
    return dataset


def _create(cli, store, args) -> int:
    datasets = Datasets(store)
    if datasets.get(args.name) is not None:
        raise ValueError(f"dataset {args.name} already exists")
    saved = datasets.save(_checked({**_doc(args), "tenant": args.tenant}))
    print(json.dumps(saved.doc(), ensure_ascii=False, indent=2))
    return 0


def _found(store, args):
    found = Datasets(store).get(args.name)
    if found is None or found.tenant != args.tenant:
        raise LookupError(f"no dataset {args.name} in tenant {args.tenant or 'default'}")
    return found


def _update(cli, store, args) -> int:
    existing = _found(store, args)
    dataset = _checked(_doc(args, existing.doc()), existing)
    saved = open_dataset(cli.services(store, args), store, dataset) if dataset.open else Datasets(store).save(dataset)
    print(json.dumps(saved.doc(), ensure_ascii=False, indent=2))
    return 0


def _list(cli, store, args) -> int:
    for dataset in Datasets(store).all():
        if dataset.tenant == args.tenant:
            state = "open" if dataset.open else "closed"
            print(f"{dataset.name}\t{state}\t{dataset.type}\t{dataset.title.get('ja') or dataset.title.get('en', '')}")
    return 0


def _show(cli, store, args) -> int:
    print(json.dumps(_found(store, args).doc(), ensure_ascii=False, indent=2))
    return 0


def _delete(cli, store, args) -> int:
    dataset = _found(store, args)
    if dataset.open:
        close_dataset(store, dataset)
    Datasets(store).delete(dataset.name)
    return 0


def _open(cli, store, args) -> int:
    try:
        dataset = open_dataset(cli.services(store, args), store, _found(store, args))
    except OpenRefused as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 1
    print(f"{dataset.name} is open: everyone may read {', '.join(dataset.attrs)} of {dataset.type}")
    return 0


def _close(cli, store, args) -> int:
    close_dataset(store, _found(store, args))
    return 0


def _harvest(cli, store, args) -> int:
    services = cli.services(store, args)
    try:
        with Progress(sys.stderr) as progress:
            pull = harvest_dcat if args.dcat else harvest
            report = asyncio.run(pull(services, args.catalogue, args.package, args.tenant, args.dataset,
                                      confirm=not args.dry_run, prune=args.prune, progress=progress))
    except HarvestRefused as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report["valid"] and not report.get("writeErrors") else 1


def _import(cli, store, args) -> int:
    data = args.file.read_bytes()
    services = cli.services(store, args)
    try:
        with Progress(sys.stderr) as progress:  # a bar on a terminal, plain lines in a log
            report = asyncio.run(run_import(services, args.tenant, args.dataset, data, confirm=not args.dry_run,
                                            prune=args.prune, progress=progress))
    except ImportRefused as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report["valid"] and not report.get("writeErrors") else 1
