"""The maps' base style, built to work on a closed network: a background, then the town's own
GeoJSON layers (boundary, water, roads) when the town puts them in `<data dir>/basemap/`, and a
raster tile layer only when a tile URL is configured (`web_tile_url`, e.g. GSI tiles for an online
town). Nothing else: no fonts, no sprites, nothing fetched from elsewhere."""

from __future__ import annotations

from pathlib import Path

# file stem -> how it is drawn (MapLibre layer type and paint), in drawing order
LAYERS = {
    "boundary": ("fill", {"fill-color": "#f4f1e8", "fill-outline-color": "#8a8370"}),
    "water": ("fill", {"fill-color": "#b7d3ea"}),
    "roads": ("line", {"line-color": "#ffffff", "line-width": 2}),
}
BACKGROUND = "#e9eef2"


def folder(data_dir: str) -> Path:
    return Path(data_dir) / "basemap"


def present_layers(data_dir: str) -> list[str]:
    return [name for name in LAYERS if (folder(data_dir) / f"{name}.geojson").is_file()]


def style(settings, base_url: str) -> dict:
    sources: dict = {}
    layers: list = [{"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}]
    if settings.web_tile_url:
        sources["tiles"] = {"type": "raster", "tiles": [settings.web_tile_url], "tileSize": 256,
                            "attribution": settings.web_tile_attribution}
        layers.append({"id": "tiles", "type": "raster", "source": "tiles"})
    for name in present_layers(settings.data_dir):
        kind, paint = LAYERS[name]
        sources[name] = {"type": "geojson", "data": f"{base_url}/web/basemap/{name}.geojson"}
        layers.append({"id": f"base-{name}", "type": kind, "source": name, "paint": paint})
    return {"version": 8, "name": "Toshi offline base map", "sources": sources, "layers": layers}


def tile_origin(settings) -> str:
    """The scheme://host of the configured tile URL (the pages' CSP must allow it), or ""."""
    url = settings.web_tile_url
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"
