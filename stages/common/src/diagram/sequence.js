// Mini-Dynamo message sequence diagrams (see dynamo_common::diagram for the input format).
//
// Plain JavaScript, no dependencies, no network. Draws every figure.sequence element that holds
// a JSON script element with a list of items; window.MiniDynamoSequence.draw(figure, items)
// draws one on demand. Text is only ever set with textContent, so whatever a message carries is
// shown as text, never read as markup.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var COLUMN = 170;   // px between lifelines
  var ROW = 30;       // px per item
  var GUTTER = 70;    // px for the send times on the left
  var HEAD = 44;      // px for the node names on top
  var LABEL_MAX = 72; // characters of a label drawn; the full text is the row's tooltip
  var unnamed = 0;    // figures given an id by this script, for their markers' ids
  var LOST = { "lost-node-down": "node down", "dropped": "dropped", "partitioned": "partitioned" };

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    for (var key in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, key)) {
        node.setAttribute(key, String(attrs[key]));
      }
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function isAnswer(item) {
    return item && typeof item === "object" && "answer" in item;
  }

  // "arrives" | "arrives-unheard" | "lost-node-down" | "dropped" | "partitioned", and the
  // arrival time when there is one.
  function fateOf(message) {
    var fate = message.fate;
    if (typeof fate === "string") {
      return { kind: fate, at: null };
    }
    if (fate && typeof fate === "object") {
      var kind = Object.keys(fate)[0];
      var body = fate[kind] || {};
      return { kind: kind, at: typeof body.at_ms === "number" ? body.at_ms : null };
    }
    return { kind: "unknown", at: null };
  }

  // Lifelines: the client (when it is answered), the coordinator(s), then the nodes by name.
  function lifelines(items) {
    var seen = {};
    var names = [];
    var client = false;
    items.forEach(function (item) {
      if (isAnswer(item)) {
        client = true;
        [String(item.from)].forEach(add);
      } else {
        [String(item.from), String(item.to)].forEach(add);
      }
    });
    function add(name) {
      if (!Object.prototype.hasOwnProperty.call(seen, name)) {
        seen[name] = true;
        names.push(name);
      }
    }
    // Whoever answers the client stands next to it: a stage-7 coordinator is a node like any.
    var answering = [];
    items.forEach(function (item) {
      if (isAnswer(item) && answering.indexOf(String(item.from)) < 0) {
        answering.push(String(item.from));
      }
    });
    var coordinators = names.filter(function (n) {
      return /^coordinator/.test(n) && answering.indexOf(n) < 0;
    }).sort();
    var nodes = names.filter(function (n) {
      return !/^coordinator/.test(n) && n !== "client" && answering.indexOf(n) < 0;
    }).sort();
    return (client || seen.client ? ["client"] : []).concat(answering, coordinators, nodes);
  }

  function shorten(text) {
    return text.length > LABEL_MAX ? text.slice(0, LABEL_MAX - 1) + "\u2026" : text;
  }

  function draw(figure, items) {
    if (!Array.isArray(items)) {
      throw new Error("a sequence diagram needs a list of items");
    }
    var names = lifelines(items);
    var x = {};
    names.forEach(function (name, i) { x[name] = GUTTER + COLUMN / 2 + i * COLUMN; });
    var messages = items.filter(function (item) { return !isAnswer(item); }).length;
    var width = GUTTER + names.length * COLUMN + COLUMN; // room for labels running right
    var height = HEAD + (items.length + 1) * ROW;
    var svg = el("svg", {
      "class": "sequence-diagram",
      "xmlns": SVG,
      "width": width,
      "height": height,
      "viewBox": "0 0 " + width + " " + height,
      "role": "img",
      "data-lifelines": names.length,
      "data-messages": messages
    });
    svg.appendChild(el("title", {}, names.length + " nodes, " + messages + " messages"));
    var defs = el("defs", {});
    ["arrives", "unheard", "answer"].forEach(function (name) {
      var marker = el("marker", {
        "viewBox": "0 0 10 10", "refX": 9, "refY": 5,
        "markerWidth": 7, "markerHeight": 7, "orient": "auto-start-reverse"
      });
      marker.setAttribute("id", markerId(figure, name));
      marker.appendChild(el("path", { "d": "M 0 0 L 10 5 L 0 10 z", "class": "head " + name }));
      defs.appendChild(marker);
    });
    svg.appendChild(defs);

    names.forEach(function (name) {
      var g = el("g", { "class": "lifeline" + (name === "client" ? " client" : ""), "data-node": name });
      g.appendChild(el("line", { "x1": x[name], "y1": HEAD - 8, "x2": x[name], "y2": height - 4 }));
      g.appendChild(el("rect", { "x": x[name] - COLUMN / 2 + 12, "y": 4, "width": COLUMN - 24, "height": HEAD - 16, "rx": 4 }));
      g.appendChild(el("text", { "x": x[name], "y": HEAD / 2 + 1, "text-anchor": "middle" }, shorten(name)));
      svg.appendChild(g);
    });

    // A message sent before its request's answer (strictly: repairs leave at the answer's time)
    // but arriving after it came too late to count.
    // Its request's answer is the answer with the same request id, or the only answer of a list
    // without ids.
    var answers = items.filter(isAnswer);
    var answeredAt = {};
    answers.forEach(function (a) { answeredAt[String(a.request || "")] = a.at_ms; });
    function answerOf(m) {
      if (m.request) {
        return Object.prototype.hasOwnProperty.call(answeredAt, m.request) ? answeredAt[m.request] : null;
      }
      return answers.length === 1 ? answers[0].at_ms : null;
    }
    items.forEach(function (item, row) {
      var y = HEAD + (row + 1) * ROW;
      svg.appendChild(isAnswer(item) ? answerRow(figure, item, x, y) : messageRow(figure, item, x, y, answerOf(item)));
    });
    var old = figure.querySelector("svg.sequence-diagram");
    if (old) {
      old.parentNode.removeChild(old);
    }
    figure.appendChild(svg);
    return svg;
  }

  function markerId(figure, name) {
    if (!figure.id) {
      unnamed += 1;
      figure.id = "sequence-" + unnamed;
    }
    return figure.id + "-" + name;
  }

  function messageRow(figure, m, x, y, answeredAt) {
    var fate = fateOf(m);
    var from = x[String(m.from)];
    var to = x[String(m.to)];
    var lost = Object.prototype.hasOwnProperty.call(LOST, fate.kind);
    var late = !lost && answeredAt !== null && fate.at !== null && m.sent_ms < answeredAt &&
      fate.at > answeredAt;
    var state = lost ? "lost" : fate.kind === "arrives-unheard" || late ? "unheard" : "arrives";
    var g = el("g", {
      "class": "msg " + state + (late ? " late" : "") + " kind-" + String(m.kind),
      "data-fate": fate.kind,
      "data-from": String(m.from),
      "data-to": String(m.to),
      "data-kind": String(m.kind),
      "data-sent": m.sent_ms,
      "data-at": fate.at === null ? "" : fate.at,
      "data-late": late ? "after-answer" : "",
      "data-request": m.request ? String(m.request) : ""
    });
    var label = String(m.kind) + " " + String(m.detail);
    var note;
    if (lost) {
      note = "lost: " + LOST[fate.kind];
    } else if (fate.kind === "arrives-unheard") {
      note = "arrives " + fate.at + " ms, nobody waiting";
    } else if (late) {
      note = "arrives " + fate.at + " ms, after the answer";
    } else {
      note = "arrives " + fate.at + " ms";
    }
    g.appendChild(el("title", {}, m.sent_ms + " ms  " + m.from + " \u2192 " + m.to + "  " + label + "  (" + note + ")"));
    g.appendChild(el("text", { "class": "time", "x": GUTTER - 10, "y": y + 4, "text-anchor": "end" }, m.sent_ms + " ms"));
    if (from === to) {
      // A node writing to itself: a small loop.
      g.appendChild(el("path", {
        "class": "arrow",
        "d": "M " + from + " " + (y - 6) + " h 24 v 12 h -22",
        "fill": "none",
        "marker-end": lost ? "" : "url(#" + markerId(figure, state) + ")"
      }));
    } else {
      var end = lost ? from + (to - from) * 0.55 : to - Math.sign(to - from) * 2;
      var line = el("line", { "class": "arrow", "x1": from, "y1": y, "x2": end, "y2": y });
      if (!lost) {
        line.setAttribute("marker-end", "url(#" + markerId(figure, state) + ")");
      }
      g.appendChild(line);
      if (lost) {
        g.appendChild(el("path", { "class": "cross", "d": "M " + (end - 5) + " " + (y - 5) + " l 10 10 m 0 -10 l -10 10" }));
      }
    }
    var left = Math.min(from, to);
    g.appendChild(el("text", { "class": "label", "x": left + 8, "y": y - 5 }, shorten(label + "  \u00b7 " + note)));
    return g;
  }

  function answerRow(figure, a, x, y) {
    var from = x[String(a.from)];
    var to = x.client;
    var g = el("g", { "class": "answer", "data-from": String(a.from), "data-at": a.at_ms });
    var label = "answer " + String(a.answer);
    g.appendChild(el("title", {}, a.at_ms + " ms  " + a.from + " \u2192 client  " + label));
    g.appendChild(el("text", { "class": "time", "x": GUTTER - 10, "y": y + 4, "text-anchor": "end" }, a.at_ms + " ms"));
    g.appendChild(el("line", {
      "class": "arrow", "x1": from, "y1": y, "x2": to + 2, "y2": y,
      "marker-end": "url(#" + markerId(figure, "answer") + ")"
    }));
    g.appendChild(el("circle", { "cx": to, "cy": y, "r": 5 }));
    g.appendChild(el("text", { "class": "label", "x": Math.min(from, to) + 10, "y": y - 5 }, shorten(label)));
    return g;
  }

  function drawAll(root) {
    var figures = (root || document).querySelectorAll("figure.sequence");
    Array.prototype.forEach.call(figures, function (figure) {
      var data = figure.querySelector('script[type="application/json"]');
      if (!data) {
        return;
      }
      try {
        draw(figure, JSON.parse(data.textContent));
      } catch (e) {
        var p = document.createElement("p");
        p.className = "sequence-error";
        p.textContent = "cannot draw this diagram: " + e.message;
        figure.appendChild(p);
      }
    });
  }

  window.MiniDynamoSequence = { draw: draw, drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  } else {
    drawAll(document);
  }
})();
