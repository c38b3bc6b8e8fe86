/* "My data" for a resident signed in to the portal: the consent switches (one per request for
   consent the town publishes as ConsentNotice entities; opt-in, so OFF until the resident switches
   it ON), who read their data (the access log), the download of everything Toshi holds about them,
   and erasure requests. Everything goes through the consent API for the signed-in resident
   (/consent/me/...), with the session the portal's sign-in made. */
(function () {
  "use strict";
  const T = window.Toshi;
  const { el, fill, t } = T;
  const PAGE = 1000;
  let notices = [];

  function say(id, text, isError) {
    const node = document.getElementById(id);
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  function problem(e) {
    return t("my.failed", { detail: e && e.message ? e.message : String(e) });
  }

  async function loadNotices() {
    try {
      notices = await T.allEntities({ type: "ConsentNotice" });
    } catch (e) {
      notices = []; /* the town publishes none (or not as open data) */
    }
  }

  function noticeOf(recipient, purpose) {
    return notices.find((n) => n.recipient === recipient && (purpose === undefined || n.purpose === purpose));
  }

  function recipientName(recipient) {
    const notice = noticeOf(recipient);
    return notice ? T.text(notice.recipientName) || recipient : recipient;
  }

  function purposeName(recipient, purpose) {
    const notice = noticeOf(recipient, purpose);
    return notice ? T.text(notice.purposeName) || purpose : purpose || "";
  }

  /* An attribute in the words of the recipient's notice (`attributeNames`: name -> plain words). */
  function attributeName(recipient, name) {
    const notice = notices.find((n) => n.recipient === recipient && n.attributeNames && n.attributeNames[name]);
    return notice ? T.text(notice.attributeNames[name]) : name;
  }

  function when(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso || "";
    return date.toLocaleString(T.config.lang === "ja" ? "ja-JP" : "en-GB",
      { year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function whatData(categories, attributes) {
    const parts = [].concat(categories || []).map((c) => t("my.category." + c))
      .concat([].concat(attributes || []));
    return parts.join("、");
  }

  /* A download through the API (so the tenant header travels), saved under the server's file name. */
  async function download(path, fallbackName) {
    const response = await T.api(path, { raw: true, headers: { Accept: "*/*" } });
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: match ? match[1] : fallbackName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // -- consents -----------------------------------------------------------------------------------

  let records = [];

  function inForce(record) {
    return record.status === "active" || record.status === "pending";
  }

  function held(notice) {
    return records.filter((r) => inForce(r) && r.recipient === notice.recipient && r.purpose === notice.purpose);
  }

  function stateText(on) {
    return t(on ? "my.switch.on" : "my.switch.off");
  }

  function receiptLink(record) {
    return el("button", { type: "button", className: "link", "data-receipt": record.id,
      onclick: () => download("/consent/me/consents/" + encodeURIComponent(record.id) + "/receipt",
        "consent-receipt.json").catch((e) => say("consent-status", problem(e), true)),
      text: t("my.consents.receipt") });
  }

  function offer(notice, index) {
    const id = "switch-" + index;
    const on = held(notice).length > 0;
    const name = T.text(notice.recipientName) || notice.recipient;
    const box = el("input", { type: "checkbox", role: "switch", id, className: "switch" });
    box.checked = on;
    const state = el("strong", { className: "state", id: id + "-state", "data-on": String(on), text: stateText(on) });
    box.setAttribute("aria-describedby", id + "-state");
    const receipts = el("p", { className: "receipts" }, ...held(notice).map(receiptLink));
    box.addEventListener("change", () => toggle(notice, box, state, receipts));
    return el("li", { className: "consent", "data-recipient": notice.recipient, "data-purpose": notice.purpose },
      el("h3", { text: name }),
      el("p", { className: "purpose", text: t("my.consents.purpose", { purpose: T.text(notice.purposeName) || notice.purpose }) }),
      notice.description ? el("p", { text: T.text(notice.description) }) : null,
      el("p", { text: t("my.consents.data", { data: whatData(notice.categories, notice.attributes) }) }),
      notice.validUntil ? el("p", { text: t("my.consents.until", { until: when(notice.validUntil) }) }) : null,
      el("p", { className: "switch-row" }, box, " ", el("label", { for: id, text: t("my.consents.agree", { name }) }),
        " ", state),
      receipts);
  }

  async function toggle(notice, box, state, receipts) {
    const name = T.text(notice.recipientName) || notice.recipient;
    const wanted = box.checked;
    box.disabled = true;
    try {
      if (wanted) {
        const body = { recipient: notice.recipient, purpose: notice.purpose,
          categories: [].concat(notice.categories || []) };
        if (notice.attributes) body.attributes = [].concat(notice.attributes);
        if (notice.validUntil) body.validUntil = notice.validUntil;
        if (notice.description) body.description = T.text(notice.description);
        const record = await T.api("/consent/me/consents", { method: "POST", body });
        records.push(record);
        say("consent-status", t("my.consents.turned_on", { name }));
      } else {
        for (const record of held(notice)) {
          await T.api("/consent/me/consents/" + encodeURIComponent(record.id), { method: "DELETE" });
          record.status = "revoked";
        }
        say("consent-status", t("my.consents.turned_off", { name }));
      }
    } catch (e) {
      box.checked = !wanted;
      say("consent-status", problem(e), true);
    }
    const on = held(notice).length > 0;
    state.textContent = stateText(on);
    state.dataset.on = String(on);
    receipts.replaceChildren(...held(notice).map(receiptLink));
    box.disabled = false;
    box.focus();
  }

  function other(record) {
    const item = el("li", { className: "consent", "data-consent": record.id },
      el("h3", { text: recipientName(record.recipient) }),
      el("p", { className: "purpose", text: t("my.consents.purpose", { purpose: purposeName(record.recipient, record.purpose) }) }),
      el("p", { text: t("my.consents.data", { data: whatData(record.categories, record.attributes) }) }),
      el("p", { text: t("my.consents.since", { since: when(record.validFrom) }) }));
    const off = el("button", { type: "button", text: t("my.consents.turn_off"), onclick: async () => {
      off.disabled = true;
      try {
        await T.api("/consent/me/consents/" + encodeURIComponent(record.id), { method: "DELETE" });
        record.status = "revoked";
        item.replaceChildren(el("h3", { text: recipientName(record.recipient) }),
          el("p", { className: "state", "data-on": "false", text: stateText(false) }));
        say("consent-status", t("my.consents.turned_off", { name: recipientName(record.recipient) }));
      } catch (e) {
        off.disabled = false;
        say("consent-status", problem(e), true);
      }
    } });
    item.append(el("p", {}, off, " ", receiptLink(record)));
    return item;
  }

  async function consentsPage() {
    await loadNotices();
    try {
      records = await T.api("/consent/me/consents");
    } catch (e) {
      fill("offers", [el("li", { className: "error", text: problem(e) })]);
      return;
    }
    fill("offers", notices.length ? notices.map(offer) : [el("li", { className: "empty", text: t("my.consents.none") })]);
    const others = records.filter((r) => inForce(r) && !noticeOf(r.recipient, r.purpose));
    document.getElementById("others-section").hidden = others.length === 0;
    fill("others", others.map(other));
  }

  // -- access log ---------------------------------------------------------------------------------

  let entries = [];
  let shown = 0;
  const SHOWN = 50;

  function logRow(entry) {
    const official = entry.basis === "official";
    return el("tr", { "data-seq": entry.seq, "data-reader": entry.reader, "data-basis": entry.basis },
      el("td", { text: when(entry.at) }),
      el("td", {}, official ? t("my.log.official") : recipientName(entry.reader),
        el("br"), el("span", { className: "note", text: entry.reader })),
      el("td", { text: entry.purpose ? purposeName(entry.reader, entry.purpose) : t("my.log.no_purpose") }),
      el("td", { text: [].concat(entry.attrs || []).map((a) => attributeName(entry.reader, a)).join("、") }),
      el("td", { text: t(official ? "my.log.basis.official" : "my.log.basis.consent") }));
  }

  function showMore() {
    const body = document.querySelector("#access-log tbody");
    body.append(...entries.slice(shown, shown + SHOWN).map(logRow));
    shown = Math.min(entries.length, shown + SHOWN);
    document.getElementById("log-more").hidden = shown >= entries.length;
  }

  async function accessLogPage() {
    await loadNotices();
    try {
      const all = [];
      for (let after = 0; ;) {
        const page = await T.api("/consent/me/access-log?after=" + after + "&limit=" + PAGE);
        all.push(...page);
        if (page.length < PAGE) break;
        after = page[page.length - 1].seq;
      }
      entries = all.reverse(); // newest first
    } catch (e) {
      say("log-status", problem(e), true);
      return;
    }
    say("log-status", entries.length ? t("my.log.count", { n: entries.length }) : t("my.log.none"));
    document.getElementById("log-more").addEventListener("click", showMore);
    showMore();
  }

  // -- download and erasure -----------------------------------------------------------------------

  function erasureItem(request) {
    const status = t("my.erasure.status." + request.status);
    const parts = [when(request.requestedAt || request.createdAt) + " — " + status];
    if (request.legalReason) parts.push(t("my.erasure.legal", { reason: request.legalReason }));
    return el("li", { "data-status": request.status, text: parts.join(" ") });
  }

  async function listErasure() {
    try {
      const requests = await T.api("/consent/me/erasure");
      fill("erasure-requests", requests.length ? requests.map(erasureItem) : [el("li", { text: t("my.erasure.none") })]);
    } catch (e) {
      fill("erasure-requests", [el("li", { className: "error", text: problem(e) })]);
    }
  }

  /* The buttons work at once; the erasure list fills in when it has loaded. */
  function dataPage() {
    for (const button of document.querySelectorAll("[data-format]")) {
      button.addEventListener("click", async () => {
        const format = button.dataset.format;
        button.disabled = true;
        try {
          await download("/consent/me/export?format=" + format, "my-data." + format);
          say("download-status", t("my.download.done"));
        } catch (e) {
          say("download-status", problem(e), true);
        }
        button.disabled = false;
      });
    }
    const form = document.getElementById("erasure-form");
    const confirm = document.getElementById("erasure-confirm");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      confirm.hidden = false;
      document.getElementById("erasure-yes").focus();
    });
    document.getElementById("erasure-no").addEventListener("click", () => {
      confirm.hidden = true;
      document.getElementById("erasure-ask").focus();
    });
    document.getElementById("erasure-yes").addEventListener("click", async () => {
      const reason = document.getElementById("erasure-reason").value.trim();
      try {
        await T.api("/consent/me/erasure", { method: "POST", body: reason ? { reason } : {} });
        say("erasure-status", t("my.erasure.sent"));
        form.reset();
      } catch (e) {
        say("erasure-status", problem(e), true);
      }
      confirm.hidden = true;
      document.getElementById("erasure-ask").focus();
      listErasure();
    });
    return listErasure();
  }

  const page = document.body.dataset.page;
  const loading = page === "consents" ? consentsPage() : page === "access-log" ? accessLogPage()
    : page === "data" ? dataPage() : Promise.resolve();
  loading.finally(() => { document.body.dataset.loaded = "true"; });
})();
