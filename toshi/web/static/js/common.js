/* Shared by every page: the page's settings and words, calls to the public APIs with the browser's
   session (the cookie travels by itself; changes carry the CSRF token), the live stream, and small
   DOM helpers. Everything is read through the same APIs any client uses. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("toshi-config").textContent);
  const messages = JSON.parse(document.getElementById("toshi-messages").textContent);
  const PAGE = 1000; // the API's largest page

  function t(key, values) {
    let text = messages[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", value);
    return text;
  }

  function headers(extra, method) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (config.tenant) h["NGSILD-Tenant"] = config.tenant;
    if (config.purpose) h["Toshi-Purpose"] = config.purpose; // what residents' consents are asked for
    if (method !== "GET" && config.csrf) h["X-CSRF-Token"] = config.csrf;
    return h;
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.description || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(path, options) {
    const o = options || {};
    const method = o.method || "GET";
    const h = headers(o.headers, method);
    let body;
    if (o.body !== undefined) {
      h["Content-Type"] = "application/json";
      body = JSON.stringify(o.body);
    }
    const response = await fetch(path, { method, headers: h, body, credentials: "same-origin" });
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch (e) { /* not JSON */ }
      throw new ApiError(response.status, problem);
    }
    if (o.raw) return response;
    return response.status === 204 ? null : response.json();
  }

  /* Every entity a query matches, as GeoJSON features (keyValues properties), a page at a time:
     the first page says how many there are, the rest are fetched together. */
  async function allFeatures(params) {
    const query = new URLSearchParams(params);
    query.set("limit", PAGE);
    query.set("count", "true");
    query.set("options", "keyValues");
    const geo = { headers: { Accept: "application/geo+json" }, raw: true };
    const first = await api("/ngsi-ld/v1/entities?" + query, geo);
    const total = Number(first.headers.get("NGSILD-Results-Count") || 0);
    const features = (await first.json()).features;
    const pages = [];
    for (let offset = PAGE; offset < total; offset += PAGE) {
      const q = new URLSearchParams(query);
      q.set("offset", offset);
      q.delete("count");
      pages.push(api("/ngsi-ld/v1/entities?" + q, geo).then((r) => r.json()));
    }
    for (const page of await Promise.all(pages)) features.push(...page.features);
    return features;
  }

  /* Every entity a query matches (keyValues). */
  async function allEntities(params) {
    const query = new URLSearchParams(params);
    query.set("limit", PAGE);
    query.set("options", "keyValues");
    const found = [];
    for (let offset = 0; ; offset += PAGE) {
      query.set("offset", offset);
      const page = await api("/ngsi-ld/v1/entities?" + query);
      found.push(...page);
      if (page.length < PAGE) return found;
    }
  }

  /* One entity as the reader may read it now (keyValues), null when it is gone or hidden. */
  async function reread(id) {
    try {
      return await api("/ngsi-ld/v1/entities/" + encodeURIComponent(id) + "?options=keyValues");
    } catch (e) {
      if (e.status === 404 || e.status === 403) return null;
      throw e;
    }
  }

  /* What a live event means for a page: the entity as this reader sees it now, and whether it is
     gone (deleted, or out of this reader's view); undefined when a changed entity could not be read. */
  async function settle(event) {
    let entity = event.entity;
    let gone = event.operation === "deleted" || event.operation === "removed";
    if (event.operation === "changed") { // what this reader may read of it changed: read it again
      const now = await reread(entity.id).catch(() => undefined);
      if (now === undefined) return undefined;
      if (now === null) gone = true; else entity = now;
    }
    return { entity, gone };
  }

  /* The live stream (Server-Sent Events of entity changes) read with fetch, so it carries the
     tenant header too; reconnects after a pause when the connection ends. Its events: `created`,
     `updated`, `deleted` carry the entity; `removed` (it left this reader's view: out of the filter,
     or no longer readable) and `changed` (what this reader may read of it changed: read it again)
     carry only its id. */
  function live(params, onChange, onState) {
    const query = new URLSearchParams(params);
    query.set("options", "keyValues");
    let stopped = false;
    async function connect() {
      try {
        const response = await fetch("/ngsi-ld/v1/live/entities?" + query,
          { headers: headers({ Accept: "text/event-stream" }, "GET"), credentials: "same-origin" });
        if (!response.ok) throw new ApiError(response.status, null);
        onState(true);
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) onChange(JSON.parse(data));
          }
        }
      } catch (e) {
        /* shown as disconnected below */
      }
      onState(false);
      if (!stopped) setTimeout(connect, 3000);
    }
    connect();
    return { stop() { stopped = true; } };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  /* A readable name with the full id beside it (small, selectable): `label` when there is one, else
     the last part of a URN; the id alone when neither says more than it. */
  function named(label, id) {
    const full = String(id || "");
    const text = label || (full.startsWith("urn:") ? full.split(":").pop() : "");
    return el("span", { className: "who" }, text ? el("span", { className: "name", text }) : null, text ? " " : null,
      el("code", { className: "id", text: full || "—" }));
  }

  function fill(id, nodes) {
    document.getElementById(id).replaceChildren(...nodes);
  }

  function liveState(connected) {
    const status = document.getElementById("live-status");
    if (!status) return;
    status.dataset.state = connected ? "on" : "off";
    status.textContent = t(connected ? "dash.live.on" : "dash.live.off");
  }

  /* A text of a keyValues value: LanguageProperty maps in the page's language. */
  function text(value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "object" && !Array.isArray(value)) {
      if (value.languageMap) return value.languageMap[config.lang] || Object.values(value.languageMap)[0] || "";
      if (value[config.lang] !== undefined) return String(value[config.lang]);
      return JSON.stringify(value);
    }
    return Array.isArray(value) ? value.map(text).join(", ") : String(value);
  }

  /* An instant (ISO 8601, e.g. an order's issuedAt) as the reader's clock shows it, in the page's
     language: 2026/07/03 11:24 in Japanese. Anything that is not an instant is shown as text. */
  const CLOCK = new Intl.DateTimeFormat(config.lang === "en" ? "en-GB" : "ja-JP",
    { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  function time(value) {
    const instant = typeof value === "string" && /T\d{2}:\d{2}/.test(value) ? new Date(value) : null;
    return instant && !Number.isNaN(instant.getTime()) ? CLOCK.format(instant) : text(value);
  }

  /* Shelter congestion as the widely used levels: 0–30 % vacant, 30–60 % moderate, 60–80 % crowded,
     80 % and more full; closed or not opened: not in use. */
  function shelterLevel(shelter) {
    const status = shelter.openingStatus;
    if (status === "closed" || status === "notOpened" || status === "suspended") return "stopped";
    if (status === "full") return "full";
    const capacity = Number(shelter.capacity);
    const evacuees = Number(shelter.evacueeTotal);
    if (!(capacity > 0) || !Number.isFinite(evacuees)) return "unknown";
    const rate = evacuees / capacity;
    return rate >= 0.8 ? "full" : rate >= 0.6 ? "crowded" : rate >= 0.3 ? "moderate" : "vacant";
  }

  function relationship(value) {
    return typeof value === "object" && value !== null ? value.object || value : value;
  }

  window.Toshi = { config, t, api, allFeatures, allEntities, settle, live, el, named, fill, liveState, text, time, shelterLevel,
    relationship, ApiError };
})();
