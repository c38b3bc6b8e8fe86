/* The resident portal: evacuation orders for the resident's district, the town's services with deep
   links, and shelter congestion on a map. (Login, consents and the access log join it with the
   consent feature.) Reads only what an anonymous visitor may read: the town's open data. */
(function () {
  "use strict";
  const T = window.Toshi;
  const { el, fill, t } = T;
  const AREA = "toshi.area";
  const area = document.getElementById("area");
  let orders = [];
  let shelters = new Map();
  const map = T.makeMap(document.getElementById("map"), { colourByLevel: true });

  function districts() {
    const names = new Set();
    for (const o of orders) for (const d of [].concat(o.targetDistricts || [])) names.add(d);
    for (const s of shelters.values()) if (s.district) names.add(T.text(s.district));
    return Array.from(names).sort();
  }

  function renderAreas() {
    const chosen = localStorage.getItem(AREA) || "";
    const options = [el("option", { value: "", text: t("portal.area.all") }),
      ...districts().map((d) => el("option", { value: d, text: d }))];
    area.replaceChildren(...options);
    area.value = chosen;
  }

  function renderNotices() {
    const chosen = area.value;
    const current = orders.filter((o) => o.status !== "lifted" && !o.liftedAt)
      .filter((o) => !chosen || [].concat(o.targetDistricts || []).includes(chosen));
    fill("notices", current.length ? current.map((o) => el("article", { className: "alert", role: "alert" },
      el("h3", { text: T.text(o.category || o.alertLevel) + " — " + [].concat(o.targetDistricts || []).join("、") }),
      el("p", { text: T.text(o.content) }), el("p", { className: "note", text: T.time(o.issuedAt) })))
      : [el("p", { text: t("portal.notices.none") })]);
  }

  function renderShelters() {
    const chosen = area.value;
    const list = Array.from(shelters.values()).filter((s) => !chosen || T.text(s.district) === chosen).slice(0, 50);
    fill("shelter-list", list.map((s) => {
      const level = T.shelterLevel(s);
      return el("li", { "data-id": s.id, "data-level": level }, el("span", { className: "badge level-" + level,
        text: t("level." + level) }), " " + (T.text(s.name) || s.id));
    }));
  }

  async function loadServices() {
    try {
      const services = await T.allEntities({ type: "TownService" });
      if (!services.length) return;
      services.sort((a, b) => T.text(a.category).localeCompare(T.text(b.category)) || T.text(a.name).localeCompare(T.text(b.name)));
      fill("services", services.map((s) => el("li", {}, el("a", { href: safeLink(s.url), rel: "noopener" },
        el("strong", { text: T.text(s.name) }), el("span", { text: T.text(s.description) }),
        s.category ? el("span", { className: "tag", text: T.text(s.category) }) : null))));
    } catch (e) { /* not open data in this town */ }
  }

  function safeLink(url) {
    const text = T.text(url);
    return /^(https?:\/\/|\/)/.test(text) ? text : "#";
  }

  async function load() {
    loadServices();
    const [orderList, shelterFeatures] = await Promise.all([
      T.allEntities({ type: "EvacuationOrder" }).catch(() => []),
      T.allFeatures({ type: "EvacuationShelter" }).catch(() => [])]);
    orders = orderList;
    shelters = new Map(shelterFeatures.map((f) => [f.id, Object.assign({ id: f.id }, f.properties, { location: f.geometry })]));
    map.setFeatures(shelterFeatures);
    renderAreas();
    renderNotices();
    renderShelters();
    document.body.dataset.loaded = String(shelters.size);
    T.live({ type: "EvacuationOrder,EvacuationShelter" }, onChange, () => {});
  }

  function onChange(event) {
    const e = event.entity;
    const types = [].concat(e.type);
    if (types.includes("EvacuationOrder")) {
      orders = orders.filter((o) => o.id !== e.id);
      if (event.operation !== "deleted") orders.push(e);
      renderNotices();
    } else if (types.includes("EvacuationShelter")) {
      if (event.operation === "deleted") { shelters.delete(e.id); map.remove(e.id); } else {
        const location = e.location || (shelters.get(e.id) || {}).location;
        shelters.set(e.id, Object.assign({}, e, { location }));
        map.upsert(e.id, location, e);
      }
      renderShelters();
    }
  }

  area.addEventListener("change", () => {
    localStorage.setItem(AREA, area.value);
    renderNotices();
    renderShelters();
  });
  load();
})();
