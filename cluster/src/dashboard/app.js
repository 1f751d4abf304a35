// Mini-Dynamo dashboard: plain JavaScript, no framework, no build step, nothing from the network
// but this node. Every piece of user data (keys, values, clocks, event details) is set with
// textContent or as an attribute value, never parsed as markup.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  var overview = null;
  var currentKey = "";
  var requests = {};      // "node#n" -> {node, op, key, outcome, t}
  var requestOrder = [];
  var chosenRequest = "";

  function $(id) { return document.getElementById(id); }
  function el(name, attrs, text) {
    var e = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svg(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = String(text); }
    return e;
  }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; }
  function colour(name) {
    var names = overview ? overview.nodes.map(function (n) { return n.name; }) : [];
    var i = names.indexOf(name);
    return COLOURS[(i < 0 ? 0 : i) % COLOURS.length];
  }
  function liveness(name) {
    if (!overview) { return "up"; }
    var n = overview.nodes.find(function (x) { return x.name === name; });
    return n ? n.liveness : "down";
  }
  function status(text, isError) {
    var s = $("status");
    s.textContent = text;
    s.className = isError ? "error" : "";
  }
  function angle(position) {
    // Positions are u64; a double is precise enough for an angle.
    return (Number(position) / 18446744073709551616) * 2 * Math.PI - Math.PI / 2;
  }

  // ---- the ring ----
  function drawRing() {
    var ring = clear($("ring"));
    ring.appendChild(svg("circle", { cx: 0, cy: 0, r: 170, "class": "ring-circle", fill: "none",
      stroke: "#c5cbd3", "stroke-width": 2 }));
    overview.tokens.forEach(function (t) {
      var a = angle(t.position), live = liveness(t.node);
      var c = svg("circle", { cx: 170 * Math.cos(a), cy: 170 * Math.sin(a), r: 6,
        fill: live === "up" ? colour(t.node) : "#fff", stroke: colour(t.node), "stroke-width": 2,
        "class": "token live-" + live, "data-node": t.node });
      if (live === "suspected" || live === "paused") { c.setAttribute("fill-opacity", "0.4"); }
      c.appendChild(svg("title", {}, t.node + " @ " + t.position + " (" + live + ")"));
      ring.appendChild(c);
    });
    var legend = clear($("legend"));
    overview.nodes.forEach(function (n) {
      var li = el("li", { "data-node": n.name, "data-liveness": n.liveness });
      var sw = el("span", { "class": "swatch" });
      sw.style.background = colour(n.name);
      li.appendChild(sw);
      li.appendChild(document.createTextNode(n.name + " "));
      li.appendChild(el("span", { "class": "badge live-" + n.liveness }, n.liveness));
      legend.appendChild(li);
    });
    if (keyInfo) { drawKeyOnRing(keyInfo); }
  }

  var keyInfo = null;
  function drawKeyOnRing(info) {
    var ring = $("ring");
    var a = angle(info.position);
    ring.appendChild(svg("line", { x1: 0, y1: 0, x2: 190 * Math.cos(a), y2: 190 * Math.sin(a),
      stroke: "#1d232b", "stroke-dasharray": "4 3" }));
    ring.appendChild(svg("circle", { cx: 170 * Math.cos(a), cy: 170 * Math.sin(a), r: 8,
      fill: "#1d232b", "class": "key-marker" }));
    var label = svg("text", { x: 0, y: -8, "text-anchor": "middle", "class": "key-label" },
      info.key.length > 24 ? info.key.slice(0, 23) + "…" : info.key);
    ring.appendChild(label);
    ring.appendChild(svg("text", { x: 0, y: 12, "text-anchor": "middle", "font-size": 11 },
      "preference list: " + info.preference_list.join(" ")));
  }

  // ---- nodes, Merkle ranges ----
  function button(text, action, node) {
    var b = el("button", { type: "button", "data-action": action, "data-node": node }, text);
    b.addEventListener("click", function () { admin({ action: action, node: node }); });
    return b;
  }
  // Cards are built once per node and updated in place, so a button is never replaced under
  // the pointer by the once-a-second refresh.
  var cards = {};
  function card(name) {
    if (cards[name]) { return cards[name]; }
    var c = { root: el("div", { "class": "node-card", "data-node": name }) };
    var head = el("div");
    var sw = el("span", { "class": "swatch" });
    sw.style.background = colour(name);
    head.appendChild(sw);
    head.appendChild(el("strong", {}, name + " "));
    c.badge = el("span", { "class": "badge" });
    head.appendChild(c.badge);
    head.appendChild(document.createTextNode(" "));
    c.buttons = el("span");
    c.buttons.appendChild(button("kill", "kill", name));
    c.buttons.appendChild(button("revive", "revive", name));
    c.buttons.appendChild(button("pause", "pause", name));
    c.buttons.appendChild(button("resume", "resume", name));
    head.appendChild(c.buttons);
    c.body = el("div");
    c.root.appendChild(head);
    c.root.appendChild(c.body);
    cards[name] = c;
    return c;
  }
  function drawNodes() {
    var box = $("nodes");
    overview.nodes.forEach(function (n) {
      var d = n.detail;
      var c = card(n.name);
      c.root.setAttribute("data-liveness", n.liveness);
      c.badge.className = "badge live-" + n.liveness;
      c.badge.textContent = n.liveness;
      c.buttons.style.display = overview.supervised ? "" : "none";
      if (c.root.parentNode !== box) { box.appendChild(c.root); }
      var body = clear(c.body);
      if (d) {
        body.appendChild(el("div", { "class": "keys" }, d.keys + " keys: " + d.key_list.join(", ")));
        var hints = {};
        d.hints.forEach(function (h) { (hints[h["for"]] = hints[h["for"]] || []).push(h.key); });
        var hintText = Object.keys(hints).map(function (t) {
          return t + " (" + hints[t].join(", ") + ")";
        }).join("; ");
        body.appendChild(el("div", { "class": "hints" }, "hints waiting: " + (hintText || "none")));
        var view = d.members.filter(function (m) { return m.name !== n.name; })
          .map(function (m) { return m.name + ":" + m.state; }).join(" ");
        body.appendChild(el("div", { "class": "gossip" }, "sees: " + view));
        var syncs = Object.keys(d.syncs).map(function (p) {
          var s = d.syncs[p];
          var ago = ((d.t_ms - s.last_ms) / 1000).toFixed(1);
          return p + " " + s.outcome + " " + ago + "s ago";
        }).join("; ");
        body.appendChild(el("div", { "class": "syncs muted" }, "last sync: " + (syncs || "none yet")));
      } else {
        body.appendChild(el("div", { "class": "muted" }, "not answering"));
      }
    });
    var ranges = clear($("ranges"));
    if (!overview.ranges.length) {
      ranges.appendChild(el("p", { "class": "muted" }, "no keys yet"));
      return;
    }
    var table = el("table");
    var hr = el("tr");
    ["range (end token)", "replicas: root", "roots"].forEach(function (h) { hr.appendChild(el("th", {}, h)); });
    table.appendChild(hr);
    overview.ranges.forEach(function (r) {
      var tr = el("tr", { "data-range": r.range });
      tr.appendChild(el("td", {}, "#" + r.range + " …" + String(r.end).slice(-6)));
      tr.appendChild(el("td", { "class": "clock" }, r.replicas.map(function (x) {
        var root = r.roots[x];
        return x + ": " + (root === null ? "?" : String(root).slice(0, 8));
      }).join("  ")));
      tr.appendChild(el("td", { "class": r.equal ? "agree" : "disagree" }, r.equal ? "equal" : "differ"));
      table.appendChild(tr);
    });
    ranges.appendChild(table);
  }

  function refresh() {
    return fetch("/dash/api/overview").then(function (r) { return r.json(); }).then(function (o) {
      overview = o;
      $("config").textContent = "served by " + o.serving + " · N=" + o.n + " R=" + o.r + " W=" + o.w +
        " · " + o.mode + " · " + o.vnodes + " tokens per node · ring " + o.stages["hash-ring"] +
        ", clocks " + o.stages["vector-clocks"];
      drawRing();
      drawNodes();
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      if ($("status").textContent.indexOf("cannot reach") === 0) { status(""); }
    }).catch(function (e) { status("cannot reach this node: " + e.message, true); });
  }

  // ---- one key ----
  function showKey(key) {
    currentKey = key;
    if (!key) { return Promise.resolve(); }
    return fetch("/dash/api/key/" + encodeURIComponent(key)).then(function (r) { return r.json(); })
      .then(function (info) {
        if (info.error) { status(info.error, true); return; }
        keyInfo = info;
        drawRing();
        var route = clear($("key-route"));
        var list = el("div", { id: "pref-list" });
        list.appendChild(el("span", {}, "preference list: "));
        info.preference_list.forEach(function (name, i) {
          var s = el("span", { "class": "badge live-" + liveness(name) + (i < info.n ? " primary" : "") },
            name + (i < info.n ? "" : "'"));
          list.appendChild(s);
          list.appendChild(document.createTextNode(" "));
        });
        route.appendChild(list);
        route.appendChild(el("div", { id: "targets" }, "a request now goes to: " + info.targets.map(function (t) {
          return t.node + (t["for"] ? " (standing in for " + t["for"] + ")" : "") +
            (t.unreachable ? " (unreachable)" : "");
        }).join(", ")));
        var view = clear($("key-view"));
        view.appendChild(el("div", {}, "key "));
        view.lastChild.appendChild(el("strong", { id: "key-name" }, info.key));
        view.lastChild.appendChild(document.createTextNode(" at position " + info.position + " · "));
        view.lastChild.appendChild(el("span", { id: "key-agree", "class": info.agree ? "agree" : "disagree" },
          info.holders === 0 ? "no replica holds it" : info.agree ? "replicas agree" : "replicas disagree"));
        var table = el("table", { id: "replicas" });
        var hr = el("tr");
        ["node", "role", "siblings (vector clock: value)", "hints"].forEach(function (h) { hr.appendChild(el("th", {}, h)); });
        table.appendChild(hr);
        info.replicas.forEach(function (r) {
          var versions = r.versions || [];
          var tr = el("tr", { "data-replica": r.node, "data-siblings": versions.length, "data-liveness": r.liveness });
          tr.appendChild(el("td", { "class": "live-" + r.liveness }, r.node));
          tr.appendChild(el("td", {}, r.primary ? "primary" : "other"));
          var cell = el("td");
          if (r.versions === null) { cell.appendChild(el("span", { "class": "muted" }, "not answering")); }
          versions.forEach(function (v) {
            var line = el("div", { "class": "version" + (v.tombstone ? " tomb" : "") });
            line.appendChild(el("span", { "class": "clock" }, v.clock + " "));
            line.appendChild(el("span", { "class": "value" }, v.tombstone ? "(tombstone)" : v.value));
            cell.appendChild(line);
          });
          tr.appendChild(cell);
          tr.appendChild(el("td", {}, r.hints_for.length ? "hint for " + r.hints_for.join(", ") : ""));
          table.appendChild(tr);
        });
        view.appendChild(table);
      }).catch(function (e) { status("key lookup failed: " + e.message, true); });
  }

  // ---- buttons and console ----
  function admin(body) {
    status(body.action + " " + (body.node || "") + "…");
    return fetch("/dash/api/admin", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (j) { status(j.message, !r.ok); });
    }).catch(function (e) { status(body.action + ": " + e.message, true); }).then(refresh);
  }
  function consoleRequest(method) {
    var key = $("c-key").value, value = $("c-value").value, context = $("c-context").value.trim();
    if (!key) { $("c-out").textContent = "type a key first"; return; }
    var headers = {};
    if (context) { headers["X-Dynamo-Context"] = context; }
    var sent = method + " /kv/" + key + (context ? "\nX-Dynamo-Context: " + context : "\n(no context)") +
      (method === "PUT" ? "\nbody: " + value : "");
    fetch("/kv/" + encodeURIComponent(key), { method: method, headers: headers,
      body: method === "PUT" ? value : undefined }).then(function (r) {
      var ctx = r.headers.get("X-Dynamo-Context");
      return r.text().then(function (text) {
        $("c-out").textContent = sent + "\n\n→ HTTP " + r.status + "\n" + text +
          (ctx ? "\ncontext carried back: " + ctx : "");
        if (ctx && method !== "DELETE") { $("c-context").value = ctx; }
        if (method === "DELETE" && r.ok) { $("c-context").value = ""; }
        $("key-input").value = key;
        showKey(key);
      });
    }).catch(function (e) { $("c-out").textContent = sent + "\n\n→ " + e.message; });
  }

  // ---- events and diagrams ----
  // The nodes report client requests (`put`, `get`, `delete` with key and outcome), every peer
  // exchange their transport made (`direction: "sent"`, with kind, peer, detail, outcome, at the
  // time the outcome was known), liveness changes, partition and heal. A request's diagram is
  // the coordinator's exchanges about its key from its previous request on that key to one
  // second after its answer: those after the answer came too late to count.
  var CLIENT = { put: true, get: true, "delete": true };
  var REQUEST_MESSAGES = { put: true, get: true, hint: true, repair: true };
  var LOGGED = { hint: true, handoff: true, repair: true, transfer: true };
  var exchanges = {};       // node -> its recent "sent" exchanges
  var requestSeq = 0;
  var WINDOW_MS = 2000, LATE_MS = 1000;
  function logLine(ev) {
    var text;
    if (ev.direction) {
      text = ev.kind + " → " + ev.peer + ": " + ev.detail + " (" + ev.outcome + ")";
    } else if (CLIENT[ev.kind]) {
      text = ev.kind + " " + ev.key + " → " + ev.outcome;
    } else if (ev.kind === "liveness") {
      text = ev.peer + " is " + ev.detail;
    } else {
      text = ev.outcome !== undefined ? ev.outcome : (ev.detail || "");
    }
    var log = $("log");
    var li = el("li", { "data-kind": ev.kind });
    li.appendChild(el("span", { "class": "muted" }, new Date().toLocaleTimeString() + " "));
    var who = el("strong", {}, ev.node + " ");
    who.style.color = colour(ev.node);
    li.appendChild(who);
    li.appendChild(el("span", { "class": "badge" }, ev.kind));
    li.appendChild(document.createTextNode(" " + text));
    log.insertBefore(li, log.firstChild);
    while (log.childNodes.length > 300) { log.removeChild(log.lastChild); }
  }
  function aboutKey(detail, key) {
    return detail === key || detail.indexOf(key + " ") === 0;
  }
  function items(r) {
    var earlier = requestOrder.map(function (id) { return requests[id]; }).filter(function (o) {
      return o.node === r.node && o.key === r.key && o.t < r.t;
    }).map(function (o) { return o.t; });
    var from = Math.max(r.t - WINDOW_MS, earlier.length ? Math.max.apply(null, earlier) + 1 : 0);
    var msgs = (exchanges[r.node] || []).filter(function (m) {
      return REQUEST_MESSAGES[m.kind] && aboutKey(m.detail, r.key) && m.t_ms >= from && m.t_ms <= r.t + LATE_MS;
    });
    var t0 = Math.min.apply(null, msgs.map(function (m) { return m.t_ms; }).concat([r.t]));
    var out = [];
    msgs.forEach(function (m) {
      var at = m.t_ms - t0;
      if (m.outcome === "answered") {
        out.push({ sent_ms: at, from: r.node, to: m.peer, kind: m.kind, detail: m.detail,
          fate: { arrives: { at_ms: at } } });
        var late = m.t_ms > r.t && m.kind !== "repair";
        out.push({ sent_ms: at, from: m.peer, to: r.node, kind: m.kind === "get" ? "reply" : "ack",
          detail: m.kind === "get" ? "versions of " + r.key : "stored",
          fate: late ? { "arrives-unheard": { at_ms: at } } : { arrives: { at_ms: at } } });
      } else {
        out.push({ sent_ms: at, from: r.node, to: m.peer, kind: m.kind, detail: m.detail + " (" + m.outcome + ")",
          fate: /refus|partition/.test(m.outcome) ? "partitioned" : "lost-node-down" });
      }
    });
    out.push({ answer: r.op + " " + r.key + ": " + r.outcome, at_ms: r.t - t0, from: r.node });
    out.sort(function (a, b) {
      var x = a.sent_ms === undefined ? a.at_ms : a.sent_ms, y = b.sent_ms === undefined ? b.at_ms : b.sent_ms;
      return x - y;
    });
    return out;
  }
  function drawRequests() {
    var select = $("requests");
    var keep = chosenRequest;
    clear(select);
    requestOrder.slice().reverse().forEach(function (id) {
      var r = requests[id];
      select.appendChild(el("option", { value: id }, r.node + " " + r.op + " " + r.key + " → " + r.outcome));
    });
    var shown = keep && requests[keep] ? keep : requestOrder[requestOrder.length - 1];
    if (!shown) { return; }
    select.value = shown;
    var figure = clear($("diagram"));
    figure.setAttribute("data-request", shown);
    window.MiniDynamoSequence.draw(figure, items(requests[shown]));
  }
  var drawPending = false;
  function scheduleDraw() {
    if (drawPending) { return; }
    drawPending = true;
    setTimeout(function () { drawPending = false; drawRequests(); }, 200);
  }
  function onEvent(ev) {
    if (ev.direction) {
      if (ev.direction !== "sent") { return; }
      var list = exchanges[ev.node] = exchanges[ev.node] || [];
      list.push(ev);
      if (list.length > 500) { list.shift(); }
      if (REQUEST_MESSAGES[ev.kind]) { scheduleDraw(); }
      if (LOGGED[ev.kind] || ($("show-gossip").checked && ev.kind === "sync")) { logLine(ev); }
      return;
    }
    if (CLIENT[ev.kind] && ev.key !== undefined) {
      var id = ev.node + "#" + (++requestSeq);
      requests[id] = { node: ev.node, op: ev.kind, key: ev.key, outcome: ev.outcome, t: ev.t_ms };
      requestOrder.push(id);
      if (requestOrder.length > 50) { delete requests[requestOrder.shift()]; }
      scheduleDraw();
      setTimeout(scheduleDraw, LATE_MS + 300); // the late replies
    }
    logLine(ev);
  }
  function listen() {
    var source = new EventSource("/dash/api/events");
    source.onmessage = function (m) {
      try { onEvent(JSON.parse(m.data)); } catch (e) { /* not an event of ours */ }
    };
  }

  // ---- wiring ----
  $("key-form").addEventListener("submit", function (e) {
    e.preventDefault();
    showKey($("key-input").value);
  });
  $("c-get").addEventListener("click", function () { consoleRequest("GET"); });
  $("c-put").addEventListener("click", function () { consoleRequest("PUT"); });
  $("c-delete").addEventListener("click", function () { consoleRequest("DELETE"); });
  $("partition").addEventListener("click", function () {
    var groups = $("p-groups").value.trim().split(/\s+/).filter(Boolean).map(function (g) {
      return g.split(",").filter(Boolean);
    });
    admin({ action: "partition", groups: groups });
  });
  $("heal").addEventListener("click", function () { admin({ action: "heal" }); });
  $("requests").addEventListener("change", function () { chosenRequest = $("requests").value; drawRequests(); });
  refresh();
  listen();
  setInterval(function () { refresh().then(function () { if (currentKey) { return showKey(currentKey); } }); }, 1000);
})();
