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
      const open = Array.from(main.querySelectorAll("details[open]")).map((d) => d.dataset.key);
      main.innerHTML = await r.text();  // server-rendered and escaped; inserted scripts never run (and CSP)
      open.forEach((k) => {
        const d = main.querySelector('details[data-key="' + CSS.escape(k) + '"]');
        if (d) d.open = true;
      });
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

  main.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-action=cancel]");
    if (!b) return;
    b.disabled = true;
    try {
      const res = await tool("cancel_execution", {execution_id: b.dataset.id});
      say(res.content[0].text);
    } catch (e) { say(String(e.message || e), true); }
    refresh();
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

  refresh();
})();
