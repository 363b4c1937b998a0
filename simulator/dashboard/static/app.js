/* kyc-sandbox dashboard: a small single-page admin UI over the sandbox's public API (no framework, no build).
 *
 * Everything here talks to the same origin: Dakota's API (/customers, /applications) with the API key the user
 * signed in with, and the control plane (/_sandbox/credentials) only for the seeded-key convenience buttons.
 */
"use strict";

(function () {
  // ------------------------------------------------------------------ constants
  const KEY_STORAGE = "kyc-sandbox.dashboard.api-key";
  const MAX_TOKENS = 100;
  const MAX_FILE_BYTES = 1024 * 1024; // 1 MB
  const IMPORT_PATH = "/customers/bulk-import-sumsub-tokens";

  const FIELD_LABELS = {
    first_name: "First name",
    last_name: "Last name",
    date_of_birth: "Date of birth",
    email_address: "Email address",
    nationalities: "Nationality",
    address: "Address (Sumsub sent none; a placeholder country was used)",
    "address.street1": "Address: street",
    "address.city": "Address: city",
    "address.country": "Address: country",
    employment_status: "Employment status",
    purpose_of_account: "Purpose of account",
    source_of_wealth: "Source of wealth",
    ssn: "SSN (US person)",
  };
  const ATTESTATION_LABELS = {
    e_sign: "E-sign consent",
    terms_of_service: "Terms of service",
    privacy_policy: "Privacy policy",
    information_accuracy: "Information accuracy",
  };
  const STATUS_TONES = {
    approved: "green",
    completed: "green",
    submitted: "blue",
    pending: "amber",
    documents_requested: "amber",
    init: "amber",
    not_started: "gray",
    expired: "gray",
    withdrawn: "gray",
    rejected: "red",
    declined: "red",
    auto_declined: "red",
  };

  // ------------------------------------------------------------------ tiny DOM helpers
  const $ = (id) => document.getElementById(id);

  /** h("td", {className: "x"}, "text", otherNode): build elements without innerHTML (names are user data). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "className") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function humanize(value) {
    if (value === undefined || value === null || value === "") return "—";
    const s = String(value).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function badge(value, extraClass) {
    const tone = STATUS_TONES[value] || "gray";
    return h("span", { className: `badge badge-${tone}${extraClass ? " " + extraClass : ""}` },
      h("span", { className: "badge-dot", "aria-hidden": "true" }), humanize(value));
  }

  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function formatDate(value) {
    if (value === undefined || value === null || value === "") return "—";
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(d.getTime()) ? String(value) : dateFmt.format(d);
  }
  function isoDate(value) {
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(d.getTime()) ? "" : d.toISOString();
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many || one + "s"}`;
  }

  function listWords(nums) {
    if (nums.length <= 1) return nums.join("");
    return nums.slice(0, -1).join(", ") + " and " + nums[nums.length - 1];
  }

  /** A v4 UUID; crypto.randomUUID needs a secure context, so fall back to getRandomValues elsewhere. */
  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ------------------------------------------------------------------ API
  class ApiError extends Error {
    constructor(status, problem, fallback) {
      const detail = (problem && (problem.detail || problem.title || problem.description ||
        (problem.error && problem.error.message))) || fallback;
      super(detail);
      this.status = status;
      this.problem = problem || null;
      this.detail = detail;
    }
  }

  function getKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ""; } catch (_e) { return ""; }
  }
  function setKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch (_e) { /* storage disabled: the key lives in memory only */ }
    state.key = key;
  }

  /** fetch JSON; throws ApiError carrying the problem details' `detail` for any non-2xx answer. */
  async function api(method, path, options) {
    const opts = options || {};
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    const key = opts.key !== undefined ? opts.key : state.key;
    if (key && !opts.noAuth) headers["x-api-key"] = key;
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
    } catch (_e) {
      throw new ApiError(0, null, `The sandbox did not answer (${method} ${path}). Is it still running?`);
    }
    let data = null;
    const text = await resp.text();
    if (text) {
      try { data = JSON.parse(text); } catch (_e) { data = null; }
    }
    if (!resp.ok) {
      throw new ApiError(resp.status, data, `${method} ${path} failed with HTTP ${resp.status}`);
    }
    return data;
  }

  /** Problem details → a readable block: the detail, then any per-field messages. */
  function problemNode(err, lead) {
    const box = h("div", { className: "problem" });
    if (lead) box.append(h("p", { className: "problem-lead" }, lead));
    box.append(h("p", { className: "problem-detail" }, err.detail || String(err)));
    const errors = err.problem && Array.isArray(err.problem.errors) ? err.problem.errors : [];
    const extra = errors.filter((e) => e && e.message && e.message !== err.detail);
    if (extra.length) {
      box.append(h("ul", { className: "problem-list" },
        extra.map((e) => h("li", {}, e.field ? h("code", {}, e.field) : null, e.field ? ": " : "", e.message))));
    }
    const meta = [];
    if (err.status) meta.push(`HTTP ${err.status}`);
    if (err.problem && err.problem.request_id) meta.push(`request ${err.problem.request_id}`);
    if (meta.length) box.append(h("p", { className: "problem-meta" }, meta.join(" · ")));
    return box;
  }

  function showBanner(el, content) {
    el.replaceChildren();
    if (content) {
      el.append(content);
      el.hidden = false;
    } else {
      el.hidden = true;
    }
  }

  // ------------------------------------------------------------------ state
  const state = {
    key: getKey(),
    credentials: null, // GET /_sandbox/credentials, when available
    list: {
      search: "",
      limit: 20,
      cursor: null, // {starting_after} | {ending_before} | null
      offset: 0, // index of the first row shown, for "Showing a–b of n"
      page: [],
      meta: null,
      seq: 0,
    },
    importTokens: null, // [{token, row}] parsed from the chosen file, ready to submit
    importing: false,
  };

  // ------------------------------------------------------------------ header, sign in
  function renderHeader() {
    $("base-url").textContent = window.location.origin;
    const signedIn = Boolean(state.key);
    $("user-box").hidden = !signedIn;
    $("nav-customers").hidden = !signedIn;
    if (signedIn) $("nav-customers").setAttribute("aria-current", "page");
    if (!signedIn) return;
    const known = state.credentials && state.credentials.dakota &&
      state.credentials.dakota.api_keys.find((k) => k.key === state.key);
    const badgeEl = $("key-badge");
    badgeEl.replaceChildren();
    if (known) {
      badgeEl.append(h("span", { className: `role-dot role-${known.role}`, "aria-hidden": "true" }),
        known.name || humanize(known.role));
      badgeEl.title = `${known.role} key${known.permissions.length ? ": " + known.permissions.join(", ") : " (no permissions)"}`;
    } else {
      badgeEl.append(`Key ${state.key.slice(0, 8)}…${state.key.slice(-4)}`);
      badgeEl.title = "Signed in with an API key";
    }
  }

  async function loadCredentials() {
    try {
      state.credentials = await api("GET", "/_sandbox/credentials", { noAuth: true });
    } catch (_e) {
      state.credentials = null;
    }
    const keys = (state.credentials && state.credentials.dakota && state.credentials.dakota.api_keys) || [];
    const admin = keys.find((k) => k.role === "admin");
    const viewer = keys.find((k) => k.role === "viewer");
    $("use-admin").hidden = !admin;
    $("use-viewer").hidden = !viewer;
    $("use-admin").dataset.key = admin ? admin.key : "";
    $("use-viewer").dataset.key = viewer ? viewer.key : "";
    $("seeded-keys").hidden = !admin && !viewer;
    renderHeader();
  }

  async function signIn(key) {
    const errorEl = $("signin-error");
    const submit = $("signin-submit");
    key = (key || "").trim();
    errorEl.textContent = "";
    if (!key) {
      errorEl.textContent = "Paste an API key first.";
      $("api-key").setAttribute("aria-invalid", "true");
      $("api-key").focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await api("GET", "/customers?limit=1", { key }); // proves the key works
      $("api-key").removeAttribute("aria-invalid");
      $("api-key").value = "";
      setKey(key);
      resetListState();
      renderHeader();
      if (!window.location.hash.startsWith("#/customers")) window.location.hash = "#/customers";
      else route();
    } catch (err) {
      errorEl.textContent = err.status === 401 ? `This key was refused: ${err.detail}` : err.detail;
      $("api-key").setAttribute("aria-invalid", "true");
      $("api-key").focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  }

  function signOut() {
    setKey("");
    closeDialog();
    renderHeader();
    showView("signin");
  }

  // ------------------------------------------------------------------ views and routing
  function showView(name, focus) {
    for (const v of ["signin", "customers", "detail"]) $(`view-${v}`).hidden = v !== name;
    const title = { signin: "Sign in", customers: "Customers", detail: "Customer" }[name];
    document.title = `${title} · kyc-sandbox dashboard`;
    if (focus !== false) {
      const heading = $(`view-${name}`).querySelector("h1");
      if (heading) heading.focus({ preventScroll: true });
    }
  }

  function route() {
    renderHeader();
    if (!state.key) {
      showView("signin");
      return;
    }
    const hash = window.location.hash || "#/customers";
    const m = hash.match(/^#\/customers\/([^/?#]+)(?:\/(application))?$/);
    if (m) {
      showView("detail", false);
      loadDetail(decodeURIComponent(m[1]), m[2] === "application");
      return;
    }
    showView("customers");
    loadCustomers();
  }

  // ------------------------------------------------------------------ customers list
  function resetListState() {
    Object.assign(state.list, { search: "", cursor: null, offset: 0, page: [], meta: null });
    $("search").value = "";
  }

  async function loadCustomers() {
    const L = state.list;
    const seq = ++L.seq;
    const params = new URLSearchParams({ limit: String(L.limit), sort_by: "created_at", sort_dir: "desc" });
    if (L.search) params.set("search", L.search);
    if (L.cursor && L.cursor.starting_after) params.set("starting_after", L.cursor.starting_after);
    if (L.cursor && L.cursor.ending_before) params.set("ending_before", L.cursor.ending_before);
    $("customers-table").setAttribute("aria-busy", "true");
    try {
      const data = await api("GET", `/customers?${params}`);
      if (seq !== L.seq) return; // a newer request superseded this one
      L.page = data.data || [];
      L.meta = data.meta || { total_count: L.page.length, has_more_after: false, has_more_before: false };
      if (!L.meta.has_more_before) L.offset = 0;
      showBanner($("customers-error"), null);
      renderCustomers();
    } catch (err) {
      if (seq !== L.seq) return;
      if (err.status === 400 && L.cursor) {
        // the cursor's customer vanished (a reset?): start over from the first page
        L.cursor = null;
        L.offset = 0;
        loadCustomers();
        return;
      }
      L.page = [];
      L.meta = null;
      renderCustomers();
      showBanner($("customers-error"), problemNode(err, "Could not load customers."));
    } finally {
      if (seq === L.seq) $("customers-table").setAttribute("aria-busy", "false");
    }
  }

  function renderCustomers() {
    const L = state.list;
    const body = $("customers-body");
    body.replaceChildren();
    for (const c of L.page) {
      const link = h("a", { href: `#/customers/${encodeURIComponent(c.id)}`, className: "row-link" }, c.name);
      body.append(h("tr", { dataset: { customerId: c.id } },
        h("td", {},
          h("div", { className: "cell-name" }, link,
            h("span", { className: "cell-sub" }, c.email || humanize(c.customer_type)))),
        h("td", {}, badge(c.kyc_status)),
        h("td", {}, c.application_status ? badge(c.application_status) : h("span", { className: "muted" }, "None")),
        h("td", { className: "nowrap" },
          h("time", { datetime: isoDate(c.created_at), title: isoDate(c.created_at) }, formatDate(c.created_at)))));
    }
    const empty = $("customers-empty");
    const total = L.meta ? L.meta.total_count : 0;
    if (L.meta && L.page.length === 0) {
      empty.replaceChildren(
        h("p", { className: "empty-title" }, L.search ? `No customers match “${L.search}”` : "No customers yet"),
        h("p", { className: "muted" }, L.search
          ? "Try another name, email or customer ID."
          : "Use Add customer › Sumsub Import to redeem share tokens from a CSV file."));
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    const count = $("customers-count");
    if (!L.meta) count.textContent = "";
    else if (L.page.length === 0) count.textContent = L.search ? `0 of ${plural(total, "customer")}` : plural(total, "customer");
    else count.textContent = `Showing ${L.offset + 1}–${L.offset + L.page.length} of ${plural(total, "customer")}${L.search ? " matching" : ""}`;
    $("prev-page").disabled = !(L.meta && L.meta.has_more_before);
    $("next-page").disabled = !(L.meta && L.meta.has_more_after);
  }

  function nextPage() {
    const L = state.list;
    if (!L.page.length) return;
    L.offset += L.page.length;
    L.cursor = { starting_after: L.page[L.page.length - 1].id };
    loadCustomers();
  }

  function prevPage() {
    const L = state.list;
    if (!L.page.length) return;
    L.offset = Math.max(0, L.offset - L.limit);
    L.cursor = { ending_before: L.page[0].id };
    loadCustomers();
  }

  let searchTimer = null;
  function applySearch(immediate) {
    clearTimeout(searchTimer);
    const run = () => {
      const value = $("search").value.trim();
      if (value === state.list.search) return;
      state.list.search = value;
      state.list.cursor = null;
      state.list.offset = 0;
      loadCustomers();
    };
    if (immediate) run();
    else searchTimer = setTimeout(run, 250);
  }

  // ------------------------------------------------------------------ customer detail
  function dl(rows) {
    const list = h("dl", { className: "props" });
    for (const [label, value] of rows) {
      list.append(h("div", { className: "prop" }, h("dt", {}, label),
        h("dd", {}, value === undefined || value === null || value === "" ? h("span", { className: "muted" }, "—") : value)));
    }
    return list;
  }

  function mono(value) {
    return h("code", { className: "id" }, value);
  }

  function card(title, content, attrs) {
    const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    return h("section", Object.assign({ className: "card detail-card", "aria-labelledby": id }, attrs || {}),
      h("h2", { id, className: "card-title" }, title), content);
  }

  function formatAddress(a) {
    if (!a) return null;
    const lines = [a.street1, a.street2, [a.postal_code, a.city].filter(Boolean).join(" "), a.region, a.country]
      .filter((x) => x && String(x).trim());
    if (!lines.length) return null;
    return h("span", { className: "address" }, lines.map((l, i) => [i ? h("br") : null, l]));
  }

  function missingCard(app) {
    const v = app.validation;
    if (!v) return card("What is still missing", h("p", { className: "muted" }, "Validation is not available."));
    const ind = v.primary_individual || {};
    const fields = (ind.details && ind.details.missing_fields) || [];
    const docs = (ind.documents && ind.documents.missing_documents) || [];
    const atts = (v.attestations && v.attestations.missing) || [];
    const content = h("div", { className: "missing" });
    content.append(h("p", { className: `readiness ${v.ready ? "ready" : "not-ready"}` },
      h("span", { className: "readiness-icon", "aria-hidden": "true" }, v.ready ? "✓" : "!"),
      v.ready ? "Ready to submit" : "Not ready to submit"));
    if (v.status_message && !v.ready) content.append(h("p", { className: "muted small status-message" }, v.status_message));

    const group = (title, items, render, emptyText) => h("div", { className: "missing-group" },
      h("h3", {}, title, " ", h("span", { className: "count" }, String(items.length))),
      items.length ? h("ul", { className: "missing-list" }, items.map(render))
        : h("p", { className: "muted small" }, emptyText));

    content.append(group("Missing fields", fields, (f) => h("li", { dataset: { field: f } },
      h("span", {}, FIELD_LABELS[f] || humanize(f)), h("code", { className: "field-code" }, f)), "None: all details are filled in."));
    content.append(group("Missing documents", docs, (d) => h("li", { dataset: { purpose: d.purpose } },
      h("span", {}, d.description || humanize(d.purpose)),
      h("span", { className: `tag ${d.required ? "tag-required" : "tag-optional"}` }, d.required ? "Required" : "Optional")),
    "None: the required documents are there."));
    content.append(group("Missing attestations", atts, (a) => h("li", { dataset: { attestation: a } },
      h("span", {}, ATTESTATION_LABELS[a] || humanize(a)), h("code", { className: "field-code" }, a)), "None: all attestations are signed."));
    return card("What is still missing", content, { id: "missing" });
  }

  async function loadDetail(customerId, focusApplication) {
    const box = $("detail-content");
    $("crumb-name").textContent = "Customer";
    box.setAttribute("aria-busy", "true");
    box.replaceChildren(h("div", { className: "card skeleton" }, h("p", { className: "muted" }, "Loading customer…")));
    let customer;
    try {
      customer = await api("GET", `/customers/${encodeURIComponent(customerId)}`);
    } catch (err) {
      box.replaceChildren(h("h1", { id: "detail-title", tabindex: "-1" }, "Customer not available"),
        h("div", { className: "banner banner-error", role: "alert" }, problemNode(err)));
      box.setAttribute("aria-busy", "false");
      $("detail-title").focus();
      return;
    }
    $("crumb-name").textContent = customer.name;
    document.title = `${customer.name} · kyc-sandbox dashboard`;

    const head = h("div", { className: "detail-head" },
      h("div", {},
        h("h1", { id: "detail-title", tabindex: "-1" }, customer.name),
        h("p", { className: "detail-meta" },
          h("span", {}, humanize(customer.customer_type)),
          customer.email ? h("span", {}, customer.email) : null,
          h("span", {}, "Created ", h("time", { datetime: isoDate(customer.created_at) }, formatDate(customer.created_at))))),
      h("div", { className: "detail-badges" }, h("span", { className: "muted small" }, "KYC"), badge(customer.kyc_status)));

    const customerCard = card("Customer", dl([
      ["Customer ID", mono(customer.id)],
      ["Type", humanize(customer.customer_type)],
      ["KYC status", badge(customer.kyc_status)],
      ["Email", customer.email],
      ["Updated", formatDate(customer.updated_at)],
    ]));

    const main = h("div", { className: "detail-main" });
    const side = h("div", { className: "detail-side" }, customerCard);
    box.replaceChildren(head, h("div", { className: "detail-grid" }, main, side));

    if (!customer.application_id || !customer.application_url) {
      main.append(card("Application", h("p", { className: "muted" }, "This customer has no application.")));
    } else {
      main.append(h("div", { className: "card skeleton" }, h("p", { className: "muted" }, "Loading application…")));
      let token = "";
      try {
        token = new URL(customer.application_url, window.location.origin).searchParams.get("token") || "";
      } catch (_e) { token = ""; }
      try {
        const app = await api("GET",
          `/applications/${encodeURIComponent(customer.application_id)}?include=validation,entities`,
          { noAuth: true, headers: { "X-Application-Token": token } });
        const cards = applicationCards(app);
        main.replaceChildren(cards.missing, cards.individual);
        side.replaceChildren(cards.application, cards.sumsub, cards.documents, customerCard);
      } catch (err) {
        main.replaceChildren(card("Application", h("div", { className: "banner banner-error", role: "alert" },
          problemNode(err, "Could not load the application."))));
      }
    }
    box.setAttribute("aria-busy", "false");
    const target = focusApplication ? $("application") : null;
    if (target) {
      target.setAttribute("tabindex", "-1");
      target.focus();
      target.scrollIntoView({ block: "start" });
    } else {
      $("detail-title").focus({ preventScroll: true });
    }
  }

  function applicationCards(app) {
    const ind = (app.entities && app.entities.primary_individual) || {};
    const sv = ind.sumsub_verification || null;
    const review = (sv && sv.review) || {};
    const uploaded = (app.validation && app.validation.primary_individual && app.validation.primary_individual.documents &&
      app.validation.primary_individual.documents.uploaded_documents) || [];

    const appCard = card("Application", dl([
      ["Status", badge(app.application_status)],
      ["Decision", app.application_decision ? badge(app.application_decision) : null],
      ["Application ID", mono(app.application_id)],
      ["Type", humanize(app.application_type)],
      ["Created", formatDate(app.application_created_at)],
      ["Submitted", app.application_submitted_at ? formatDate(app.application_submitted_at) : "Not submitted"],
      ["Proof of address", humanize(app.poa_status)],
    ]), { id: "application" });

    const individual = card("Individual", dl([
      ["First name", ind.first_name],
      ["Last name", ind.last_name],
      ["Date of birth", ind.date_of_birth],
      ["Nationalities", (ind.nationalities || []).join(", ")],
      ["Address", formatAddress(ind.address)],
      ["Email", ind.email_address],
      ["Phone", ind.phone_number],
      ["SSN", ind.ssn ? mono(ind.ssn) : null],
      ["Employment status", ind.employment_status ? humanize(ind.employment_status) : null],
      ["Purpose of account", ind.purpose_of_account ? humanize(ind.purpose_of_account) : null],
      ["Source of wealth", ind.source_of_wealth ? humanize(ind.source_of_wealth) : null],
    ]));

    const sumsub = card("Sumsub verification", sv ? dl([
      ["Sumsub review status", badge(sv.sumsub_review_status)],
      ["Review", review.review_status ? humanize(review.review_status) : null],
      ["Review answer", review.review_result && review.review_result.review_answer],
      ["Level", review.level_name ? mono(review.level_name) : null],
      ["Provider applicant ID", mono(sv.provider_applicant_id)],
      ["Reviewed", review.review_date ? formatDate(review.review_date) : null],
    ]) : h("p", { className: "muted" }, "Not imported from Sumsub."));

    const docs = card("Documents", uploaded.length
      ? h("ul", { className: "doc-list" }, uploaded.map((d) => h("li", {},
        h("span", {}, humanize(d.document_type)), badge(d.status === "verified" ? "approved" : d.status, "badge-sm"))))
      : h("p", { className: "muted" }, "No documents uploaded."));

    return { missing: missingCard(app), application: appCard, individual, sumsub, documents: docs };
  }

  // ------------------------------------------------------------------ CSV parsing (client side, like Dakota's)
  /** RFC 4180 records: [{cells, line}] where line is the 1-based line the record starts on. */
  function parseCsvRecords(text) {
    const records = [];
    let cells = [];
    let cell = "";
    let quoted = false;
    let line = 1;
    let recordLine = 1;
    let i = 0;
    const n = text.length;
    const endCell = () => {
      cells.push(cell);
      cell = "";
    };
    const endRecord = () => {
      endCell();
      records.push({ cells, line: recordLine });
      cells = [];
    };
    while (i < n) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
          quoted = false; i += 1; continue;
        }
        if (ch === "\n" || (ch === "\r" && text[i + 1] !== "\n")) line += 1;
        cell += ch; i += 1; continue;
      }
      if (ch === '"' && cell.trim() === "") { quoted = true; cell = ""; i += 1; continue; }
      if (ch === ",") { endCell(); i += 1; continue; }
      if (ch === "\r" || ch === "\n") {
        endRecord();
        i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line += 1;
        recordLine = line;
        continue;
      }
      cell += ch; i += 1;
    }
    if (quoted) return { records, unclosedQuoteLine: recordLine };
    if (cell !== "" || cells.length) endRecord();
    return { records, unclosedQuoteLine: null };
  }

  const SIGNATURES = [
    [[0x89, 0x50, 0x4e, 0x47], "a PNG image"],
    [[0xff, 0xd8, 0xff], "a JPEG image"],
    [[0x47, 0x49, 0x46, 0x38], "a GIF image"],
    [[0x25, 0x50, 0x44, 0x46], "a PDF document"],
    [[0x50, 0x4b, 0x03, 0x04], "a ZIP archive (an Excel .xlsx workbook is one)"],
    [[0xd0, 0xcf, 0x11, 0xe0], "an old Office document (.xls)"],
    [[0x1f, 0x8b], "a gzip archive"],
    [[0x52, 0x49, 0x46, 0x46], "a RIFF media file"],
  ];

  function sniffBinary(bytes) {
    for (const [sig, what] of SIGNATURES) {
      if (sig.every((b, i) => bytes[i] === b)) return what;
    }
    const head = bytes.subarray(0, Math.min(bytes.length, 8192));
    if (head.includes(0)) return "binary data";
    return null;
  }

  function fileSize(bytes) {
    if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
    if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return plural(bytes, "byte");
  }

  /** Check the file (name, size, content) and parse it. Returns {ok, tokens, notes, errors}. */
  async function readTokenFile(file) {
    const name = file.name || "the file";
    const dot = name.lastIndexOf(".");
    const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
    if (ext !== "csv") {
      const hint = ["xlsx", "xls", "xlsm", "numbers", "ods"].includes(ext)
        ? " Spreadsheets can't be read here: save the sheet as “CSV UTF-8 (.csv)” and upload that."
        : " Upload a .csv file (start from the template).";
      return fail(`“${name}” is not a CSV file (it ends in ${ext ? "." + ext : "no extension"}).${hint}`);
    }
    if (file.size > MAX_FILE_BYTES) {
      return fail(`“${name}” is ${fileSize(file.size)}; the limit is 1 MB. ` +
        "A CSV of 100 share tokens is only a few kilobytes: check that this is the right file.");
    }
    if (file.size === 0) {
      return fail(`“${name}” is empty. It needs a header line “token” and one share token per line below it.`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const binary = sniffBinary(bytes);
    if (binary) return fail(`“${name}” is not a CSV file: its content is ${binary}. Upload a plain-text .csv file.`);
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); // also strips a UTF-8 BOM
    } catch (_e) {
      return fail(`“${name}” is not UTF-8 text. Save it as “CSV UTF-8 (.csv)” and upload it again.`);
    }
    return parseTokenCsv(text, name);

    function fail(message) {
      return { ok: false, tokens: [], notes: [], errors: [message] };
    }
  }

  /** The template's format: a header with a `token` column, one token per row. Everything is checked first. */
  function parseTokenCsv(rawText, name) {
    const text = rawText.replace(/^\uFEFF/, "");
    const errors = [];
    const notes = [];
    if (!text.trim()) {
      return { ok: false, tokens: [], notes, errors: [`“${name}” is empty. It needs a header line “token” and one share token per line below it.`] };
    }
    const { records, unclosedQuoteLine } = parseCsvRecords(text);
    if (unclosedQuoteLine) {
      return { ok: false, tokens: [], notes, errors: [`Row ${unclosedQuoteLine}: a quoted value is never closed (a “"” is missing).`] };
    }
    const isBlank = (r) => r.cells.every((c) => c.trim() === "");
    const headerIndex = records.findIndex((r) => !isBlank(r));
    const header = records[headerIndex];
    const headerCells = header.cells.map((c) => c.trim().toLowerCase());
    const col = headerCells.indexOf("token");
    if (col < 0) {
      const found = header.cells.map((c) => c.trim()).join(",");
      const looksLikeToken = /^_?act-|jwt|^[A-Za-z0-9_-]{24,}/.test(found);
      return {
        ok: false, tokens: [], notes,
        errors: [`The first row must be the header “token”, but it is “${found.length > 60 ? found.slice(0, 57) + "…" : found}”.` +
          (looksLikeToken ? " It looks like a share token: add a first line with just the word token." :
            " Download the template and paste the tokens below its header.")],
      };
    }
    if (header.cells.length > 1) {
      notes.push(`Only the “token” column is used; ${plural(header.cells.length - 1, "other column")} ignored.`);
    }
    const tokens = [];
    let blank = headerIndex; // blank lines before the header
    for (const r of records.slice(headerIndex + 1)) {
      if (isBlank(r)) { blank += 1; continue; }
      const value = (r.cells[col] || "").trim();
      if (!value) { errors.push(`Row ${r.line} has no value in the “token” column.`); continue; }
      if (value.toLowerCase() === "token") { errors.push(`Row ${r.line} repeats the header “token”: remove it.`); continue; }
      if (/\s/.test(value)) { errors.push(`Row ${r.line}: the token contains spaces or line breaks, so it can't be a share token.`); continue; }
      tokens.push({ token: value, row: r.line });
    }
    if (blank) notes.push(`${plural(blank, "blank line")} ignored.`);
    if (!tokens.length && !errors.length) {
      errors.push(`“${name}” has the “token” header but no tokens. Add one share token per line below the header.`);
    }
    // Tokens are single use: a repeated token would fail on its second row, so refuse the file up front.
    const rowsByToken = new Map();
    for (const t of tokens) {
      if (!rowsByToken.has(t.token)) rowsByToken.set(t.token, []);
      rowsByToken.get(t.token).push(t.row);
    }
    for (const rows of rowsByToken.values()) {
      if (rows.length > 1) {
        errors.push(`Duplicate token on rows ${listWords(rows)}. Share tokens are single use: keep each token once.`);
      }
    }
    if (tokens.length > MAX_TOKENS) {
      const files = Math.ceil(tokens.length / MAX_TOKENS);
      errors.push(`The file has ${tokens.length} tokens; one import takes at most ${MAX_TOKENS}. ` +
        `Split it into ${files} files of at most ${MAX_TOKENS} tokens each (each with the “token” header) and import them one after another.`);
    }
    return { ok: errors.length === 0, tokens, notes, errors };
  }

  // ------------------------------------------------------------------ add customer dialog
  function isImportMode() {
    return $("mode-switch").getAttribute("aria-checked") === "true";
  }

  function setMode(importMode) {
    $("mode-switch").setAttribute("aria-checked", importMode ? "true" : "false");
    $("panel-manual").hidden = importMode;
    $("panel-import").hidden = !importMode;
    for (const el of document.querySelectorAll(".mode-label")) {
      el.classList.toggle("active", (el.dataset.mode === "import") === importMode);
    }
  }

  function openDialog(importMode) {
    const dialog = $("add-dialog");
    resetManual();
    resetImport();
    setMode(Boolean(importMode));
    if (!dialog.open) dialog.showModal();
    $("mode-switch").focus();
  }

  function closeDialog() {
    const dialog = $("add-dialog");
    if (dialog.open) dialog.close();
  }

  function resetManual() {
    $("manual-form").reset();
    $("manual-result").replaceChildren();
    $("manual-name").removeAttribute("aria-invalid");
  }

  function resetImport() {
    state.importTokens = null;
    $("csv-file").value = "";
    $("csv-status").replaceChildren();
    showBanner($("import-error"), null);
    $("import-submit").disabled = true;
    $("import-submit").textContent = "Import";
    $("import-form-area").hidden = false;
    $("import-results").hidden = true;
    $("results-body").replaceChildren();
    $("import-summary").replaceChildren();
    $("dropzone").classList.remove("has-file", "has-error");
  }

  async function onFileChosen() {
    const input = $("csv-file");
    const status = $("csv-status");
    state.importTokens = null;
    $("import-submit").disabled = true;
    showBanner($("import-error"), null);
    status.replaceChildren();
    const file = input.files && input.files[0];
    const zone = $("dropzone");
    zone.classList.remove("has-file", "has-error");
    if (!file) return;
    let parsed;
    try {
      parsed = await readTokenFile(file);
    } catch (err) {
      parsed = { ok: false, tokens: [], notes: [], errors: [`“${file.name}” could not be read (${err.message || err}).`] };
    }
    if (input.files[0] !== file) return; // another file was picked meanwhile
    if (!parsed.ok) {
      zone.classList.add("has-error");
      status.replaceChildren(h("div", { className: "banner banner-error", role: "alert", id: "csv-errors" },
        h("p", { className: "problem-lead" }, `“${file.name}” can't be imported, so nothing was sent. Fix the file and choose it again.`),
        h("ul", { className: "problem-list" }, parsed.errors.map((e) => h("li", {}, e))),
        parsed.notes.length ? h("p", { className: "problem-meta" }, parsed.notes.join(" ")) : null));
      return;
    }
    zone.classList.add("has-file");
    state.importTokens = parsed.tokens;
    const preview = parsed.tokens.slice(0, 5).map((t) => h("li", {},
      h("span", { className: "row-no" }, `Row ${t.row}`),
      h("code", { className: "token-preview", title: t.token }, t.token.length > 56 ? t.token.slice(0, 40) + "…" + t.token.slice(-10) : t.token)));
    if (parsed.tokens.length > 5) preview.push(h("li", { className: "muted small" }, `and ${parsed.tokens.length - 5} more`));
    status.replaceChildren(h("div", { className: "banner banner-ok", id: "csv-ready" },
      h("p", { className: "ready-line" },
        h("strong", {}, `${plural(parsed.tokens.length, "token")} ready to import`), ` from “${file.name}”.`,
        parsed.notes.length ? " " + parsed.notes.join(" ") : ""),
      h("ul", { className: "token-list" }, preview)));
    $("import-submit").disabled = false;
    $("import-submit").textContent = `Import ${plural(parsed.tokens.length, "token")}`;
  }

  async function submitImport() {
    const tokens = state.importTokens;
    if (!tokens || !tokens.length || state.importing) return;
    state.importing = true;
    const button = $("import-submit");
    button.disabled = true;
    button.textContent = `Importing ${plural(tokens.length, "token")}…`;
    $("import-form-area").setAttribute("aria-busy", "true");
    showBanner($("import-error"), null);
    try {
      const result = await api("POST", IMPORT_PATH, {
        json: { tokens: tokens.map((t) => t.token) },
        headers: { "x-idempotency-key": uuid4() },
      });
      renderImportResults(result, tokens);
      loadCustomers();
    } catch (err) {
      const lead = err.status === 401 ? "This API key can't import tokens." : "The import was refused; nothing was imported.";
      showBanner($("import-error"), problemNode(err, lead));
      button.disabled = false;
      button.textContent = `Import ${plural(tokens.length, "token")}`;
      $("import-error").focus();
    } finally {
      state.importing = false;
      $("import-form-area").setAttribute("aria-busy", "false");
    }
  }

  function idLink(label, id, href) {
    return h("div", { className: "id-line" }, h("span", { className: "id-label" }, label),
      h("a", { href, className: "id-link", dataset: { navigate: "1" } }, h("code", {}, id)));
  }

  function renderImportResults(result, tokens) {
    $("import-form-area").hidden = true;
    $("import-results").hidden = false;
    const results = result.results || [];
    const summary = $("import-summary");
    summary.replaceChildren(
      h("div", { className: "stat" }, h("span", { className: "stat-value", id: "stat-total" }, String(result.total)), h("span", { className: "stat-label" }, "Total")),
      h("div", { className: "stat stat-ok" }, h("span", { className: "stat-value", id: "stat-succeeded" }, String(result.succeeded)), h("span", { className: "stat-label" }, "Imported")),
      h("div", { className: "stat stat-fail" }, h("span", { className: "stat-value", id: "stat-failed" }, String(result.failed)), h("span", { className: "stat-label" }, "Failed")),
      h("p", { className: "visually-hidden" },
        `Import finished: ${plural(result.total, "token")}, ${result.succeeded} imported, ${result.failed} failed.`));
    const body = $("results-body");
    body.replaceChildren();
    results.forEach((r, i) => {
      const row = tokens[i] ? tokens[i].row : i + 2;
      const detail = r.success
        ? h("div", { className: "ids" },
          idLink("Customer", r.customer_id, `#/customers/${encodeURIComponent(r.customer_id)}`),
          idLink("Application", r.application_id, `#/customers/${encodeURIComponent(r.customer_id)}/application`))
        : h("p", { className: "row-error" }, r.error);
      body.append(h("tr", { className: r.success ? "ok" : "failed", dataset: { row: String(row) } },
        h("td", { className: "num" }, String(row)),
        h("td", {}, r.name),
        h("td", {}, r.success
          ? h("span", { className: "badge badge-green" }, h("span", { className: "badge-dot", "aria-hidden": "true" }), "Imported")
          : h("span", { className: "badge badge-red" }, h("span", { className: "badge-dot", "aria-hidden": "true" }), "Failed")),
        h("td", {}, detail)));
    });
    $("import-again").focus();
  }

  async function submitManual(event) {
    event.preventDefault();
    const name = $("manual-name").value.trim();
    const out = $("manual-result");
    out.replaceChildren();
    if (!name) {
      $("manual-name").setAttribute("aria-invalid", "true");
      out.append(h("p", { className: "form-error", role: "alert" }, "Enter the customer's name."));
      $("manual-name").focus();
      return;
    }
    $("manual-name").removeAttribute("aria-invalid");
    const type = document.querySelector('input[name="customer_type"]:checked').value;
    const externalId = $("manual-external-id").value.trim();
    const body = { name, customer_type: type };
    if (externalId) body.external_id = externalId;
    const button = $("manual-submit");
    button.disabled = true;
    button.textContent = "Creating…";
    try {
      const created = await api("POST", "/customers", { json: body, headers: { "x-idempotency-key": uuid4() } });
      out.append(h("div", { className: "banner banner-ok", role: "status" },
        h("p", {}, h("strong", {}, `${created.name || name} was created.`)),
        created.id ? idLink("Customer", created.id, `#/customers/${encodeURIComponent(created.id)}`) : null,
        created.application_id && created.id
          ? idLink("Application", created.application_id, `#/customers/${encodeURIComponent(created.id)}/application`) : null));
      $("manual-form").reset();
      loadCustomers();
    } catch (err) {
      const missing = err.status === 404 || err.status === 405;
      out.append(h("div", { className: "banner banner-error", role: "alert" },
        missing
          ? problemNode(err, "Manual creation (POST /customers) isn't available on this sandbox yet. " +
            "Switch to Sumsub Import to add customers from share tokens.")
          : problemNode(err, "The customer was not created.")));
    } finally {
      button.disabled = false;
      button.textContent = "Create customer";
    }
  }

  // ------------------------------------------------------------------ wiring
  function init() {
    renderHeader();
    loadCredentials();

    $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("api-key").value); });
    $("use-admin").addEventListener("click", (e) => signIn(e.currentTarget.dataset.key));
    $("use-viewer").addEventListener("click", (e) => signIn(e.currentTarget.dataset.key));
    $("sign-out").addEventListener("click", signOut);

    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); applySearch(true); });
    $("search").addEventListener("input", () => applySearch(false));
    $("page-size").addEventListener("change", (e) => {
      state.list.limit = Number(e.currentTarget.value) || 20;
      state.list.cursor = null;
      state.list.offset = 0;
      loadCustomers();
    });
    $("next-page").addEventListener("click", nextPage);
    $("prev-page").addEventListener("click", prevPage);

    $("add-customer").addEventListener("click", () => openDialog(false));
    $("add-close").addEventListener("click", closeDialog);
    $("add-dialog").addEventListener("close", () => {
      const opener = $("add-customer");
      if (!$("view-customers").hidden) opener.focus();
    });
    $("add-dialog").addEventListener("click", (e) => {
      const close = e.target.closest("[data-close]");
      if (close) closeDialog();
      const nav = e.target.closest("a[data-navigate]");
      if (nav) closeDialog(); // the link's own navigation then opens the detail view
    });
    $("mode-switch").addEventListener("click", () => {
      setMode(!isImportMode());
    });
    for (const el of document.querySelectorAll(".mode-label")) {
      el.addEventListener("click", () => { setMode(el.dataset.mode === "import"); $("mode-switch").focus(); });
    }
    $("manual-form").addEventListener("submit", submitManual);
    $("csv-file").addEventListener("change", onFileChosen);
    $("import-submit").addEventListener("click", submitImport);
    $("import-again").addEventListener("click", () => { resetImport(); $("csv-file").focus(); });

    const zone = $("dropzone");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        $("csv-file").files = e.dataTransfer.files;
        onFileChosen();
      }
    });

    window.addEventListener("hashchange", route);
    route();
  }

  // Exposed for tests and for poking around in the console.
  window.kycDashboard = { parseTokenCsv, parseCsvRecords };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
