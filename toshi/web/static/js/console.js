/* The admin console: what `toshi tenant|key|policy|audit|status|personal-data` do, through the
   admin API (/admin/...), which only a principal with the admin role on every tenant may call, and
   the consent API's declarations (/consent/declarations, the tenant of ?tenant=). */
(function () {
  "use strict";
  const T = window.Toshi;
  const { api, el, fill, t } = T;
  const message = document.getElementById("console-message");

  function say(text, bad) {
    message.textContent = text;
    message.className = bad ? "error" : "ok";
  }

  async function run(action) {
    try {
      await action();
      say(t("console.done"));
    } catch (e) {
      say(t("console.error") + e.message, true);
    }
    refresh();
  }

  /* Principals by a readable name — an account's or a resident's name, else the last part of a URN —
     with the full id beside it (small, selectable), since ids like acct_x3Fq… say nothing. */
  const names = new Map();
  async function loadNames() {
    const [accounts, residents] = await Promise.all([api("/admin/auth/accounts").catch(() => []),
      api("/admin/auth/residents").catch(() => [])]);
    for (const p of [...accounts, ...residents]) if (p.id && p.name) names.set(p.id, p.name);
  }

  function who(id) {
    return T.named(names.get(String(id || "")), id);
  }

  async function tenants() {
    const list = await api("/admin/tenants");
    fill("tenants", list.map((name) => el("li", {}, el("a", { href: "/dashboard?tenant=" + encodeURIComponent(name),
      text: name || "default" }))));
  }

  function roleText(roles) {
    return Object.entries(roles || {}).map(([tenant, names]) => names.map((r) => tenant + ":" + r).join(", ")).join(", ");
  }

  async function accounts() {
    const list = await api("/admin/auth/accounts");
    const details = await Promise.all(list.map((a) => api("/admin/auth/accounts/" + encodeURIComponent(a.id))));
    for (const a of details) if (a.name) names.set(a.id, a.name);
    fill("accounts", details.map((a) => el("tr", { "data-id": a.id }, el("td", {}, who(a.id)),
      el("td", { text: roleText(a.roles) }),
      el("td", {}, el("ul", { className: "plain" }, ...(a.keys || []).map((k) => el("li", {},
        el("code", { text: k.id }), " ", k.revoked ? "(revoked)" : "",
        k.revoked ? null : el("button", { type: "button", text: t("console.revoke"),
          "aria-label": t("console.revoke") + " " + k.id,
          onclick: () => run(() => api("/admin/auth/keys/" + encodeURIComponent(k.id), { method: "DELETE" })) }),
        k.revoked ? null : el("button", { type: "button", text: t("console.rotate"),
          "aria-label": t("console.rotate") + " " + k.id,
          onclick: () => run(async () => showKey(await api("/admin/auth/keys/" + encodeURIComponent(k.id) + "/rotate",
            { method: "POST", body: {} }))) }))))),
      el("td", {}, el("button", { type: "button", text: t("console.delete"), "aria-label": t("console.delete") + " " + a.id,
        onclick: () => run(() => api("/admin/auth/accounts/" + encodeURIComponent(a.id), { method: "DELETE" })) })))));
  }

  function showKey(answer) {
    document.getElementById("new-key").hidden = false;
    document.getElementById("new-key-value").textContent = answer.apiKey;
  }

  async function policies() {
    const list = await api("/admin/auth/policies");
    fill("policies", list.map((p) => el("li", {}, el("pre", { text: JSON.stringify(p, null, 1) }),
      el("button", { type: "button", text: t("console.delete"), "aria-label": t("console.delete") + " " + p.id,
        onclick: () => run(() => api("/admin/auth/policies/" + encodeURIComponent(p.id), { method: "DELETE" })) }))));
  }

  async function audit() {
    const [records] = await Promise.all([api("/admin/audit?limit=1000"), loadNames()]);
    fill("audit-records", records.slice(-20).reverse().map((r) => el("tr", { "data-principal": r.principal },
      el("td", { text: r.seq }), el("td", { text: r.at || r.time || "" }), el("td", {}, who(r.principal)),
      el("td", { text: r.operation }),
      el("td", { text: r.outcome }))));
    const dead = await api("/admin/notifications/dead-letters?limit=1000");
    document.getElementById("dead-count").textContent = t("dash.notify.dead") + ": " + dead.length;
  }

  /* The last backup and the town's figures (`toshi status`). */
  async function backup() {
    const status = await api("/admin/ops/status");
    const last = status["last backup"];
    const rows = last ? [[t("console.backup.at"), new Date(last.at).toLocaleString(T.config.lang === "ja" ? "ja-JP" : "en-GB")],
      [t("console.backup.file"), last.file], [t("console.backup.rows"), last.rows ?? "—"]]
      : [[t("console.backup.at"), t("console.backup.none")]];
    rows.push([t("console.figures.entities"), status.entities], [t("console.figures.version"), status.version]);
    const node = document.getElementById("backup-status");
    node.dataset.last = last ? last.at : "";
    fill("backup-status", rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: String(value) })]));
  }

  function attributesText(attributes) {
    return Object.entries(attributes || {}).map(([name, category]) => name + " (" + category + ")").join(", ");
  }

  async function declarations() {
    const list = await api("/consent/declarations");
    fill("declarations", list.map((d) => el("tr", { "data-id": d.id }, el("td", { text: d.id }),
      el("td", { text: d.type }), el("td", { text: d.subject + (d.entityPersonal ? " — " + t("console.decl.entity") : "") }),
      el("td", { text: attributesText(d.attributes) }),
      el("td", {}, el("button", { type: "button", text: t("console.delete"), "aria-label": t("console.delete") + " " + d.id,
        onclick: () => run(() => api("/consent/declarations/" + encodeURIComponent(d.id), { method: "DELETE" })) })))));
  }

  function refresh() {
    for (const part of [tenants, accounts, policies, audit, backup, declarations]) part().catch((e) => say(t("console.error") + e.message, true));
  }

  document.getElementById("tenant-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = document.getElementById("tenant-name").value.trim();
    run(() => api("/admin/tenants", { method: "POST", body: { name } }));
  });
  document.getElementById("account-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = document.getElementById("account-name").value.trim();
    const roles = document.getElementById("account-roles").value.split(/[\s,]+/).filter(Boolean);
    run(async () => showKey(await api("/admin/auth/accounts", { method: "POST", body: { name, roles } })));
  });
  document.getElementById("policy-form").addEventListener("submit", (e) => {
    e.preventDefault();
    let rule;
    try { rule = JSON.parse(document.getElementById("policy-json").value); } catch (err) {
      say(t("console.error") + err.message, true);
      return;
    }
    run(() => api("/admin/auth/policies", { method: "POST", body: rule }));
  });
  document.getElementById("declaration-form").addEventListener("submit", (e) => {
    e.preventDefault();
    let declaration;
    try { declaration = JSON.parse(document.getElementById("declaration-json").value); } catch (err) {
      say(t("console.error") + err.message, true);
      return;
    }
    run(() => api("/consent/declarations", { method: "POST", body: declaration }));
  });
  document.getElementById("audit-verify").addEventListener("click", async () => {
    const box = document.getElementById("audit-result");
    try {
      const report = await api("/admin/audit/verify");
      box.replaceChildren(report.ok ? el("p", { className: "ok", text: t("console.verify.ok", { n: report.checked }) })
        : el("div", { className: "error" }, el("p", { text: t("console.verify.bad") }),
          el("ul", {}, ...report.problems.map((p) => el("li", { text: "#" + p.seq + " " + p.kind + ": " + p.detail })))));
    } catch (e) {
      box.replaceChildren(el("p", { className: "error", text: t("console.error") + e.message }));
    }
  });
  document.getElementById("audit-checkpoint").addEventListener("click", () =>
    run(() => api("/admin/audit/checkpoint", { method: "POST" })));
  document.getElementById("replay-all").addEventListener("click", () =>
    run(() => api("/admin/notifications/dead-letters/replay", { method: "POST" })));
  refresh();
})();
