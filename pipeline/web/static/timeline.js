/* newswatch timeline: events per topic per day (or week, or month) as stacked SVG bars.
 *
 * Drawn from the rows of GET /api/stats ({day, topic, events}). Every node is made with
 * createElementNS and every text is set with textContent: nothing here parses markup.
 * Exposes window.NewswatchTimeline.draw(container, rows, options).
 */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 86400000;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const HEIGHT = 230;
  const MARGIN = { top: 14, right: 12, bottom: 30, left: 38 };

  function svg(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  const html = window.NewswatchDom.el;

  /** Milliseconds at UTC midnight of "YYYY-MM-DD", or null. */
  function parseDay(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || ""));
    return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
  }

  function isoDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function shortDay(ms) {
    const d = new Date(ms);
    return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate();
  }

  function longDay(ms) {
    return shortDay(ms) + ", " + new Date(ms).getUTCFullYear();
  }

  /** Day bins up to four months, weeks (from Monday) up to two years, months beyond. */
  function binning(first, last) {
    const span = (last - first) / DAY + 1;
    if (span <= 120) {
      return { unit: "day", start: (t) => t, next: (t) => t + DAY };
    }
    if (span <= 730) {
      return {
        unit: "week",
        start: (t) => t - ((new Date(t).getUTCDay() + 6) % 7) * DAY,
        next: (t) => t + 7 * DAY,
      };
    }
    return {
      unit: "month",
      start: (t) => {
        const d = new Date(t);
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      },
      next: (t) => {
        const d = new Date(t);
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      },
    };
  }

  function makeBins(rows, topics) {
    const days = rows.map((r) => parseDay(r.day)).filter((t) => t !== null);
    if (!days.length) return null;
    const first = Math.min(...days);
    const last = Math.max(...days);
    const bin = binning(first, last);
    const bins = [];
    const index = new Map();
    for (let t = bin.start(first); t <= last; t = bin.next(t)) {
      const counts = {};
      for (const [name] of topics) counts[name] = 0;
      index.set(t, bins.length);
      bins.push({ start: t, end: bin.next(t) - DAY, counts: counts, total: 0 });
    }
    const totals = {};
    for (const [name] of topics) totals[name] = 0;
    for (const row of rows) {
      const t = parseDay(row.day);
      const events = Number(row.events) || 0;
      if (t === null || !(row.topic in totals)) continue;
      const b = bins[index.get(bin.start(t))];
      b.counts[row.topic] += events;
      b.total += events;
      totals[row.topic] += events;
    }
    return { bins: bins, unit: bin.unit, first: first, last: last, totals: totals };
  }

  /** Ticks 0, step, 2·step… with step 1, 2 or 5 × 10^k: four or five gridlines. */
  function yTicks(max) {
    const raw = Math.max(1, max) / 4;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
    const top = Math.max(step, Math.ceil(max / step) * step);
    const ticks = [];
    for (let v = 0; v <= top + 1e-9; v += step) ticks.push(v);
    return ticks;
  }

  function monthLabel(ms, withYear) {
    const d = new Date(ms);
    return MONTHS[d.getUTCMonth()] + (withYear ? " " + d.getUTCFullYear() : "");
  }

  /** The x-axis labels: days at a readable spacing, or month boundaries. */
  function xTicks(data, band) {
    const bins = data.bins;
    const ticks = [];
    if (data.unit === "day") {
      const step = [1, 2, 7, 14].find((s) => s * band >= 58);
      if (step) {
        bins.forEach((b, i) => {
          const weekday = new Date(b.start).getUTCDay();
          const keep = step < 7 ? i % step === 0 : weekday === 1 && Math.round((b.start - bins[0].start) / (7 * DAY)) % (step / 7) === 0;
          if (keep) ticks.push({ i: i, centre: true, text: shortDay(b.start) });
        });
        return ticks;
      }
    }
    // Month boundaries (the bin holding the 1st of a month), thinned to stay readable, and
    // the first, partial month at the left edge when there is room for its name.
    const starts = [];
    bins.forEach((b, i) => {
      const s = new Date(b.start);
      const e = new Date(b.end);
      if (s.getUTCDate() === 1) {
        starts.push({ i: i, month: b.start });
      } else if (s.getUTCMonth() !== e.getUTCMonth()) {
        starts.push({ i: i, month: Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), 1) });
      }
    });
    const daysPerBin = { day: 1, week: 7, month: 30.4 }[data.unit];
    const monthPx = (30.4 / daysPerBin) * band;
    const every = [1, 2, 3, 6, 12].find((m) => m * monthPx >= 52) || 12;
    if (!starts.length || starts[0].i * band >= 64) {
      ticks.push({ i: 0, centre: false, text: monthLabel(bins[0].start, true) });
    }
    for (const start of starts) {
      const month = new Date(start.month).getUTCMonth();
      if (month % every !== 0) continue;
      ticks.push({ i: start.i, centre: false, text: monthLabel(start.month, month === 0 || !ticks.length) });
    }
    return ticks;
  }

  function tooltipFor(container) {
    let tip = container.querySelector(".tooltip");
    if (!tip) {
      tip = html("div", "tooltip", null, container);
      tip.hidden = true;
    }
    return tip;
  }

  function binTitle(data, b) {
    if (data.unit === "day") return longDay(b.start);
    if (data.unit === "week") return "Week of " + longDay(b.start);
    return monthLabel(b.start, true);
  }

  /**
   * Draw into ``container``. options: topics [[name, label]…], topic (selected or ""),
   * since/until ("YYYY-MM-DD" or ""), onPick({since, until}) when a bar is clicked.
   * Returns {unit, totals, first, last} or null when there is nothing to draw.
   */
  function draw(container, rows, options) {
    const topics = options.topics;
    const data = makeBins(rows || [], topics);
    container.replaceChildren();
    const width = Math.max(320, Math.floor(container.clientWidth || 800));
    const root = svg("svg", {
      viewBox: "0 0 " + width + " " + HEIGHT,
      width: width,
      height: HEIGHT,
      role: "img",
      class: "timeline-svg",
    });
    container.appendChild(root);
    if (!data) {
      svg("text", { x: width / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "empty" }, root).textContent =
        "No tracked events yet: the timeline fills in as collect runs find them.";
      root.setAttribute("aria-label", "No tracked events yet");
      return null;
    }
    root.setAttribute(
      "aria-label",
      "Events per " + data.unit + " by topic, " + longDay(data.first) + " to " + longDay(data.last)
    );
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const n = data.bins.length;
    const band = plotW / n;
    const barW = band >= 4 ? Math.max(1, Math.min(band * 0.74, 36)) : band;
    const max = Math.max(...data.bins.map((b) => b.total));
    const ticks = yTicks(max);
    const top = ticks[ticks.length - 1];
    const y = (v) => MARGIN.top + plotH - (v / top) * plotH;
    const x = (i) => MARGIN.left + i * band;

    const grid = svg("g", { class: "grid" }, root);
    const axis = svg("g", { class: "axis" }, root);
    for (const v of ticks) {
      svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v), class: v === 0 ? "baseline" : "" }, grid);
      svg("text", { x: MARGIN.left - 8, y: y(v) + 4, "text-anchor": "end" }, axis).textContent = String(v);
    }
    for (const tick of xTicks(data, band)) {
      const at = tick.centre ? x(tick.i) + band / 2 : x(tick.i);
      // A label running past the right edge is left out (about 6.5 px per character).
      const reach = tick.centre ? (tick.text.length * 6.5) / 2 : 3 + tick.text.length * 6.5;
      if (at + reach > width) continue;
      svg("line", { x1: at, x2: at, y1: y(0), y2: y(0) + 5, class: "tick" }, axis);
      svg("text", { x: at, y: HEIGHT - 10, "text-anchor": tick.centre ? "middle" : "start", dx: tick.centre ? 0 : 3 }, axis).textContent = tick.text;
    }

    // The selected dates, shaded behind the bars.
    const since = parseDay(options.since);
    const until = parseDay(options.until);
    if (since !== null || until !== null) {
      let from = 0;
      let to = n - 1;
      while (from < n && since !== null && data.bins[from].end < since) from += 1;
      while (to >= 0 && until !== null && data.bins[to].start > until) to -= 1;
      if (from <= to) {
        svg("rect", { x: x(from), y: MARGIN.top - 4, width: (to - from + 1) * band, height: plotH + 4, class: "selection" }, root);
      }
    }

    const bars = svg("g", { class: "bars" }, root);
    const hits = svg("g", { class: "hits" }, root);
    const tip = tooltipFor(container);
    data.bins.forEach((b, i) => {
      let base = 0;
      const left = x(i) + (band - barW) / 2;
      for (const [name] of topics) {
        const count = b.counts[name];
        if (!count) continue;
        const classes = "bar t-" + name + (options.topic && options.topic !== name ? " dim" : "");
        const h = y(base) - y(base + count);
        svg("rect", { x: left, y: y(base + count), width: barW, height: Math.max(0.5, h - (h > 3 ? 1 : 0)), class: classes, "data-day": isoDay(b.start), "data-topic": name }, bars);
        base += count;
      }
      const hit = svg("rect", { x: x(i), y: MARGIN.top, width: band, height: plotH, class: "hit" }, hits);
      hit.addEventListener("mouseenter", () => {
        tip.replaceChildren();
        html("strong", null, binTitle(data, b), tip);
        for (const [name, label] of topics) {
          const row = html("div", "row", null, tip);
          html("span", "swatch t-" + name, null, row);
          html("span", null, label, row);
          html("span", "n", b.counts[name], row);
        }
        if (!b.total) html("div", "muted", "no events", tip);
        tip.hidden = false;
        const box = tip.getBoundingClientRect();
        const scale = container.clientWidth / width;
        let left = (x(i) + band / 2) * scale - box.width / 2;
        left = Math.max(0, Math.min(left, container.clientWidth - box.width));
        tip.style.left = left + "px";
        tip.style.top = Math.max(0, y(b.total) * scale - box.height - 10) + "px";
      });
      hit.addEventListener("mouseleave", () => {
        tip.hidden = true;
      });
      hit.addEventListener("click", () => {
        if (options.onPick) options.onPick({ since: isoDay(b.start), until: isoDay(b.end) });
      });
    });
    container.appendChild(tip);
    return { unit: data.unit, totals: data.totals, first: data.first, last: data.last };
  }

  window.NewswatchTimeline = { draw: draw, longDay: longDay };
})();
