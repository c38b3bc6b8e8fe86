/* The operations dashboard: a live map of any entity type with a location, the entity inspector
   (attributes, history chart, links), IoT devices and notification health. */
(function () {
  "use strict";
  const T = window.Toshi;
  const { api, el, fill, t } = T;
  const params = new URLSearchParams(location.search);
  const typeSelect = document.getElementById("type");
  const qInput = document.getElementById("q");
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
      return;
    }
    const query = { type };
    if (qInput.value.trim()) query.q = qInput.value.trim();
    let features = [];
    try {
      features = await T.allFeatures(query);
    } catch (e) {
      document.getElementById("count").textContent = T.t("console.error") + e.message;
      return;
    }
    shown = new Map(features.map((f) => [f.id, Object.assign({ id: f.id }, f.properties, { _geometry: f.geometry })]));
    map.setFeatures(features);
    renderList();
    document.body.dataset.loaded = String(features.length);
    stream = T.live(query, onChange, T.liveState);
  }

  function onChange(event) {
    const entity = event.entity;
    if (event.operation === "deleted") {
      shown.delete(entity.id);
      map.remove(entity.id);
    } else {
      const geometry = entity.location || (shown.get(entity.id) || {})._geometry;
      shown.set(entity.id, Object.assign({}, entity, { _geometry: geometry }));
      map.upsert(entity.id, geometry, entity);
    }
    renderList();
    if (document.getElementById("inspector-id").textContent === entity.id) inspect(entity.id);
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
  async function lastSeen(ids) {
    if (!ids.length) return new Map();
    const query = new URLSearchParams({ id: ids.join(","), options: "sysAttrs,keyValues", attrs: "none", limit: "100" });
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
      const seen = await lastSeen(devices.map((d) => d.entity_name).filter(Boolean));
      fill("iot-devices", devices.map((d) => el("tr", {}, el("td", { text: d.device_id }),
        el("td", { text: d.entity_name || "" }), el("td", { text: seen.get(d.entity_name) || "—" }))));
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

  async function subscriptionsPanel() {
    try {
      const subscriptions = await api("/ngsi-ld/v1/subscriptions?limit=100");
      fill("subscriptions", subscriptions.map((s) => {
        const n = s.notification || {};
        return el("tr", {}, el("td", { text: s.id }), el("td", { text: s.status || "" }),
          el("td", { text: n.timesSent ?? 0 }), el("td", { text: n.timesFailed ?? 0 }),
          el("td", { text: n.lastFailure ? "✖ " + n.lastFailure : n.lastSuccess || "" }));
      }));
    } catch (e) { /* not allowed to list subscriptions */ }
  }

  document.getElementById("filter").addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams(location.search);
    next.set("type", typeSelect.value);
    if (qInput.value.trim()) next.set("q", qInput.value.trim()); else next.delete("q");
    history.replaceState(null, "", "?" + next);
    show();
  });

  loadTypes().then(show);
  adminPanels();
  subscriptionsPanel();
})();
