/* Maps (MapLibre GL JS, its CSP build): the offline base style from /web/basemap/style.json, one
   GeoJSON source of entities, colours by shelter congestion when asked. Each new set of entities is
   framed (fitted to its bounds); a large one is clustered, a small one (a town's shelters) is drawn
   point by point. Cluster counts are small HTML markers: the offline style has no fonts for labels. */
(function () {
  "use strict";
  const COLOURS = { vacant: "#1a7f37", moderate: "#b58100", crowded: "#c2410c", full: "#c92a2a",
    stopped: "#5c636a", unknown: "#8661c5" };
  const PLAIN = "#0b5cad";
  const CLUSTER_FROM = 500; // points: below this each is drawn (and keeps its colour)
  const MAX_ZOOM = 15;      // framing a few close points: streets, not a single building
  const { t, config } = window.Toshi;

  /* A point for any GeoJSON geometry (clusters need points): the middle of its first ring/line. */
  function pointOf(geometry) {
    if (!geometry || !geometry.coordinates) return null;
    let c = geometry.coordinates;
    while (Array.isArray(c[0])) c = c[Math.floor(c.length / 2)];
    return typeof c[0] === "number" ? { type: "Point", coordinates: [c[0], c[1]] } : null;
  }

  function makeMap(container, options) {
    const o = Object.assign({ colourByLevel: false, onPick: () => {} }, options);
    const features = new Map(); // entity id -> feature
    const handle = { features, ready: false, map: null, setFeatures, upsert, remove, colourOf };
    window.ToshiMaps = window.ToshiMaps || {};
    window.ToshiMaps[container.id] = handle;
    let map;
    try {
      maplibregl.setWorkerUrl("/web/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js");
      const [lon, lat, zoom] = (config.mapCenter || "136,36,4").split(",").map(Number);
      map = new maplibregl.Map({ container, style: "/web/basemap/style.json", center: [lon, lat], zoom,
        attributionControl: config.tileAttribution ? { compact: true, customAttribution: config.tileAttribution } : false });
    } catch (e) { // no WebGL: the lists beside the map still work
      container.append(window.Toshi.el("p", { className: "note", text: t("dash.unavailable") + " (WebGL)" }));
      return handle;
    }
    handle.map = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    map.getCanvas().setAttribute("aria-label", container.dataset.label || container.getAttribute("aria-label") || "map");
    let frame = !config.mapCenter; // a town that sets where the maps open keeps that view
    let framed = false;            // a set of entities was framed (so there is a view to keep)
    let clustered = false;
    let flushing = null;

    map.on("load", () => {
      map.addSource("entities", { type: "geojson", data: collection(), cluster: false, clusterRadius: 40,
        clusterMaxZoom: 14 });
      map.addLayer({ id: "clusters", type: "circle", source: "entities", filter: ["has", "point_count"],
        paint: { "circle-color": "#1f6feb", "circle-opacity": 0.8, "circle-stroke-color": "#fff", "circle-stroke-width": 2,
          "circle-radius": ["step", ["get", "point_count"], 14, 50, 18, 500, 24, 5000, 30] } });
      const colour = o.colourByLevel
        ? ["match", ["get", "_level"], ...Object.entries(COLOURS).flat(), COLOURS.unknown] : PLAIN;
      map.addLayer({ id: "points", type: "circle", source: "entities", filter: ["!", ["has", "point_count"]],
        paint: { "circle-color": colour, "circle-radius": 8, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
      map.on("click", "points", (e) => o.onPick(e.features[0].properties._id));
      map.on("click", "clusters", async (e) => {
        const feature = e.features[0];
        const zoom = await map.getSource("entities").getClusterExpansionZoom(feature.properties.cluster_id);
        map.easeTo({ center: feature.geometry.coordinates, zoom });
      });
      for (const layer of ["points", "clusters"]) {
        map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
        map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
      }
      map.on("render", countMarkers);
      handle.ready = true;
      flush();
      frameGround();
    });

    /* Until entities are shown: the town's own ground (the base map's boundary), not all of Japan. */
    async function frameGround() {
      const source = map.getStyle().sources.boundary;
      let ground = source && source.data; // the GeoJSON itself once loaded, else its URL
      if (typeof ground === "string") ground = await fetch(ground).then((r) => r.json()).catch(() => null);
      if (!ground || !frame || features.size) return; // entities came first: they are framed
      const bounds = new maplibregl.LngLatBounds();
      let corners = 0;
      const extend = (c) => (typeof c[0] === "number" ? (bounds.extend(c), corners++) : c.forEach(extend));
      for (const f of ground.features || []) if (f.geometry) extend(f.geometry.coordinates);
      if (corners) map.fitBounds(bounds, { padding: 20, duration: 0 });
    }

    function collection() {
      return { type: "FeatureCollection", features: Array.from(features.values()) };
    }

    function flush() {
      if (!handle.ready || flushing) return;
      flushing = setTimeout(() => {
        flushing = null;
        const source = map.getSource("entities");
        if (clustered !== features.size >= CLUSTER_FROM) {
          clustered = !clustered;
          source.setClusterOptions({ cluster: clustered });
        }
        source.setData(collection());
        if (frame && features.size) fit();
        container.dataset.points = String(features.size);
        container.dataset.clustered = String(clustered);
      }, 50);
    }

    function fit() {
      frame = false;
      framed = true;
      const bounds = new maplibregl.LngLatBounds();
      for (const f of features.values()) bounds.extend(f.geometry.coordinates);
      map.fitBounds(bounds, { padding: 40, maxZoom: MAX_ZOOM, duration: 0 });
    }

    function toFeature(id, geometry, properties) {
      const point = pointOf(geometry);
      if (!point) return null;
      const props = Object.assign({}, properties, { _id: id });
      if (o.colourByLevel) props._level = window.Toshi.shelterLevel(properties);
      return { type: "Feature", geometry: point, properties: props };
    }

    /* A new set (a query's answer): framed, unless `keepView` (the reader chose the area) once it is. */
    function setFeatures(list, keepView) {
      if (!config.mapCenter) frame = !(keepView && framed);
      features.clear();
      for (const f of list) {
        const feature = toFeature(f.id, f.geometry, f.properties || {});
        if (feature) features.set(f.id, feature);
      }
      flush();
    }

    function upsert(id, geometry, properties) {
      const feature = toFeature(id, geometry, properties);
      if (feature) features.set(id, feature); else features.delete(id);
      flush();
    }

    function remove(id) {
      features.delete(id);
      flush();
    }

    /* The colour the map draws an entity in now (null when it is not drawn as a point). */
    function colourOf(id) {
      if (!handle.ready) return null;
      const found = map.queryRenderedFeatures({ layers: ["points"] }).find((f) => f.properties._id === id);
      return found ? hex(found.layer.paint["circle-color"]) : null;
    }

    function hex(colour) {
      if (typeof colour === "string") return colour.toLowerCase();
      const byte = (v) => Math.round(v * 255).toString(16).padStart(2, "0");
      return "#" + byte(colour.r) + byte(colour.g) + byte(colour.b);
    }

    const markers = new Map();
    function countMarkers() {
      if (!map.getSource("entities") || !map.isSourceLoaded("entities")) return;
      const seen = new Set();
      for (const f of map.querySourceFeatures("entities", { filter: ["has", "point_count"] })) {
        const key = f.properties.cluster_id;
        if (seen.has(key)) continue;
        seen.add(key);
        let marker = markers.get(key);
        if (!marker) {
          const label = window.Toshi.el("div", { className: "cluster-count", "aria-hidden": "true" });
          marker = new maplibregl.Marker({ element: label }).setLngLat(f.geometry.coordinates).addTo(map);
          markers.set(key, marker);
        }
        marker.getElement().textContent = f.properties.point_count_abbreviated;
        marker.setLngLat(f.geometry.coordinates);
      }
      for (const [key, marker] of markers) {
        if (!seen.has(key)) { marker.remove(); markers.delete(key); }
      }
    }
    return handle;
  }

  window.Toshi.makeMap = makeMap;
  window.Toshi.COLOURS = COLOURS;
})();
