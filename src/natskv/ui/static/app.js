// natskv ui: the page's whole script, hand-written, no build step, nothing loaded from elsewhere.
//
// Every string that comes from the server (bucket names, descriptions, keys, values) goes
// into the page as text: textContent and text nodes only, never innerHTML, so a value
// "<script>" shows as those characters. The token of the page's URL goes with every
// request (a header for fetch; the query for EventSource, which cannot send headers).
"use strict";

(() => {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const MAX_CHANGES = 200; // live changes kept on the page
  const $ = (id) => document.getElementById(id);

  const state = {
    bucket: null, // the selected bucket
    key: null, // the key shown in the entry panel
    revision: null, // a revision picked in the history, or null for the latest
    entry: null, // the entry shown
    view: null, // "json" | "text" | "hex": the value's view the user picked
    offset: 0,
    more: false,
    keyRows: new Map(), // key -> <tr> of the keys page shown
    events: null, // the EventSource of the selected bucket
    keysAbort: null, // aborts a keys page request when a newer one starts
  };

  // ------------------------------------------------------------------ building the page

  // An element with properties and children; strings become text nodes (never markup).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node[name] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  // ------------------------------------------------------------------ formats

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
  }

  function formatLimit(n) {
    return n === undefined || n === null || n < 0 ? "unlimited" : formatBytes(n);
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function formatTime(iso) {
    if (!iso) return "never";
    const d = new Date(iso);
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || seconds <= 0) return "unlimited";
    const parts = [];
    let rest = Math.round(seconds);
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
      if (rest >= size) {
        parts.push(`${Math.floor(rest / size)}${unit}`);
        rest %= size;
      }
    }
    return parts.join("") || `${seconds}s`;
  }

  function formatSince(iso) {
    if (!iso) return "never";
    const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    return `${formatDuration(seconds) === "unlimited" ? "0s" : formatDuration(seconds)} ago`;
  }

  // ------------------------------------------------------------------ talking to the server

  function apiUrl(path, params) {
    const query = new URLSearchParams(params || {});
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  function bucketPath(suffix) {
    return `/api/buckets/${encodeURIComponent(state.bucket)}${suffix || ""}`;
  }

  async function api(path, { params, body, signal } = {}) {
    const init = {
      method: body === undefined ? "GET" : "POST",
      headers: { "X-Natskv-Token": TOKEN },
      cache: "no-store",
      credentials: "omit",
      signal,
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(apiUrl(path, params), init);
    const type = response.headers.get("Content-Type") || "";
    const data = type.startsWith("application/json") ? await response.json() : null;
    if (!response.ok) {
      const error = new Error(data && data.error ? data.error : `HTTP ${response.status}`);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  // ------------------------------------------------------------------ buckets

  async function loadBuckets() {
    const data = await api("/api/buckets");
    const body = $("buckets").tBodies[0];
    body.replaceChildren(
      ...data.buckets.map((b) =>
        el(
          "tr",
          {
            className: b.bucket === state.bucket ? "selected" : "",
            dataset: { bucket: b.bucket },
            onclick: () => selectBucket(b.bucket).catch(fail),
          },
          el("td", {}, el("button", { type: "button", className: "link" }, b.bucket)),
          el("td", {}, b.description),
          el("td", { className: "time" }, formatTime(b.created)),
          el("td", { className: "num" }, formatBytes(b.bytes)),
          el("td", { className: "num" }, b.values.toLocaleString("en-US")),
          el("td", {}, formatSince(b.last_update)),
        ),
      ),
    );
    $("no-buckets").hidden = data.buckets.length > 0;
  }

  function fact(list, name, value) {
    list.append(el("dt", {}, name), el("dd", {}, value));
  }

  async function loadStatus() {
    const s = await api(bucketPath());
    const list = $("status");
    list.replaceChildren();
    if (s.description) fact(list, "Description", s.description);
    fact(list, "Values", s.values.toLocaleString("en-US"));
    fact(list, "Size", formatBytes(s.bytes));
    fact(list, "History", String(s.history));
    fact(list, "TTL", formatDuration(s.ttl));
    if (s.limit_marker_ttl) fact(list, "Per-key TTL", `markers kept ${formatDuration(s.limit_marker_ttl)}`);
    fact(list, "Max bucket size", formatLimit(s.max_bytes));
    fact(list, "Max value size", formatLimit(s.max_value_size));
    fact(list, "Storage", `${s.storage}, ${s.replicas} replica${s.replicas === 1 ? "" : "s"}${s.compressed ? ", compressed" : ""}`);
    fact(list, "Created", formatTime(s.created));
    fact(list, "Last update", formatSince(s.last_update));
    fact(list, "Stream", s.stream);
    if (s.cluster) fact(list, "Cluster", `${s.cluster} (leader ${s.leader || "?"})`);
    if (s.mirror) fact(list, "Mirror of", s.mirror);
    if (s.sources.length) fact(list, "Sources", s.sources.join(", "));
    for (const [name, value] of Object.entries(s.metadata || {})) fact(list, name, value);
  }

  async function selectBucket(name, key) {
    state.bucket = name;
    state.key = null;
    $("bucket-name").textContent = name;
    $("bucket-view").hidden = false;
    $("entry-panel").hidden = true;
    $("changes").replaceChildren();
    $("no-changes").hidden = false;
    $("filter").value = "";
    for (const row of $("buckets").tBodies[0].rows) {
      row.classList.toggle("selected", row.dataset.bucket === name);
    }
    remember();
    watch();
    await Promise.all([loadStatus(), loadKeys(0)]);
    if (key) await selectKey(key);
  }

  // ------------------------------------------------------------------ keys

  async function loadKeys(offset) {
    if (state.keysAbort) state.keysAbort.abort();
    const abort = new AbortController();
    state.keysAbort = abort;
    const limit = Number($("page-size").value);
    let data;
    try {
      data = await api(bucketPath("/keys"), {
        params: { filter: $("filter").value, offset, limit },
        signal: abort.signal,
      });
    } catch (error) {
      if (error.name === "AbortError") return;
      throw error;
    }
    state.offset = data.offset;
    state.more = data.more;
    state.keyRows = new Map();
    const rows = data.keys.map((key) => {
      const row = el(
        "tr",
        { className: key === state.key ? "selected" : "", onclick: () => selectKey(key).catch(fail) },
        el("td", {}, el("button", { type: "button", className: "link key" }, key)),
        el("td", { className: "change muted" }),
      );
      state.keyRows.set(key, row);
      return row;
    });
    $("keys").tBodies[0].replaceChildren(...rows);
    $("no-keys").hidden = rows.length > 0 || offset > 0;
    const first = data.keys.length ? data.offset + 1 : data.offset;
    const last = data.offset + data.keys.length;
    const of = data.total !== null ? ` of ${data.total.toLocaleString("en-US")}` : ", more follow";
    const how = data.filter.kind === "subject" && data.filter.subject !== ">" ? ` matching ${data.filter.subject}` : "";
    $("page-info").textContent = data.keys.length
      ? `keys ${first}–${last}${of}${how}`
      : offset > 0
        ? `no keys past ${offset.toLocaleString("en-US")}${of}`
        : "";
    $("prev").disabled = data.offset === 0;
    $("next").disabled = !data.more;
  }

  // ------------------------------------------------------------------ one key

  function showValue() {
    const entry = state.entry;
    const value = entry.value;
    const available = { json: value.json !== null, text: true, hex: true };
    let view = state.view && available[state.view] ? state.view : null;
    if (!view) view = value.kind === "json" ? "json" : value.kind === "binary" ? "hex" : "text";
    for (const tab of document.querySelectorAll(".tabs [data-view]")) {
      tab.disabled = !available[tab.dataset.view];
      tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    }
    // editing as text would change a binary value, or cut a long one
    $("edit").disabled = value.kind === "binary" || value.text_truncated;
    $("entry-value").textContent = value[view];
    $("entry-value").dataset.view = view;
    const cut = value[`${view}_truncated`];
    $("entry-note").textContent = cut ? `Only the start of the value is shown (${formatBytes(value.size)} in all).` : "";
  }

  function showMeta(items) {
    const list = $("entry-meta");
    list.replaceChildren();
    for (const [name, value] of items) fact(list, name, value);
  }

  async function loadEntry() {
    const params = { key: state.key };
    if (state.revision) params.revision = state.revision;
    try {
      state.entry = await api(bucketPath("/entry"), { params });
    } catch (error) {
      if (error.status !== 404) throw error;
      state.entry = null;
      const d = error.data || {};
      showMeta(d.revision ? [["Revision", String(d.revision)], ["Operation", d.operation]] : []);
      $("entry-value").textContent = "";
      $("entry-note").textContent = error.message;
      for (const tab of document.querySelectorAll(".tabs [data-view]")) tab.disabled = true;
      $("edit").disabled = true;
      return;
    }
    const e = state.entry;
    showMeta([
      ["Revision", state.revision ? `${e.revision} (an earlier revision)` : String(e.revision)],
      ["Created", formatTime(e.created)],
      ["Length", `${e.size.toLocaleString("en-US")} bytes`],
      ["Shown as", e.value.kind],
    ]);
    showValue();
  }

  async function loadHistory() {
    const data = await api(bucketPath("/history"), { params: { key: state.key } });
    const rows = data.history.reverse().map((h) =>
      el(
        "tr",
        {
          className: h.revision === (state.revision || (state.entry && state.entry.revision)) ? "selected" : "",
          onclick: h.operation === "PUT" ? () => pickRevision(h.revision).catch(fail) : null,
        },
        el("td", { className: "num" }, String(h.revision)),
        el("td", { className: `op ${h.operation}` }, h.operation),
        el("td", { className: "time" }, formatTime(h.created)),
        el("td", { className: "num" }, String(h.size)),
        el("td", { className: "preview" }, h.preview),
      ),
    );
    $("history").tBodies[0].replaceChildren(...rows);
  }

  async function selectKey(key) {
    state.key = key;
    state.revision = null;
    state.view = null;
    $("entry-key").textContent = key;
    $("entry-panel").hidden = false;
    for (const [k, row] of state.keyRows) row.classList.toggle("selected", k === key);
    remember();
    await loadEntry();
    await loadHistory();
  }

  async function pickRevision(revision) {
    state.revision = revision === (state.entry && state.entry.revision) && !state.revision ? null : revision;
    await loadEntry();
    await loadHistory();
  }

  // ------------------------------------------------------------------ writes, confirmed first

  function confirmAction(text, detail, ok) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-detail").textContent = detail || "";
    $("confirm-detail").hidden = !detail;
    $("confirm-ok").textContent = ok;
    return new Promise((resolve) => {
      const finish = (answer) => {
        $("confirm-ok").onclick = null;
        $("confirm-cancel").onclick = null;
        dialog.oncancel = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      $("confirm-ok").onclick = () => finish(true);
      $("confirm-cancel").onclick = () => finish(false);
      dialog.oncancel = () => finish(false); // Escape
      dialog.showModal();
    });
  }

  async function write(action, body) {
    const done = await api(bucketPath(`/${action}`), { body });
    showError("");
    if (body.key === state.key) {
      state.revision = null;
      await loadEntry();
      await loadHistory();
    }
    return done;
  }

  async function putValue(event) {
    event.preventDefault();
    const key = $("put-key").value.trim();
    const value = $("put-value").value;
    if (!key) return;
    const shown = value.length > 500 ? `${value.slice(0, 500)}…` : value;
    if (!(await confirmAction(`Put this value to key ${key} in bucket ${state.bucket}?`, shown, "Put"))) return;
    await write("put", { key, value });
    if (!state.keyRows.has(key) && !state.more) await loadKeys(state.offset);
    await selectKey(key);
  }

  // The put form, filled with the key and its value as text, to change it.
  function editEntry() {
    $("put-key").value = state.key;
    $("put-value").value = state.entry ? state.entry.value.text : "";
    $("put-value").focus();
  }

  async function removeKey(action) {
    const key = state.key;
    const what =
      action === "purge"
        ? `Purge key ${key} in bucket ${state.bucket}? Its whole history is removed.`
        : `Delete key ${key} in bucket ${state.bucket}? Its history is kept.`;
    if (!(await confirmAction(what, "", action === "purge" ? "Purge" : "Delete"))) return;
    await write(action, { key });
  }

  // ------------------------------------------------------------------ live changes

  function setLive(text, on) {
    const badge = $("live");
    badge.textContent = text;
    badge.className = `badge ${on ? "on" : "off"}`;
  }

  function watch() {
    if (state.events) state.events.close();
    const url = apiUrl(bucketPath("/events"), { token: TOKEN });
    const events = new EventSource(url);
    state.events = events;
    setLive("connecting…", false);
    events.addEventListener("ready", () => setLive(`live: ${state.bucket}`, true));
    events.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
    events.addEventListener("failed", (event) => {
      showError(`live changes stopped: ${JSON.parse(event.data).error}`);
      events.close();
      setLive("not watching", false);
    });
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) setLive("reconnecting…", false);
    };
  }

  let refreshTimer = null;
  function refreshSoon() {
    // many changes in a burst: one refresh of the counts, a moment after the last
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      Promise.all([loadStatus(), loadBuckets()]).catch(fail);
    }, 1000);
  }

  function onChange(change) {
    const list = $("changes");
    const item = el(
      "li",
      { className: `change-${change.operation}`, dataset: { key: change.key, revision: String(change.revision) } },
      el("time", {}, formatTime(change.created)),
      " ",
      el("span", { className: `op ${change.operation}` }, change.operation),
      " ",
      el("button", { type: "button", className: "link key", onclick: () => selectKey(change.key).catch(fail) }, change.key),
      el("span", { className: "muted" }, ` rev ${change.revision}`),
      change.preview ? el("span", { className: "preview" }, ` ${change.preview}`) : null,
    );
    list.prepend(item);
    while (list.children.length > MAX_CHANGES) list.lastElementChild.remove();
    $("no-changes").hidden = true;

    const row = state.keyRows.get(change.key);
    if (row) {
      row.classList.toggle("removed", change.operation !== "PUT");
      row.cells[1].textContent = `${change.operation} rev ${change.revision} at ${formatTime(change.created)}`;
    }
    if (change.key === state.key && !state.revision) {
      loadEntry().then(loadHistory).catch(fail);
    }
    refreshSoon();
  }

  // ------------------------------------------------------------------ the page's address

  // The selection lives in the fragment (never sent to the server), so a reload keeps it.
  function remember() {
    const params = new URLSearchParams();
    if (state.bucket) params.set("bucket", state.bucket);
    if (state.key) params.set("key", state.key);
    history.replaceState(null, "", `${location.pathname}${location.search}#${params}`);
  }

  function fail(error) {
    showError(error && error.message ? error.message : String(error));
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function start() {
    $("buckets-refresh").addEventListener("click", () => loadBuckets().catch(fail));
    $("filter").addEventListener("input", debounce(() => loadKeys(0).catch(fail), 250));
    $("page-size").addEventListener("change", () => loadKeys(0).catch(fail));
    $("prev").addEventListener("click", () => loadKeys(Math.max(0, state.offset - Number($("page-size").value))).catch(fail));
    $("next").addEventListener("click", () => loadKeys(state.offset + Number($("page-size").value)).catch(fail));
    $("put-form").addEventListener("submit", (event) => putValue(event).catch(fail));
    $("edit").addEventListener("click", editEntry);
    $("delete").addEventListener("click", () => removeKey("delete").catch(fail));
    $("purge").addEventListener("click", () => removeKey("purge").catch(fail));
    $("changes-clear").addEventListener("click", () => {
      $("changes").replaceChildren();
      $("no-changes").hidden = false;
    });
    for (const tab of document.querySelectorAll(".tabs [data-view]")) {
      tab.addEventListener("click", () => {
        state.view = tab.dataset.view;
        if (state.entry) showValue();
      });
    }
    const saved = new URLSearchParams(location.hash.slice(1));
    loadBuckets()
      .then(() => (saved.get("bucket") ? selectBucket(saved.get("bucket"), saved.get("key")) : null))
      .catch(fail);
  }

  start();
})();
