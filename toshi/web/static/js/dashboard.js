/* The operations dashboard: a live map of any entity type with a GeoProperty (`location` or another
   one the type has), filtered by q, district and an area (the map's view, or a box drawn with
   Shift+drag), read for a purpose (Toshi-Purpose: what residents' consents are given for), the
   entity inspector (attributes, history chart, links), IoT devices and notification health. The
   filters are the API's own: q, and a geo-query (georel=within). */
(function () {
  "use strict";
  const T = window.Toshi;
  const { api, el, fill, t } = T;
  const params = new URLSearchParams(location.search);
  const typeSelect = document.getElementById("type");
  const qInput = document.getElementById("q");
  const geoSelect = document.getElementById("geoprop");
  const districtInput = document.getElementById("district");
  const purposeInput = document.getElementById("purpose");
  let bbox = parseBox(params.get("bbox")); // [west, south, east, north] or null
  let stream = null;
  let shown = new Map(); // id -> keyValues properties

  const map = T.makeMap(document.getElementById("map"), { onPick: inspect });

  async function loadTypes() {
    try {
      const list = await api("/ngsi-ld/v1/types");
      for (const type of list.typeList || []) typeSelect.append(el("option", { value: type, text: type }));
    } catch (e) { /* the list stays empty: nothing this reader may see */ }
    typeSelect.value = params.get("type") || "";
    qInput.value = params.get("q") || "";
    districtInput.value = params.get("district") || "";
    purposeInput.value = T.config.purpose || "";
    await loadGeoProperties(params.get("geoprop"));
  }

  /* The type's GeoProperties (from /types/{type}), `location` first when it has one. */
  async function loadGeoProperties(wanted) {
    let names = [];
    if (typeSelect.value) {
      try {
        const info = await api("/ngsi-ld/v1/types/" + encodeURIComponent(typeSelect.value));
        names = (info.attributeDetails || []).filter((a) => [].concat(a.attributeTypes || []).includes("GeoProperty"))
          .map((a) => a.attributeName);
      } catch (e) { /* none this reader may see */ }
    }
    names.sort((a, b) => (b === "location") - (a === "location") || a.localeCompare(b));
    if (!names.length) names = ["location"];
    geoSelect.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    geoSelect.value = names.includes(wanted) ? wanted : names[0];
  }

  function parseBox(text) {
    const box = (text || "").split(",").map(Number);
    if (box.length !== 4 || box.some((v) => !Number.isFinite(v))) return null;
    const [w, s, e, n] = box;
    return w < e && s < n && w >= -180 && e <= 180 && s >= -90 && n <= 90 ? box : null;
  }

  function round(v) {
    return Math.round(v * 1e5) / 1e5;
  }

  /* The query of the chosen filters: the user's q and the district together (;), the area as a
     geo-query on the chosen GeoProperty. */
  function currentQuery() {
    const query = { type: typeSelect.value };
    const terms = [];
    if (qInput.value.trim()) terms.push(qInput.value.trim());
    const district = districtInput.value.trim().replace(/["\\]/g, "");
    if (district) terms.push('district=="' + district + '"');
    if (terms.length) query.q = terms.join(";");
    const geo = geoSelect.value || "location";
    if (geo !== "location") query.geometryProperty = geo; // the GeoJSON geometry: this one
    if (bbox) {
      const [w, s, e, n] = bbox;
      query.georel = "within";
      query.geometry = "Polygon";
      query.coordinates = JSON.stringify([[[w, s], [e, s], [e, n], [w, n], [w, s]]]);
      query.geoproperty = geo;
    }
    return query;
  }

  function showArea() {
    const area = document.getElementById("area");
    area.dataset.bbox = bbox ? bbox.join(",") : "";
    area.textContent = bbox ? t("dash.area.set", { bbox: bbox.join(", ") }) : "";
    document.getElementById("area-clear").hidden = !bbox;
  }

  function remember() {
    const next = new URLSearchParams(location.search);
    const values = { type: typeSelect.value, q: qInput.value.trim(), district: districtInput.value.trim(),
      geoprop: geoSelect.value === "location" ? "" : geoSelect.value, bbox: bbox ? bbox.join(",") : "",
      purpose: T.config.purpose };
    for (const [key, value] of Object.entries(values)) {
      if (value) next.set(key, value); else next.delete(key);
    }
    history.replaceState(null, "", "?" + next);
  }

  function setArea(bounds) {
    bbox = bounds ? [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map(round) : null;
    if (bbox && !parseBox(bbox.join(","))) bbox = null; // a view across the antimeridian or the poles
    showArea();
    remember();
    show();
  }

  function renderDistricts() {
    const names = new Set();
    for (const props of shown.values()) if (props.district) names.add(T.text(props.district));
    fill("districts", Array.from(names).sort().map((d) => el("option", { value: d })));
  }

  function label(props) {
    return T.text(props.name) || "";
  }

  async function show() {
    const type = typeSelect.value;
    if (stream) stream.stop();
    if (!type) {
      shown = new Map();
      map.setFeatures([]);
      renderList();
      document.getElementById("count").textContent = t("dash.type.choose");
      return;
    }
    const query = currentQuery();
    let features = [];
    try {
      features = await T.allFeatures(query);
    } catch (e) {
      document.getElementById("count").textContent = T.t("console.error") + e.message;
      return;
    }
    shown = new Map(features.map((f) => [f.id, Object.assign({ id: f.id }, f.properties, { _geometry: f.geometry })]));
    map.setFeatures(features, Boolean(bbox)); // an area the reader chose stays in view
    renderList();
    renderDistricts();
    document.body.dataset.loaded = String(features.length);
    const live = Object.assign({}, query);
    delete live.geometryProperty; // the stream sends keyValues entities: the attribute itself is there
    stream = T.live(live, onChange, T.liveState);
  }

  async function onChange(event) {
    const settled = await T.settle(event);
    if (!settled) return;
    const { entity, gone } = settled;
    if (gone) {
      shown.delete(entity.id);
      map.remove(entity.id);
    } else {
      const geometry = entity[geoSelect.value || "location"] || (shown.get(entity.id) || {})._geometry;
      shown.set(entity.id, Object.assign({}, entity, { _geometry: geometry }));
      map.upsert(entity.id, geometry, entity);
    }
    renderList();
    if (document.getElementById("inspector-id").textContent !== entity.id) return;
    if (gone) closeInspector(); else inspect(entity.id);
  }

  function closeInspector() {
    document.getElementById("inspector-body").hidden = true;
    document.getElementById("inspector-empty").hidden = false;
    document.getElementById("inspector-id").textContent = "";
    fill("inspector-attrs", []);
  }

  function renderList() {
    const rows = [];
    let n = 0;
    for (const [id, props] of shown) {
      if (n++ >= 200) break; // the map shows all; the list the first 200
      rows.push(el("tr", {}, el("td", {}, el("button", { type: "button", className: "link", onclick: () => inspect(id), text: id })),
        el("td", { text: label(props) })));
    }
    fill("entity-list", rows);
    document.getElementById("count").textContent = t("dash.count", { n: shown.size });
  }

  async function inspect(id) {
    let entity;
    try {
      entity = await api("/ngsi-ld/v1/entities/" + encodeURIComponent(id) + "?options=keyValues");
    } catch (e) {
      if (document.getElementById("inspector-id").textContent === id) closeInspector(); // no longer readable
      return;
    }
    document.getElementById("inspector-empty").hidden = true;
    document.getElementById("inspector-body").hidden = false;
    document.getElementById("inspector-id").textContent = id;
    const rows = Object.entries(entity).filter(([k]) => !["id", "@context"].includes(k))
      .map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: T.text(v) })));
    fill("inspector-attrs", rows);
    const links = [["NGSI-LD", "/ngsi-ld/v1/entities/" + encodeURIComponent(id)],
      ["temporal", "/ngsi-ld/v1/temporal/entities/" + encodeURIComponent(id) + "?lastN=20&timeproperty=modifiedAt"]];
    fill("inspector-links", links.map(([name, href]) => el("li", {}, el("a", { href, text: name }))));
    try {
      const count = await T.historyChart(document.getElementById("history-chart"), id);
      document.getElementById("history-none").hidden = count > 0;
    } catch (e) {
      document.getElementById("history-none").hidden = false;
    }
  }

  function facts(id, pairs) {
    fill(id, pairs.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: String(value) })]));
  }

  /* When each device's entity last changed (the device's last measure that reached the broker). */
  async function lastSeen(devices) {
    const named = devices.filter((d) => d.entity_name);
    if (!named.length) return new Map();
    const types = new Set(named.map((d) => d.entity_type)); // a query by id needs the types too
    const query = new URLSearchParams({ type: [...types].join(","), id: named.map((d) => d.entity_name).join(","),
      options: "sysAttrs,keyValues", pick: "id,modifiedAt", limit: "100" });
    const entities = await api("/ngsi-ld/v1/entities?" + query).catch(() => []);
    return new Map(entities.map((e) => [e.id, e.modifiedAt]));
  }

  /* IoT and delivery status come from the admin API: shown to administrators only. */
  async function adminPanels() {
    if (!T.config.admin) {
      facts("iot-status", [[t("dash.iot"), t("dash.admin_only")]]);
      facts("notify-status", [[t("dash.notify"), t("dash.admin_only")]]);
      return;
    }
    try {
      const status = await api("/admin/iot/status");
      const refused = Object.values(status.refused || {}).reduce((a, b) => a + b, 0);
      facts("iot-status", [[t("dash.iot.devices"), status.devices], [t("dash.iot.refused"), refused],
        [t("dash.iot.mqtt"), status.mqtt ? (status.mqtt.connected ? "✔ " : "✖ ") + status.mqtt.broker : "—"]]);
      const devices = (await api("/iot/devices?limit=100",
        { headers: { "Fiware-Service": T.config.tenant, "Fiware-ServicePath": "/" } })).devices || [];
      const seen = await lastSeen(devices);
      fill("iot-devices", devices.map((d) => el("tr", {}, el("td", { text: d.device_id }),
        el("td", {}, d.entity_name ? T.named("", d.entity_name) : ""), el("td", { text: T.time(seen.get(d.entity_name)) || "—" }))));
    } catch (e) {
      facts("iot-status", [[t("dash.iot"), t("dash.unavailable")]]);
    }
    try {
      const [status, dead] = await Promise.all([api("/admin/notifications/status"),
        api("/admin/notifications/dead-letters?limit=1000")]);
      facts("notify-status", [[t("dash.notify.pending"), status.pending], [t("dash.notify.dead"), dead.length]]);
    } catch (e) {
      facts("notify-status", [[t("dash.notify"), t("dash.unavailable")]]);
    }
  }

  /* The watch-over service and the on-demand bus publish counts only (their service entities), read
     like any entity through the NGSI-LD API. */
  async function servicesPanel() {
    const read = (type) => T.allEntities({ type }).catch(() => []);
    const [watch, buses, plans] = await Promise.all(["WatchOverService", "OnDemandService", "VehiclePlan"].map(read));
    const n = (v) => (v === undefined || v === null || v === "" ? "—" : v);
    const w = watch[0];
    facts("watchover", w ? [[t("svc.watched"), n(w.watchedResidents)], [t("svc.alerts"), n(w.alertsRaised)],
      [t("svc.invalid"), n(w.invalidEnrolments)], [t("svc.updated"), n(T.time(w.updatedAt))]]
      : [[t("svc.watch"), t("svc.watch.none")]]);
    const b = buses[0];
    const stops = plans.reduce((sum, p) => sum + (Array.isArray(p.stops) ? p.stops.length : 0), 0);
    facts("ondemand", b ? [[t("svc.requests"), n(b.requests)], [t("svc.assigned"), n(b.assigned)],
      [t("svc.refused"), n(b.refused)], [t("svc.vehicles"), n(b.vehicles)], [t("svc.stops"), stops],
      [t("svc.planned"), n(T.time(b.plannedAt))]] : [[t("svc.bus"), t("svc.bus.none")]]);
  }

  async function subscriptionsPanel() {
    try {
      const subscriptions = await api("/ngsi-ld/v1/subscriptions?limit=100");
      fill("subscriptions", subscriptions.map((s) => {
        const n = s.notification || {};
        return el("tr", { "data-id": s.id }, el("td", {}, T.named(s.subscriptionName || s.description, s.id)),
          el("td", { text: s.status || "" }),
          el("td", { text: n.timesSent ?? 0 }), el("td", { text: n.timesFailed ?? 0 }),
          el("td", { text: n.lastFailure ? "✖ " + n.lastFailure : n.lastSuccess || "" }));
      }));
    } catch (e) { /* not allowed to list subscriptions */ }
  }

  document.getElementById("filter").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!purposeInput.checkValidity()) return;
    T.config.purpose = purposeInput.value.trim(); // sent as Toshi-Purpose from now on
    remember();
    show();
  });
  typeSelect.addEventListener("change", async () => { // a type chosen is shown at once
    await loadGeoProperties(geoSelect.value);
    document.getElementById("filter").requestSubmit();
  });
  document.getElementById("area-view").addEventListener("click", () => {
    if (map.map) setArea(map.map.getBounds());
  });
  document.getElementById("area-clear").addEventListener("click", () => setArea(null));
  if (map.map) { // a box drawn with Shift+drag: the map zooms to it, and the area becomes that view
    map.map.on("boxzoomend", () => map.map.once("moveend", () => setArea(map.map.getBounds())));
  }

  showArea();
  loadTypes().then(show);
  adminPanels();
  subscriptionsPanel();
  servicesPanel();
})();
