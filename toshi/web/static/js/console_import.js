/* The admin console's CSV import: the chosen file is sent to the catalogue's admin API
   (POST /catalogue/admin/datasets/{name}/import) first to be checked only — every row and column
   validated, nothing written — and the report shown; after the official confirms, the same bytes
   are sent again with confirm=true, which validates once more and writes through the one write path.
   The tenant is the page's ?tenant= (sent as NGSILD-Tenant); the change carries the CSRF token. */
(function () {
  "use strict";
  const T = window.Toshi;
  const { api, el, fill, t, config } = T;
  const form = document.getElementById("import-form");
  const report = document.getElementById("import-report");
  const verdict = document.getElementById("import-verdict");
  const confirm = document.getElementById("import-confirm");
  const done = document.getElementById("import-done");
  let checked = null; // { name, prune, data } of the file whose report is shown

  async function send(name, data, params) {
    const headers = { Accept: "application/json", "Content-Type": "text/csv" };
    if (config.tenant) headers["NGSILD-Tenant"] = config.tenant;
    if (config.csrf) headers["X-CSRF-Token"] = config.csrf;
    const response = await fetch("/catalogue/admin/datasets/" + encodeURIComponent(name) + "/import?" +
      new URLSearchParams(params), { method: "POST", headers, body: data, credentials: "same-origin" });
    let body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    return { status: response.status, body };
  }

  function problemText(answer) {
    const p = answer.body || {};
    return p.detail || p.description || p.title || "HTTP " + answer.status;
  }

  function fact(term, value) {
    return [el("dt", { text: t(term) }), el("dd", { text: value === null || value === undefined ? "—" : String(value) })];
  }

  function show(result) {
    report.hidden = false;
    fill("import-summary", [
      ...fact("import.summary.dataset", result.dataset + (result.newDataset ? " " + t("import.new") : "")),
      ...fact("import.summary.standard", result.standard || result.type),
      ...fact("import.summary.encoding", result.encoding),
      ...fact("import.summary.rows", result.rows),
      ...fact("import.summary.errors", result.errorCount)]);
    const box = document.getElementById("import-errors-box");
    box.hidden = result.errors.length === 0;
    fill("import-errors", result.errors.map((e) => el("tr", { "data-row": e.row, "data-column": e.column || "" },
      el("td", { text: String(e.row) }), el("td", { text: e.column || "—" }), el("td", { text: e.value || "" }),
      el("td", { text: e.message }))));
    const more = document.getElementById("import-more");
    more.hidden = result.errorCount <= result.errors.length;
    more.textContent = t("import.more", { shown: result.errors.length, count: result.errorCount });
    verdict.textContent = result.valid ? t("import.valid", { rows: result.rows }) :
      t("import.invalid", { count: result.errorCount });
    verdict.className = result.valid ? "ok" : "error";
    confirm.hidden = !result.valid;
    confirm.disabled = false;
  }

  function refused(text) {
    report.hidden = false;
    fill("import-summary", []);
    document.getElementById("import-errors-box").hidden = true;
    verdict.textContent = t("import.refused") + text;
    verdict.className = "error";
    confirm.hidden = true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    checked = null;
    done.hidden = true;
    confirm.hidden = true;
    const name = document.getElementById("import-dataset").value.trim();
    const file = document.getElementById("import-file").files[0];
    if (!file) return;
    const data = await file.arrayBuffer();
    const prune = document.getElementById("import-prune").checked;
    verdict.textContent = t("import.checking");
    verdict.className = "";
    const answer = await send(name, data, { confirm: "false" });
    if (answer.status !== 200 || !answer.body) return refused(problemText(answer));
    checked = { name, prune, data };
    show(answer.body);
  });

  // a changed form makes the shown report stale: check again before writing
  form.addEventListener("input", () => {
    if (checked) {
      checked = null;
      confirm.hidden = true;
    }
  });

  confirm.addEventListener("click", async () => {
    if (!checked) return;
    confirm.disabled = true;
    const params = { confirm: "true" };
    if (checked.prune) params.prune = "true";
    const answer = await send(checked.name, checked.data, params);
    if (answer.status === 400 && answer.body && answer.body.errors) return show(answer.body); // changed since
    if (answer.status !== 200 || !answer.body) return refused(problemText(answer));
    const c = answer.body.changes || {};
    confirm.hidden = true;
    done.hidden = false;
    const written = document.getElementById("import-written");
    written.textContent = t("import.written", { created: c.created || 0, updated: c.updated || 0,
      unchanged: c.unchanged || 0, deleted: c.deleted || 0 });
    written.className = "ok";
    const base = "/catalogue/datasets/" + encodeURIComponent(checked.name);
    const tenant = config.tenant ? "?tenant=" + encodeURIComponent(config.tenant) : "";
    fill("import-links", [
      el("li", {}, el("a", { href: base, text: t("import.link.dataset") })),
      el("li", {}, el("a", { href: base + ".csv", text: "CSV" }), " ", el("a", { href: base + ".geojson", text: "GeoJSON" })),
      el("li", {}, el("a", { href: "/dashboard" + tenant, text: t("import.link.map") }))]);
    checked = null;
  });

  api("/catalogue/admin/datasets").then((list) => fill("import-datasets",
    list.map((d) => el("option", { value: d.name, text: (d.title && (d.title[config.lang] || d.title.ja)) || d.name }))))
    .catch(() => { /* the list only helps typing */ });
})();
