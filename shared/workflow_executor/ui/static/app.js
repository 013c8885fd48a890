// The web view's only script (no build step, no CDN). It fetches the caller's view from
// /ui/api/... with the API key kept in sessionStorage, inserts the server-rendered (escaped)
// fragment, follows a running execution over server-sent events (polling when the stream
// cannot be had), and sends Cancel / Rerun as MCP tools/call requests.
"use strict";
(function () {
  const KEY = "wfx-api-key";
  const path = location.pathname;
  const at = path.search(/\/ui(\/|$)/);
  const base = at >= 0 ? path.slice(0, at) : "";
  const view = at >= 0 ? path.slice(at + 3).replace(/\/$/, "") : "";
  const main = document.getElementById("main");
  const flash = document.getElementById("flash");
  let busy = false, again = false, streaming = false, polling = null;

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const key = sessionStorage.getItem(KEY);
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  function say(text, bad) {
    flash.textContent = text || "";
    flash.className = bad ? "bad" : "";
  }

  function askKey(message) {
    const form = document.getElementById("keyform");
    form.hidden = false;
    if (message) document.getElementById("keymsg").textContent = message;
    main.textContent = "";
    document.getElementById("keyinput").focus();
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const r = await fetch(base + "/ui/api" + view + location.search, {headers: headers(), cache: "no-store"});
      if (r.status === 401) {
        const had = sessionStorage.getItem(KEY);
        sessionStorage.removeItem(KEY);
        askKey(had ? "That API key was refused; enter a valid one." : null);
        return;
      }
      document.getElementById("who").textContent = r.headers.get("X-Wfx-Caller") || "";
      const body = await r.text();  // read first: what the page holds is taken just before it is replaced
      const open = Array.from(main.querySelectorAll("details[open]")).map((d) => d.dataset.key);
      const picked = Array.from(main.querySelectorAll("input.pick:checked")).map((c) => c.value);
      const sorted = main.querySelector("th[data-dir]");
      const sortBy = sorted ? [sorted.cellIndex, sorted.dataset.dir] : null;
      const typed = typedValues();
      main.innerHTML = body;  // server-rendered and escaped; inserted scripts never run (and CSP)
      restoreTyped(typed);
      open.forEach((k) => {
        const d = main.querySelector('details[data-key="' + CSS.escape(k) + '"]');
        if (d) d.open = true;
      });
      picked.forEach((v) => {
        const c = main.querySelector('input.pick[value="' + CSS.escape(v) + '"]');
        if (c) c.checked = true;
      });
      if (sortBy) sortTable(main.querySelector("table.sortable"), sortBy[0], sortBy[1]);
      const top = main.firstElementChild;
      if (top && top.dataset.title) document.title = top.dataset.title + " · Workflow Executor";
      document.getElementById("forget").hidden = !sessionStorage.getItem(KEY);
      follow(top);
    } catch (e) {
      say("Could not reach the server: " + e, true);
      schedulePoll();
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  // What the user typed into a form on the page (the event form of a waiting run, the run form)
  // survives a refresh: a live page re-renders while it is being filled in.
  function fieldKey(el) {
    const form = el.form;
    const owner = form ? [form.dataset.action || "", form.dataset.id || "", form.dataset.workflow || ""].join("|") : "";
    return owner + "#" + el.name;
  }

  function typedValues() {
    const kept = {values: {}, focus: null};
    main.querySelectorAll("form input[name], form select[name], form textarea[name]").forEach((el) => {
      kept.values[fieldKey(el)] = el.type === "checkbox" ? el.checked : el.value;
    });
    const at = document.activeElement;
    if (at && at.name && main.contains(at)) kept.focus = fieldKey(at);
    return kept;
  }

  function restoreTyped(kept) {
    main.querySelectorAll("form input[name], form select[name], form textarea[name]").forEach((el) => {
      const key = fieldKey(el);
      if (!(key in kept.values)) return;
      if (el.type === "checkbox") el.checked = kept.values[key]; else el.value = kept.values[key];
      if (key === kept.focus) el.focus();
    });
  }

  function schedulePoll() {
    if (polling === null) polling = setTimeout(() => { polling = null; refresh(); }, 1000);
  }

  function follow(top) {
    if (!top) return;
    if (top.dataset.live && top.dataset.events) {
      if (!streaming) stream(top.dataset.events);
    } else if (top.dataset.refresh) {
      schedulePoll();
    }
  }

  // Server-sent events read with fetch (EventSource cannot send the Authorization header).
  async function stream(url) {
    streaming = true;
    let ended = false;
    try {
      const r = await fetch(url, {headers: headers({Accept: "text/event-stream"}), cache: "no-store"});
      const type = r.headers.get("Content-Type") || "";
      if (!r.ok || !r.body || type.indexOf("text/event-stream") !== 0) throw new Error("no stream");
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const kind = (ev.match(/^event: (\w+)/m) || [])[1];
          if (kind === "change") refresh();
          if (kind === "end") ended = true;
        }
      }
      streaming = false;
      refresh();  // after "end" the page is final; after "more" it opens the next stream
      if (!ended) return;
    } catch (e) {
      streaming = false;
      document.body.dataset.polling = "1";  // the platform cannot stream: poll instead
      schedulePoll();
    }
  }

  async function tool(name, args) {
    const r = await fetch(base + "/", {
      method: "POST",
      headers: headers({"Content-Type": "application/json", Accept: "application/json"}),
      body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "tools/call", params: {name: name, arguments: args}}),
    });
    const data = await r.json();
    if (data.error) throw new Error(data.error.message);
    const res = data.result;
    const msg = (res.content && res.content[0] && res.content[0].text) || "";
    if (res.isError && !(res.structuredContent && res.structuredContent.execution_id)) throw new Error(msg);
    return res;
  }

  // Sort a table by one column: by the cells' data-v (numbers when the header says num), else text.
  function sortTable(table, col, dir) {
    if (!table) return;
    const th = table.tHead.rows[0].cells[col];
    if (!th || !th.dataset.sort) return;
    Array.from(table.tHead.rows[0].cells).forEach((c) => { delete c.dataset.dir; });
    th.dataset.dir = dir;
    const num = th.dataset.sort === "num";
    const val = (r) => { const c = r.cells[col]; const v = c ? (c.dataset.v ?? c.textContent) : ""; return num ? +v : v; };
    const rows = Array.from(table.tBodies[0].rows).filter((r) => r.dataset.id);
    rows.sort((a, b) => { const x = val(a), y = val(b); return (x < y ? -1 : x > y ? 1 : 0) * (dir === "asc" ? 1 : -1); });
    rows.forEach((r) => table.tBodies[0].appendChild(r));
  }

  function copyText(button) {
    const raw = button.parentElement.querySelector("pre.raw");
    const text = raw ? raw.textContent : "";
    const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else fallbackCopy(text, done);
  }

  function fallbackCopy(text, done) {  // plain http: no async clipboard; a hidden textarea + execCommand
    const t = document.createElement("textarea");
    t.value = text; t.setAttribute("readonly", ""); t.className = "offscreen";
    document.body.appendChild(t); t.select();
    try { document.execCommand("copy"); done(); } catch (e) { say("Copy failed: " + e, true); }
    t.remove();
  }

  main.addEventListener("click", async (ev) => {
    const th = ev.target.closest("th[data-sort]");
    if (th) {
      sortTable(th.closest("table"), th.cellIndex, th.dataset.dir === "asc" ? "desc" : "asc");
      return;
    }
    const copy = ev.target.closest("button[data-action=copy]");
    if (copy) { copyText(copy); return; }
    const bulk = ev.target.closest("button[data-action=bulk-cancel]");
    if (bulk) {
      const ids = Array.from(main.querySelectorAll("input.pick:checked")).map((c) => c.value);
      if (!ids.length) { say("Select the runs to cancel first.", true); return; }
      bulk.disabled = true;
      let ok = 0, bad = [];
      for (const id of ids) {
        try { await tool("cancel_execution", {execution_id: id}); ok++; } catch (e) { bad.push(id.slice(0, 12) + ": " + (e.message || e)); }
      }
      say("Cancelled " + ok + " of " + ids.length + (bad.length ? "; " + bad.join("; ") : ""), bad.length > 0);
      main.querySelectorAll("input.pick:checked").forEach((c) => { c.checked = false; });
      refresh();
      return;
    }
    const pause = ev.target.closest("button[data-action=pause]");
    if (pause) {
      pause.disabled = true;
      const r = await fetch(base + "/ui/api/schedules/" + encodeURIComponent(pause.dataset.key) + "/" + pause.dataset.verb,
                            {method: "POST", headers: headers(), cache: "no-store"});
      say(r.ok ? pause.dataset.verb + "d" : "Refused: " + r.status, !r.ok);
      refresh();
      return;
    }
    const b = ev.target.closest("button[data-action=cancel]");
    if (!b) return;
    b.disabled = true;
    try {
      const res = await tool("cancel_execution", {execution_id: b.dataset.id});
      say(res.content[0].text);
    } catch (e) { say(String(e.message || e), true); }
    refresh();
  });

  // A waiting run: Approve / Reject, or the form of its payload_schema, go out as send_event.
  async function sendEvent(el, payload) {
    try {
      const res = await tool("send_event", {execution_id: el.dataset.id, event: el.dataset.event, payload: payload});
      say(res.content[0].text, res.isError);
    } catch (e) { say(String(e.message || e), true); }
    refresh();
  }
  main.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action=send-event]");
    if (!b) return;
    b.disabled = true;
    sendEvent(b, JSON.parse(b.dataset.payload));
  });
  main.addEventListener("submit", (ev) => {
    const form = ev.target.closest("form[data-action=send-event]");
    if (!form) return;
    ev.preventDefault();
    const payload = {};
    form.querySelectorAll("[name^='ev:']").forEach((f) => {
      const kind = f.dataset.type, raw = f.value;
      if (raw === "") return;
      payload[f.name.slice(3)] = kind === "boolean" ? raw === "true" : (kind === "number" || kind === "integer") ? Number(raw) : raw;
    });
    sendEvent(form, payload);
  });

  // Start a run from the workflow page: each field is sent as JSON when it parses, else as text.
  main.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-action=run]");
    if (!form) return;
    ev.preventDefault();
    const input = {};
    form.querySelectorAll("textarea[name^='in:']").forEach((t) => {
      const raw = t.value;
      if (raw === "") return;
      try { input[t.name.slice(3)] = JSON.parse(raw); } catch (e) { input[t.name.slice(3)] = raw; }
    });
    const args = {workflow_name: form.dataset.workflow, input_data: input,
                  execution_mode: form.querySelector("select[name=mode]").value,
                  timeout: +form.querySelector("input[name=timeout]").value || 300};
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const res = await tool("execute_workflow", args);
      const id = res.structuredContent && res.structuredContent.execution_id;
      say(res.content[0].text, res.isError);
      if (id) location.href = base + "/ui/executions/" + encodeURIComponent(id);
    } catch (e) { say(String(e.message || e), true); button.disabled = false; }
  });

  main.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-action=rerun]");
    if (!form) return;
    ev.preventDefault();
    const step = form.querySelector("select").value;
    const args = {execution_id: form.dataset.id};
    if (step) args.from_step = step;
    try {
      const res = await tool("rerun_execution", args);
      const id = res.structuredContent.execution_id;
      say(res.content[0].text, res.isError);
      location.href = base + "/ui/executions/" + encodeURIComponent(id);
    } catch (e) { say(String(e.message || e), true); }
  });

  document.getElementById("keyform").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = document.getElementById("keyinput").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    document.getElementById("keyform").hidden = true;
    document.getElementById("keyinput").value = "";
    refresh();
  });

  document.getElementById("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });

  // Back on the tab: show what changed meanwhile (background tabs' timers are throttled).
  window.addEventListener("focus", () => { if (sessionStorage.getItem(KEY)) refresh(); });

  refresh();
})();
