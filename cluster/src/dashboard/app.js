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
  var chosenRequest = "";   // the request the user picked; "" follows the newest

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
    // Where a request for the key goes now: a line to each target's first token clockwise from
    // the key, dashed for a fallback standing in for a primary, and a cross on an unreachable
    // primary's token.
    var key = Number(info.position);
    function firstToken(node) {
      var mine = overview.tokens.filter(function (t) { return t.node === node; })
        .map(function (t) { return Number(t.position); }).sort(function (a, b) { return a - b; });
      var after = mine.filter(function (p) { return p >= key; });
      return after.length ? after[0] : mine[0];
    }
    var route = svg("g", { id: "key-route-ring" });
    info.targets.forEach(function (t, i) {
      var p = firstToken(t.node);
      if (p === undefined) { return; }
      var b = angle(p), r = 150 - 14 * i;
      var cls = t.unreachable ? "route unreachable" : t["for"] ? "route fallback" : "route primary";
      var g = svg("g", { "class": cls, "data-node": t.node, "data-for": t["for"] || "" });
      g.appendChild(svg("line", { x1: 170 * Math.cos(a), y1: 170 * Math.sin(a), x2: 170 * Math.cos(b), y2: 170 * Math.sin(b),
        stroke: t.unreachable ? "#c62828" : colour(t.node), "stroke-width": 2.5,
        "stroke-dasharray": t["for"] ? "6 4" : t.unreachable ? "2 3" : "" }));
      g.appendChild(svg("text", { x: r * Math.cos(b), y: r * Math.sin(b), "text-anchor": "middle", "font-size": 11,
        fill: t.unreachable ? "#c62828" : colour(t.node), "font-weight": "bold" },
        t.unreachable ? t.node + " ✕" : t["for"] ? t.node + " for " + t["for"] : t.node));
      if (t["for"]) {
        var q = angle(firstToken(t["for"]));
        g.appendChild(svg("text", { x: 196 * Math.cos(q), y: 196 * Math.sin(q) + 4, "text-anchor": "middle",
          "font-size": 12, fill: "#c62828", "class": "stood-in" }, "✕ " + t["for"]));
      }
      route.appendChild(g);
    });
    ring.appendChild(route);
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
        body.appendChild(el("div", { "class": "keys" }, d.keys + (d.keys === 1 ? " key" : " keys") +
          (d.tombstones ? " (" + d.tombstones + (d.tombstones === 1 ? " tombstone" : " tombstones") + ")" : "") +
          (d.keys ? ": " + d.key_list.join(", ") : "")));
        var hints = {};
        d.hints.forEach(function (h) { (hints[h["for"]] = hints[h["for"]] || []).push(h.key); });
        var hintText = Object.keys(hints).map(function (t) {
          return "for " + t + ": " + hints[t].length + " (" + hints[t].join(", ") + ")";
        }).join("; ");
        body.appendChild(el("div", { "class": "hints" }, "hints waiting: " + (hintText || "none")));
        var view = d.members.filter(function (m) { return m.name !== n.name; })
          .map(function (m) { return m.name + ":" + m.state; }).join(" ");
        body.appendChild(el("div", { "class": "gossip" }, "sees: " + view));
        // The node's own record of its last anti-entropy exchange with each peer.
        var syncs = Object.keys(d.syncs).map(function (p) {
          var s = d.syncs[p];
          var ago = (Math.max(0, d.t_ms - s.at_ms) / 1000).toFixed(1);
          return p + " " + s.outcome + " " + ago + "s ago";
        }).join("; ");
        body.appendChild(el("div", { "class": "syncs muted" }, d.reports_ranges ?
          "last sync: " + (syncs || "none yet") : "this node reports no Merkle ranges"));
      } else {
        body.appendChild(el("div", { "class": "muted" }, "not answering"));
      }
    });
    // The roots each replica reports for each range it replicates (its stage-5 tree).
    var ranges = clear($("ranges"));
    if (!overview.ranges.length) {
      ranges.appendChild(el("p", { "class": "muted" }, "no node reports Merkle ranges"));
      return;
    }
    var differ = overview.ranges.filter(function (r) { return !r.equal; }).length;
    ranges.appendChild(el("p", { id: "ranges-summary", "class": differ ? "disagree" : "agree" },
      overview.ranges.length + " ranges: " + (differ ? differ + " with differing roots" : "every replica's root equal")));
    var table = el("table", { id: "ranges-table" });
    var hr = el("tr");
    ["range (start … end)", "replicas: keys · root", "roots", "last sync (as each replica reports it)"].forEach(function (h) {
      hr.appendChild(el("th", {}, h));
    });
    table.appendChild(hr);
    function short(p) { return String(p).slice(-6); }
    function holds(r) { return Object.keys(r.keys).some(function (x) { return r.keys[x] > 0; }); }
    // Ranges no answering replica holds a key in (equal, empty roots) are summed up in a line.
    function quietRange(r) { return r.equal && !holds(r); }
    var quiet = overview.ranges.filter(quietRange);
    overview.ranges.filter(function (r) { return !quietRange(r); }).forEach(function (r) {
      var tr = el("tr", { "data-range": r.end, "data-start": r.start, "data-equal": r.equal ? "yes" : "no" });
      tr.appendChild(el("td", {}, "…" + short(r.start) + " … …" + short(r.end)));
      var rootsCell = el("td", { "class": "clock" });
      r.replicas.forEach(function (x) {
        var root = r.roots[x];
        var span = el("span", { "class": "root", "data-node": x, "data-root": root === null ? "" : root },
          x + ": " + (root === null ? "?" : (r.keys[x] + " · " + String(root).slice(0, 8))) + "  ");
        rootsCell.appendChild(span);
      });
      tr.appendChild(rootsCell);
      tr.appendChild(el("td", { "class": r.equal ? "agree" : "disagree" },
        (r.equal ? "equal" : "differ") + (r.complete ? "" : " (not all replicas answer)")));
      var now = Date.now();
      var synced = r.replicas.map(function (x) {
        var mine = r.synced[x] || {};
        return Object.keys(mine).map(function (p) {
          return x + "↔" + p + " " + mine[p].outcome + " " + (Math.max(0, now - mine[p].at_ms) / 1000).toFixed(0) + "s";
        }).join(", ");
      }).filter(Boolean).join("; ");
      tr.appendChild(el("td", { "class": "muted small" }, synced || "none yet"));
      table.appendChild(tr);
    });
    if (table.childNodes.length > 1) { ranges.appendChild(table); }
    if (quiet.length) {
      var silent = quiet.filter(function (r) { return !r.complete; }).length;
      ranges.appendChild(el("p", { "class": "muted small" }, quiet.length + " more ranges hold no keys on any " +
        "replica that answers, all with the same (empty) root" +
        (silent ? "; " + silent + " of them have a replica not answering" : "") + "."));
    }
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
      var request = r.headers.get("X-Dynamo-Request");
      return r.text().then(function (text) {
        $("c-out").textContent = sent + "\n\n→ HTTP " + r.status + "\n" + text +
          (ctx ? "\ncontext carried back: " + ctx : "") + (request ? "\nrequest id: " + request : "");
        if (request) { setTimeout(function () { chooseRequest(request); }, LATE_MS); }
        if (ctx && method !== "DELETE") { $("c-context").value = ctx; }
        if (method === "DELETE" && r.ok) { $("c-context").value = ""; }
        $("key-input").value = key;
        showKey(key);
      });
    }).catch(function (e) { $("c-out").textContent = sent + "\n\n→ " + e.message; });
  }

  // ---- events and diagrams ----
  // Every client request has an id (`A#12`, also in the X-Dynamo-Request answer header) that
  // every message it causes carries. The nodes keep their records of recent requests; the
  // serving node joins them (`/dash/api/request/{id}`) into the diagram's items, each message at
  // the times its sender and receiver recorded. The live stream only tells the page that there
  // is something new: client requests, messages, liveness changes, partition and heal.
  var CLIENT = { put: true, get: true, "delete": true };
  var LOGGED = { hint: true, handoff: true, repair: true, transfer: true };
  var LATE_MS = 1500;   // a request's late answers are in by then
  function logLine(ev) {
    var text;
    if (ev.direction) {
      text = (ev.direction === "sent" ? ev.kind + " → " + ev.peer : ev.kind + " ← " + ev.peer) +
        ": " + ev.detail + " (" + ev.outcome + ")";
    } else if (CLIENT[ev.kind]) {
      text = ev.kind + " " + ev.key + " → " + ev.outcome;
    } else if (ev.kind === "liveness") {
      text = ev.peer + " is " + ev.detail;
    } else {
      text = ev.outcome !== undefined ? ev.outcome : (ev.detail || "");
    }
    var log = $("log");
    var li = el("li", { "data-kind": ev.kind, "data-request": ev.request || "" });
    li.appendChild(el("span", { "class": "muted" }, new Date(ev.t_ms || Date.now()).toLocaleTimeString() + " "));
    var who = el("strong", {}, ev.node + " ");
    who.style.color = colour(ev.node);
    li.appendChild(who);
    li.appendChild(el("span", { "class": "badge" }, ev.kind));
    li.appendChild(document.createTextNode(" " + text));
    if (ev.request) {
      var link = el("a", { href: "#diagram-panel", "class": "request-link" }, " [" + ev.request + "]");
      link.addEventListener("click", function () { chooseRequest(ev.request); });
      li.appendChild(link);
    }
    log.insertBefore(li, log.firstChild);
    while (log.childNodes.length > 300) { log.removeChild(log.lastChild); }
  }
  var listed = [];
  function listRequests() {
    return fetch("/dash/api/requests").then(function (r) { return r.json(); }).then(function (list) {
      listed = list;
      var select = clear($("requests"));
      list.forEach(function (r) {
        select.appendChild(el("option", { value: r.request },
          r.request + " · " + r.kind + " " + r.key + " → " + r.outcome));
      });
      var shown = chosenRequest || (list[0] && list[0].request) || "";
      if (shown) { select.value = shown; }
      return shown;
    });
  }
  function drawRequest(id) {
    if (!id) { return Promise.resolve(); }
    return fetch("/dash/api/request/" + encodeURIComponent(id)).then(function (r) { return r.json(); })
      .then(function (d) {
        var figure = $("diagram");
        figure.setAttribute("data-request", id);
        figure.setAttribute("data-items", d.items.length);
        var caption = figure.querySelector("figcaption") || figure.appendChild(el("figcaption"));
        caption.textContent = "request " + id + (d.client ? " · " + d.client.kind + " " + d.client.key +
          " via " + d.client.node + " → " + d.client.outcome : " · no client record (yet)");
        window.MiniDynamoSequence.draw(figure, d.items);
      }).catch(function (e) { status("diagram of " + id + ": " + e.message, true); });
  }
  function chooseRequest(id) {
    chosenRequest = id;
    return listRequests().then(function () { $("requests").value = id; return drawRequest(id); });
  }
  var listPending = false;
  function scheduleList() {
    if (listPending) { return; }
    listPending = true;
    // After the late answers of the newest request are in.
    setTimeout(function () {
      listPending = false;
      listRequests().then(drawRequest);
    }, LATE_MS);
  }
  function onEvent(ev) {
    if (ev.direction) {
      if (LOGGED[ev.kind] || ($("show-gossip").checked && ev.kind === "sync")) { logLine(ev); }
      return;
    }
    if (CLIENT[ev.kind] && ev.request) { scheduleList(); }
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
  $("requests").addEventListener("change", function () { chooseRequest($("requests").value); });
  $("follow").addEventListener("click", function () { chosenRequest = ""; listRequests().then(drawRequest); });
  refresh();
  listen();
  listRequests().then(drawRequest);
  setInterval(function () { refresh().then(function () { if (currentKey) { return showKey(currentKey); } }); }, 1000);
})();
