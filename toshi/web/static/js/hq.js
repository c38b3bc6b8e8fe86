/* The disaster HQ view: shelters coloured by congestion, evacuation orders by district, people
   needing support per shelter (only what the reader may see under the residents' consents),
   supplies, river and rain sensors with their thresholds — kept current by the live stream.
   The entity types and attributes it reads are described in docs/web.md. */
(function () {
  "use strict";
  const T = window.Toshi;
  const { el, fill, t } = T;
  const TYPES = ["EvacuationShelter", "EvacuationOrder", "Evacuee", "SupplyStock", "FloodMonitoring", "WeatherObserved",
    "WatchOverService", "OnDemandService", "VehiclePlan"];
  const state = Object.fromEntries(TYPES.map((type) => [type, new Map()]));
  const map = T.makeMap(document.getElementById("map"), { colourByLevel: true, onPick: focusShelter });

  function shortId(id) { return String(id).split(":").pop(); }
  function name(entity) { return T.text(entity.name) || shortId(entity.id); }
  function number(v) { return v === undefined || v === null || v === "" ? "—" : String(v); }

  function renderShelters() {
    const support = new Map();
    for (const evacuee of state.Evacuee.values()) {
      if (evacuee.needsSupport !== true) continue;
      const shelter = T.relationship(evacuee.shelter);
      support.set(shelter, (support.get(shelter) || 0) + 1);
    }
    const rows = Array.from(state.EvacuationShelter.values()).sort((a, b) => name(a).localeCompare(name(b)));
    fill("shelters", rows.map((s) => {
      const level = T.shelterLevel(s);
      const rate = Number(s.capacity) > 0 ? Math.round(100 * Number(s.evacueeTotal || 0) / Number(s.capacity)) + " %" : "—";
      return el("tr", { id: "shelter-" + shortId(s.id), "data-id": s.id, "data-level": level, tabindex: "-1" },
        el("th", { scope: "row" }, el("button", { type: "button", className: "link", text: name(s), onclick: () => flyTo(s) })),
        el("td", { text: T.text(s.district) }),
        el("td", {}, el("span", { className: "badge level-" + level, text: t("level." + level) }),
          s.statusLabel ? " " + T.text(s.statusLabel) : ""),
        el("td", { text: number(s.evacueeTotal) + " / " + number(s.capacity) }),
        el("td", { text: rate }),
        el("td", { className: "support", text: String(support.get(s.id) || 0) }),
        el("td", { text: T.text(s.staffInCharge) }),
        el("td", { text: T.text(s.unresolvedIssues) }));
    }));
  }

  function inForce(order) {
    return order.status !== "lifted" && !order.liftedAt;
  }

  function renderOrders() {
    const byDistrict = new Map();
    for (const order of state.EvacuationOrder.values()) {
      const districts = [].concat(order.targetDistricts || order.district || "—");
      for (const district of districts) {
        if (!byDistrict.has(district)) byDistrict.set(district, []);
        byDistrict.get(district).push(order);
      }
    }
    if (!byDistrict.size) {
      fill("orders", [el("p", { text: t("hq.orders.none") })]);
      return;
    }
    const rows = [];
    for (const [district, orders] of Array.from(byDistrict).sort()) {
      orders.sort((a, b) => String(b.issuedAt || "").localeCompare(String(a.issuedAt || "")));
      for (const o of orders) {
        rows.push(el("tr", { className: inForce(o) ? "in-force" : "lifted" },
          el("th", { scope: "row", text: district }),
          el("td", {}, el("span", { className: "badge " + (inForce(o) ? "order-on" : "order-off"),
            text: T.text(o.category || o.alertLevel || "") })),
          el("td", { text: T.text(o.content) }),
          el("td", { text: T.time(o.issuedAt) }), el("td", { text: T.time(o.liftedAt) || "" })));
      }
    }
    fill("orders", [el("div", { className: "scroll" }, el("table", { className: "data" },
      el("thead", {}, el("tr", {}, ...["hq.district", "col.status", "hq.content", "hq.issued", "hq.lifted"]
        .map((k) => el("th", { scope: "col", text: t(k) })))),
      el("tbody", {}, ...rows)))]);
  }

  function renderSupplies() {
    const rows = Array.from(state.SupplyStock.values()).map((s) => {
      const short = Number(s.remaining) < Number(s.standardStock);
      const shelter = state.EvacuationShelter.get(T.relationship(s.shelter));
      return el("tr", { className: short ? "short" : "" },
        el("td", { text: shelter ? name(shelter) : shortId(T.relationship(s.shelter) || "—") }),
        el("td", { text: T.text(s.item) }), el("td", { text: number(s.standardStock) }),
        el("td", { text: number(s.remaining) + (s.unit ? " " + T.text(s.unit) : "") }));
    });
    fill("supplies", rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", text: t("hq.supplies.none") }))]);
  }

  function sensorStatus(value, alert, danger) {
    if (danger !== undefined && value >= danger) return "danger";
    if (alert !== undefined && value >= alert) return "alert";
    return "normal";
  }

  function renderSensors() {
    const rows = [];
    for (const s of state.FloodMonitoring.values()) rows.push([s, s.currentLevel, "m"]);
    for (const s of state.WeatherObserved.values()) rows.push([s, s.precipitation, "mm/h"]);
    fill("sensors", rows.length ? rows.map(([s, value, unit]) => {
      const status = sensorStatus(Number(value), s.alertLevel === undefined ? undefined : Number(s.alertLevel),
        s.dangerLevel === undefined ? undefined : Number(s.dangerLevel));
      return el("tr", { "data-id": s.id, "data-status": status },
        el("th", { scope: "row", text: name(s) }), el("td", { text: number(value) + " " + unit }),
        el("td", { text: number(s.alertLevel) }), el("td", { text: number(s.dangerLevel) }),
        el("td", {}, el("span", { className: "badge sensor-" + status, text: t("sensor." + status) })));
    }) : [el("tr", {}, el("td", { colspan: "5", text: t("hq.sensors.none") }))]);
  }

  function facts(id, pairs) {
    return el("dl", { className: "facts", id },
      ...pairs.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { "data-key": key, text: number(value) })]));
  }

  // the watch-over and on-demand bus services publish counts only (no personal data)
  function renderServices() {
    const watch = Array.from(state.WatchOverService.values());
    fill("watchover", watch.length ? watch.map((w) => facts("watch-" + shortId(w.id), [
      ["svc.watched", w.watchedResidents], ["svc.alerts", w.alertsRaised], ["svc.invalid", w.invalidEnrolments],
      ["svc.updated", T.time(w.updatedAt)]])) : [el("p", { text: t("svc.watch.none") })]);
    const buses = Array.from(state.OnDemandService.values());
    const stops = Array.from(state.VehiclePlan.values())
      .reduce((n, plan) => n + (Array.isArray(plan.stops) ? plan.stops.length : 0), 0);
    fill("ondemand", buses.length ? buses.map((b) => facts("bus-" + shortId(b.id), [
      ["svc.requests", b.requests], ["svc.assigned", b.assigned], ["svc.refused", b.refused],
      ["svc.vehicles", b.vehicles], ["svc.stops", stops], ["svc.planned", T.time(b.plannedAt)]]))
      : [el("p", { text: t("svc.bus.none") })]);
  }

  function flyTo(shelter) {
    if (map.map && shelter.location) map.map.easeTo({ center: shelter.location.coordinates, zoom: 15 });
  }

  function focusShelter(id) {
    const row = document.getElementById("shelter-" + shortId(id));
    if (row) { row.focus(); row.scrollIntoView({ block: "nearest" }); }
  }

  function renderAll() {
    renderShelters();
    renderOrders();
    renderSupplies();
    renderSensors();
    renderServices();
  }

  function store(entity) {
    const type = [].concat(entity.type).find((name) => state[name]);
    if (!type) return null;
    state[type].set(entity.id, entity);
    return type;
  }

  function forget(id) {
    for (const entities of Object.values(state)) entities.delete(id);
    map.remove(id);
  }

  async function onChange(event) {
    const settled = await T.settle(event);
    if (!settled) return;
    const { entity, gone } = settled;
    const type = [].concat(entity.type || []).find((name) => state[name]);
    if (gone || !type) {
      forget(entity.id); // gone, out of this reader's view, or no longer of a type shown here
    } else {
      store(entity);
      if (type === "EvacuationShelter") map.upsert(entity.id, entity.location, entity);
    }
    renderAll();
  }

  async function load() {
    const reads = TYPES.map((type) => {
      const query = type === "Evacuee" ? { type, q: "needsSupport==true", attrs: "needsSupport,shelter" } : { type };
      return T.allEntities(query).then((list) => list.forEach(store)).catch(() => {});
    });
    await Promise.all(reads);
    map.setFeatures(Array.from(state.EvacuationShelter.values())
      .map((s) => ({ id: s.id, geometry: s.location, properties: s })));
    renderAll();
    document.body.dataset.loaded = String(state.EvacuationShelter.size);
    T.live({ type: TYPES.join(",") }, onChange, T.liveState);
  }

  load();
})();
