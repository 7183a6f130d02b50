/* newswatch dashboard: filters kept in the URL, the events table from /api/events, the
 * timeline from /api/stats.
 *
 * Titles, names and amounts come from feeds and may carry hostile markup: they are written
 * only with textContent and createElement, never parsed as HTML. Links to events are built
 * from numeric ids.
 */
(function () {
  "use strict";

  const PAGE = 50;
  const FIELDS = ["topic", "entity", "country", "since", "until", "lang"];
  const MAX_NAMES = 8;
  const MAX_AMOUNTS = 3;
  // Amount kinds in the order a row lists them; other kinds follow, "other" comes last.
  const KIND_ORDER = ["investment", "funding", "price"];

  const form = document.getElementById("filters");
  const tbody = document.querySelector("#events tbody");
  const countLine = document.getElementById("count");
  const statusLine = document.getElementById("status");
  const moreButton = document.getElementById("more");
  const timeline = document.getElementById("timeline");
  const topicSelect = form.elements.topic;
  const langSelect = form.elements.lang;
  // The server renders the topic choices; their labels serve the table and the timeline too.
  const topics = Array.from(topicSelect.options)
    .filter((o) => o.value)
    .map((o) => [o.value, o.textContent]);
  const topicLabel = new Map(topics);

  let generation = 0;
  let nextOffset = null;
  let current = {};
  let stats = null;

  // ------------------------------------------------------------------ small builders

  const el = window.NewswatchDom.el;

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many || one + "s");
  }

  function day(iso) {
    return typeof iso === "string" ? iso.slice(0, 10) : "";
  }

  function utc(iso) {
    return typeof iso === "string" ? iso.slice(0, 16).replace("T", " ") + " UTC" : "";
  }

  /** Dollars for people, the same rules as the event page: $52.4B, $5.6M, $1.10, $0.069. */
  function usd(value) {
    if (typeof value !== "number" || !isFinite(value)) return "";
    const sign = value < 0 ? "-" : "";
    const v = Math.abs(value);
    if (v >= 1000) {
      const rounded = Number(v.toPrecision(3));
      for (const [unit, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6], ["K", 1e3]]) {
        if (rounded >= scale) {
          const shown = rounded / scale;
          const text = shown < 1000 ? String(Number(shown.toPrecision(3))) : Math.round(shown).toLocaleString("en-US");
          return sign + "$" + text + unit;
        }
      }
    }
    if (v >= 1) return sign + "$" + v.toFixed(2).replace(/\.00$/, "");
    if (v === 0) return "$0";
    return sign + "$" + v.toFixed(1 - Math.floor(Math.log10(v)));
  }

  /** An amount's dollar value (or USD range) for sorting and showing. */
  function dollars(amount) {
    if (typeof amount.value_usd === "number") return { sort: amount.value_usd, text: usd(amount.value_usd) };
    if (amount.currency === "USD" && typeof amount.low === "number" && typeof amount.high === "number") {
      return { sort: amount.high, text: usd(amount.low) + "–" + usd(amount.high) };
    }
    return null;
  }

  // ------------------------------------------------------------------ filters and the URL

  function fromForm() {
    const wanted = {};
    for (const name of FIELDS) {
      const value = String(form.elements[name].value || "").trim();
      if (value) wanted[name] = value;
    }
    return wanted;
  }

  function fromUrl() {
    const params = new URLSearchParams(window.location.search);
    const wanted = {};
    for (const name of FIELDS) {
      const value = (params.get(name) || "").trim();
      if (value) wanted[name] = value;
    }
    return wanted;
  }

  function toForm(wanted) {
    for (const [name, select] of [["lang", langSelect], ["country", form.elements.country]]) {
      const value = wanted[name] || "";
      if (value && !Array.from(select.options).some((o) => o.value === value)) {
        const option = el("option", null, value, select);
        option.value = value;
      }
    }
    for (const name of FIELDS) form.elements[name].value = wanted[name] || "";
  }

  function query(wanted) {
    const params = new URLSearchParams();
    for (const name of FIELDS) if (wanted[name]) params.set(name, wanted[name]);
    return params;
  }

  /** Filters from the form: into the URL (a view to share or reload), then the data. */
  function apply() {
    const wanted = fromForm();
    const search = query(wanted).toString();
    if (search === query(current).toString()) return; // e.g. "change" after the typing pause
    if (search !== window.location.search.replace(/^\?/, "")) {
      window.history.pushState(null, "", search ? "?" + search : window.location.pathname);
    }
    show(wanted);
  }

  function setFilters(changes) {
    for (const [name, value] of Object.entries(changes)) form.elements[name].value = value;
    apply();
  }

  function show(wanted) {
    current = wanted;
    for (const button of document.querySelectorAll(".legend-item")) {
      button.classList.toggle("active", wanted.topic === button.dataset.topic);
      button.classList.toggle("dim", Boolean(wanted.topic) && wanted.topic !== button.dataset.topic);
    }
    drawTimeline();
    load(wanted, 0);
  }

  // ------------------------------------------------------------------ the table

  function problem(body, status) {
    const detail = body && body.detail;
    if (Array.isArray(detail)) {
      return "Check the filters: " + detail.map((d) => (d.loc || []).slice(-1).join("") + " " + d.msg).join("; ");
    }
    return typeof detail === "string" ? detail : "The server answered " + status;
  }

  async function load(wanted, offset) {
    const mine = offset === 0 ? ++generation : generation;
    const params = query(wanted);
    params.set("limit", String(PAGE));
    params.set("offset", String(offset));
    statusLine.className = "status";
    statusLine.textContent = "Loading…";
    moreButton.disabled = true;
    let response;
    let body = null;
    try {
      response = await fetch("/api/events?" + params.toString(), { headers: { Accept: "application/json" } });
      body = await response.json();
    } catch (error) {
      if (mine === generation) fail("Could not read the events: " + error.message);
      return;
    }
    if (mine !== generation) return; // the filters changed meanwhile: a newer answer is coming
    if (!response.ok) {
      tbody.replaceChildren();
      countLine.textContent = "";
      moreButton.hidden = true;
      fail(problem(body, response.status));
      return;
    }
    if (offset === 0) tbody.replaceChildren();
    for (const event of body.items) tbody.appendChild(row(event));
    if (!body.total) tbody.appendChild(emptyRow(wanted));
    nextOffset = body.next_offset;
    const shown = tbody.querySelectorAll("tr[data-event-id]").length;
    countLine.replaceChildren();
    el("strong", null, plural(body.total, "event"), countLine);
    const filtered = Object.keys(wanted).length > 0;
    countLine.appendChild(document.createTextNode(
      (filtered ? " match the filters" : " tracked") +
      (shown < body.total ? " · showing the latest " + shown : "") +
      " · latest activity first"
    ));
    statusLine.textContent = "";
    moreButton.hidden = nextOffset === null || nextOffset === undefined;
    moreButton.disabled = false;
    if (!moreButton.hidden) moreButton.textContent = "Show " + Math.min(body.limit || PAGE, body.total - shown) + " more";
  }

  function fail(message) {
    statusLine.className = "status error";
    statusLine.textContent = message;
    moreButton.disabled = false;
  }

  function emptyRow(wanted) {
    const tr = el("tr");
    const td = el("td", "empty", Object.keys(wanted).length ? "No events match these filters." : "No tracked events yet.", tr);
    td.colSpan = 7;
    return tr;
  }

  function chipButton(text, className, title, onClick, parent) {
    const button = el("button", "chip " + className, text, parent);
    button.type = "button";
    button.title = title;
    button.addEventListener("click", onClick);
    return button;
  }

  function row(event) {
    const tr = el("tr");
    const topicNames = (event.topics || []).map((t) => String(t.name));
    tr.dataset.eventId = String(event.id);
    tr.dataset.topics = topicNames.join(" ");

    const seen = el("td", "c-seen", null, tr);
    const last = el("time", null, day(event.last_seen), seen);
    last.dateTime = String(event.last_seen || "");
    last.title = "first seen " + utc(event.first_seen) + ", last seen " + utc(event.last_seen);
    if (day(event.first_seen) !== day(event.last_seen)) el("span", "from", "since " + day(event.first_seen), seen);

    const titleCell = el("td", "c-title", null, tr);
    const link = el("a", null, event.title || "Untitled event", titleCell);
    link.href = "/events/" + encodeURIComponent(String(Number(event.id)));
    el("span", "sub", plural(Number(event.articles) || 0, "article"), titleCell);

    const topicCell = el("td", "c-topics", null, tr);
    for (const name of topicNames) {
      const label = topicLabel.get(name) || name;
      chipButton(label, "topic t-" + name, "Show only " + label + " events", () => setFilters({ topic: name }), topicCell);
    }

    const names = el("td", "c-entities", null, tr);
    const rank = { company: 0, model: 1 };
    const entities = (event.entities || []).slice().sort((a, b) => (rank[a.kind] ?? 2) - (rank[b.kind] ?? 2));
    for (const entity of entities.slice(0, MAX_NAMES)) {
      const kind = ["company", "model"].includes(entity.kind) ? entity.kind : "other";
      const name = String(entity.name);
      const where = entity.country ? " (" + String(entity.country) + ")" : "";
      chipButton(name, kind, (entity.kind || "name") + where + " · show only events naming " + name, () => setFilters({ entity: name }), names);
    }
    if (entities.length > MAX_NAMES) {
      const more = el("a", "chip more-names", "+" + (entities.length - MAX_NAMES) + " more", names);
      more.href = link.href;
    }

    const amounts = el("td", "c-amounts", null, tr);
    const headline = headlineByKind(event.amounts || []);
    for (const item of headline.slice(0, MAX_AMOUNTS)) {
      const line = el("span", "amount", null, amounts);
      el("span", "usd", item.money.text, line);
      const what = item.kind === "price" ? "lowest price" : item.kind;
      el("span", "what", what + (item.amount.unit ? " " + item.amount.unit : ""), line);
      line.title = [item.amount.raw, item.amount.modality].filter(Boolean).join(" · ");
    }
    if (headline.length > MAX_AMOUNTS) {
      const more = el("a", "small", "+" + (headline.length - MAX_AMOUNTS) + " more kinds", amounts);
      more.href = link.href;
    }

    el("td", "c-sources", Number(event.sources) || 0, tr);
    const langs = el("td", "c-langs", null, tr);
    for (const lang of event.langs || []) el("span", "chip lang", lang, langs);
    return tr;
  }

  /** The headline dollar amount of each kind, in KIND_ORDER: the lowest price (who cut
   * prices, and how far), the largest of every other kind (how big the pledges were). */
  function headlineByKind(amounts) {
    const best = new Map();
    for (const amount of amounts) {
      const money = dollars(amount);
      if (!money) continue;
      const kind = String(amount.kind || "other");
      const seen = best.get(kind);
      const better = !seen || (kind === "price" ? money.sort < seen.money.sort : money.sort > seen.money.sort);
      if (better) best.set(kind, { kind: kind, amount: amount, money: money });
    }
    const order = (kind) => {
      const at = KIND_ORDER.indexOf(kind);
      return at >= 0 ? at : kind === "other" ? 99 : 50;
    };
    return Array.from(best.values()).sort((a, b) => order(a.kind) - order(b.kind) || b.money.sort - a.money.sort);
  }

  // ------------------------------------------------------------------ the timeline

  async function loadStats() {
    try {
      const response = await fetch("/api/stats", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("the server answered " + response.status);
      stats = await response.json();
    } catch (error) {
      timeline.replaceChildren(el("p", "status error", "Could not read the counts: " + error.message));
      return;
    }
    drawTimeline();
  }

  function drawTimeline() {
    if (!stats || !window.NewswatchTimeline) return;
    const drawn = window.NewswatchTimeline.draw(timeline, stats.per_topic_per_day, {
      topics: topics,
      topic: current.topic || "",
      since: current.since || "",
      until: current.until || "",
      onPick: (range) => {
        const same = current.since === range.since && current.until === range.until;
        setFilters(same ? { since: "", until: "" } : range);
      },
    });
    const range = document.getElementById("timeline-range");
    const unit = document.getElementById("timeline-unit");
    if (!drawn) {
      range.textContent = "";
      return;
    }
    unit.textContent = "per " + drawn.unit;
    const first = window.NewswatchTimeline.longDay(drawn.first);
    const last = window.NewswatchTimeline.longDay(drawn.last);
    range.textContent = first === last ? first : first + " – " + last;
    for (const button of document.querySelectorAll(".legend-item")) {
      const count = button.querySelector(".legend-count");
      if (count) count.textContent = String(drawn.totals[button.dataset.topic] || 0);
    }
  }

  // ------------------------------------------------------------------ wiring

  let typing = null;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    apply();
  });
  form.addEventListener("reset", () => window.setTimeout(apply, 0));
  for (const name of ["topic", "country", "since", "until", "lang"]) form.elements[name].addEventListener("change", apply);
  form.elements.entity.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(apply, 350);
  });
  form.elements.entity.addEventListener("change", () => {
    window.clearTimeout(typing);
    apply();
  });
  for (const button of document.querySelectorAll(".legend-item")) {
    button.addEventListener("click", () => {
      setFilters({ topic: current.topic === button.dataset.topic ? "" : button.dataset.topic });
    });
  }
  moreButton.addEventListener("click", () => {
    if (nextOffset !== null && nextOffset !== undefined) load(current, nextOffset);
  });
  window.addEventListener("popstate", () => {
    const wanted = fromUrl();
    toForm(wanted);
    show(fromForm());
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(drawTimeline, 150);
  });

  toForm(fromUrl());
  show(fromForm());
  loadStats();
})();
