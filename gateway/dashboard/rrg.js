/* Relative Rotation Graphs, drawn as SVG by hand.
 *
 * The method is Julius de Kempenaer's (RRG Research), as StockCharts describes it
 * ("Relative Rotation Graphs (RRG Charts)", ChartSchool): JdK RS-Ratio across, a
 * normalised relative strength centred on 100; JdK RS-Momentum up, the rate of change
 * of RS-Ratio, also centred on 100. The 100/100 crossing splits four quadrants that a
 * security typically visits clockwise: Leading (top right, green), Weakening (bottom
 * right, yellow), Lagging (bottom left, red), Improving (top left, blue). Each point
 * trails a tail of its recent positions; the worker computes every figure
 * (agents.analytics.rrg), the page only draws PairStats.rrg.
 *
 * Which pairs go on which graph, from the data alone (the page cannot read the
 * worker's configuration):
 *   #rrg-sectors: origin "configured", denominator the benchmark (the denominator of
 *     the group_vs_benchmark pairs, "SPY" until one is seen), numerator not a group
 *     name (groups are known from group metrics and group_vs_benchmark numerators):
 *     the sector and industry ETFs against the benchmark (XLK/SPY, KRE/SPY, SMH/SPY ...).
 *     RSP/SPY (equal weight against cap weight) is an ETF against the benchmark too
 *     and lands here by the same rule.
 *   #rrg-pairs: every other configured pair (IWM/QQQ, small_caps/mega_cap_tech ...)
 *     and the group_vs_benchmark pairs.
 *   symbol_vs_benchmark pairs are drawn on neither. */
"use strict";
(function (R) {
  const NS = "http://www.w3.org/2000/svg";
  const QUADRANTS = [
    // name, label, x side (+1 right), y side (+1 up)
    ["leading", "Leading", 1, 1],
    ["weakening", "Weakening", 1, -1],
    ["lagging", "Lagging", -1, -1],
    ["improving", "Improving", -1, 1],
  ];
  const MIN_HALF_SPAN = 0.5; // the smallest distance from 100 each axis shows
  const PAD = { left: 34, right: 10, top: 8, bottom: 20 };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceStep(span) {
    const raw = span / 2;
    const power = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  /** Split the pairs of `state` into the two graphs' items (see the rule above). */
  function graphItems(state) {
    const benchmark = state.benchmark();
    const groupNames = new Set(state.groups.keys());
    for (const v of state.pairs.values()) {
      if (v.latest.pair.origin === "group_vs_benchmark") groupNames.add(v.latest.pair.numerator);
    }
    const pairs = [];
    const sectors = [];
    for (const view of state.sortedPairs()) {
      const p = view.latest.pair;
      if (!p.rrg || p.origin === "symbol_vs_benchmark") continue;
      const isSector = p.origin === "configured" && p.denominator === benchmark && !groupNames.has(p.numerator);
      const item = {
        subject: view.latest.subject,
        label: p.origin === "configured" && !isSector ? view.name : p.numerator,
        rrg: p.rrg,
      };
      (isSector ? sectors : pairs).push(item);
    }
    return { pairs, sectors };
  }

  class RRG {
    constructor(container) {
      this.container = container;
      this.svg = el("svg", { class: "rrg-svg", role: "group" }, container);
      this.layers = {};
      for (const name of ["quadrants", "grid", "tails", "points", "labels"]) {
        this.layers[name] = el("g", { class: `rrg-${name}` }, this.svg);
      }
      this.nodes = new Map(); // subject -> {tail, point, label}
      this.items = [];
      this.width = 0;
      this.height = 0;
      this.order = "";
      new ResizeObserver(() => this.measure()).observe(container);
      this.measure();
    }

    measure() {
      const w = Math.round(this.container.clientWidth);
      const h = Math.round(this.container.clientHeight);
      if (w === this.width && h === this.height) return;
      this.width = w;
      this.height = h;
      this.svg.setAttribute("viewBox", `0 0 ${Math.max(w, 1)} ${Math.max(h, 1)}`);
      this.draw(this.items);
    }

    /** items: [{subject, label, rrg: {rs_ratio, rs_momentum, quadrant, provisional, tail}}] */
    draw(items) {
      this.items = items;
      const w = this.width;
      const h = this.height;
      if (w < 40 || h < 40) return;
      let hx = MIN_HALF_SPAN;
      let hy = MIN_HALF_SPAN;
      for (const { rrg } of items) {
        hx = Math.max(hx, Math.abs(rrg.rs_ratio - 100));
        hy = Math.max(hy, Math.abs(rrg.rs_momentum - 100));
        for (const [x, y] of rrg.tail || []) {
          hx = Math.max(hx, Math.abs(x - 100));
          hy = Math.max(hy, Math.abs(y - 100));
        }
      }
      hx *= 1.12;
      hy *= 1.12;
      const iw = w - PAD.left - PAD.right;
      const ih = h - PAD.top - PAD.bottom;
      const sx = (x) => PAD.left + ((x - (100 - hx)) / (2 * hx)) * iw;
      const sy = (y) => PAD.top + (1 - (y - (100 - hy)) / (2 * hy)) * ih;
      this.drawFrame(sx, sy, hx, hy);

      const seen = new Set();
      const positions = [];
      for (const item of items) {
        seen.add(item.subject);
        let node = this.nodes.get(item.subject);
        if (node === undefined) {
          node = {
            tail: el("polyline", { class: "rrg-tail", "data-subject": item.subject }, this.layers.tails),
            point: el("circle", { class: "rrg-point", "data-subject": item.subject, tabindex: "0", r: "5" }, this.layers.points),
            label: el("text", { class: "rrg-label" }, this.layers.labels),
          };
          this.nodes.set(item.subject, node);
        }
        const { rrg } = item;
        const cx = sx(rrg.rs_ratio);
        const cy = sy(rrg.rs_momentum);
        const tail = (rrg.tail || []).map(([x, y]) => [sx(x), sy(y)]);
        const last = tail[tail.length - 1];
        if (!last || Math.abs(last[0] - cx) > 0.01 || Math.abs(last[1] - cy) > 0.01) tail.push([cx, cy]);
        node.tail.setAttribute("points", tail.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
        const quadrant = QUADRANTS.some((q) => q[0] === rrg.quadrant) ? rrg.quadrant : "unknown";
        node.tail.setAttribute("data-quadrant", quadrant);
        node.point.setAttribute("cx", cx.toFixed(1));
        node.point.setAttribute("cy", cy.toFixed(1));
        node.point.setAttribute("data-quadrant", quadrant);
        node.point.classList.toggle("provisional", rrg.provisional === true);
        node.point.setAttribute("aria-label", `${item.label}: ${quadrant}${rrg.provisional ? " (provisional)" : ""}, RS-Ratio ${rrg.rs_ratio.toFixed(2)}, RS-Momentum ${rrg.rs_momentum.toFixed(2)}`);
        node.label.setAttribute("data-quadrant", quadrant);
        node.label.textContent = item.label;
        positions.push([item.subject, cx, cy, node.label, item.label]);
      }
      for (const [subject, node] of this.nodes) {
        if (seen.has(subject)) continue;
        node.tail.remove();
        node.point.remove();
        node.label.remove();
        this.nodes.delete(subject);
      }
      this.placeLabels(positions, w, h);
      this.arrange(positions);
      if (items.length && !R.rrgMarked) {
        R.rrgMarked = true;
        performance.mark("rotation:first-rrg-point");
      }
    }

    /** Each label beside its point where it overlaps no other label or point (the
     * first free of ten places, in the graph's order); a label with no free place is
     * hidden (its point still shows every figure on hover or focus). */
    placeLabels(positions, w, h) {
      const CHAR = 6.1;
      const boxes = positions.map(([, x, y]) => [x - 5, y - 5, x + 5, y + 5]);
      const clear = (b) => b[0] >= 0 && b[2] <= w && b[1] >= 0 && b[3] <= h &&
        !boxes.some((o) => b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]);
      for (const [, x, y, label, text] of positions) {
        const tw = text.length * CHAR + 2;
        const places = [
          [x + 7, y - 4, "start", [x + 6, y - 13, x + 7 + tw, y - 2]],
          [x + 7, y + 12, "start", [x + 6, y + 3, x + 7 + tw, y + 14]],
          [x - 7, y - 4, "end", [x - 7 - tw, y - 13, x - 6, y - 2]],
          [x - 7, y + 12, "end", [x - 7 - tw, y + 3, x - 6, y + 14]],
          [x, y - 8, "middle", [x - tw / 2, y - 17, x + tw / 2, y - 6]],
          [x, y + 17, "middle", [x - tw / 2, y + 7, x + tw / 2, y + 18]],
          [x + 7, y - 16, "start", [x + 6, y - 25, x + 7 + tw, y - 14]],
          [x - 7, y - 16, "end", [x - 7 - tw, y - 25, x - 6, y - 14]],
          [x + 7, y + 24, "start", [x + 6, y + 15, x + 7 + tw, y + 26]],
          [x - 7, y + 24, "end", [x - 7 - tw, y + 15, x - 6, y + 26]],
        ];
        const place = places.find((p) => clear(p[3]));
        label.classList.toggle("crowded", place === undefined);
        if (place === undefined) continue;
        label.setAttribute("x", place[0].toFixed(1));
        label.setAttribute("y", place[1].toFixed(1));
        label.setAttribute("text-anchor", place[2]);
        boxes.push(place[3]);
      }
    }

    /** SVG paints in document order: the most isolated point goes first in the layer
     * and every other after it, so that the first point is never hidden by another. */
    arrange(positions) {
      if (positions.length < 2) return;
      let best = null;
      let bestGap = -1;
      for (const [s, x, y] of positions) {
        let gap = Infinity;
        for (const [t, u, v] of positions) if (t !== s) gap = Math.min(gap, Math.hypot(x - u, y - v));
        if (gap > bestGap) { bestGap = gap; best = s; }
      }
      const layer = this.layers.points;
      const first = this.nodes.get(best).point;
      if (layer.firstChild !== first && bestGap > 14) layer.insertBefore(first, layer.firstChild);
    }

    drawFrame(sx, sy, hx, hy) {
      const q = this.layers.quadrants;
      const g = this.layers.grid;
      q.replaceChildren();
      g.replaceChildren();
      const x0 = sx(100 - hx), x1 = sx(100 + hx), xm = sx(100);
      const y0 = sy(100 + hy), y1 = sy(100 - hy), ym = sy(100);
      for (const [name, label, xs, ys] of QUADRANTS) {
        const left = xs > 0 ? xm : x0;
        const top = ys > 0 ? y0 : ym;
        el("rect", { class: `rrg-quadrant q-${name}`, x: left, y: top, width: (xs > 0 ? x1 - xm : xm - x0), height: (ys > 0 ? ym - y0 : y1 - ym) }, q);
        const t = el("text", {
          class: `rrg-quadrant-label q-${name}`,
          x: xs > 0 ? x1 - 6 : x0 + 6,
          y: ys > 0 ? y0 + 14 : y1 - 6,
          "text-anchor": xs > 0 ? "end" : "start",
        }, q);
        t.textContent = label;
      }
      const stepX = niceStep(hx);
      const stepY = niceStep(hy);
      for (let k = -Math.floor(hx / stepX); k <= Math.floor(hx / stepX); k++) {
        const x = sx(100 + k * stepX);
        el("line", { class: k === 0 ? "rrg-axis" : "rrg-gridline", x1: x, x2: x, y1: y0, y2: y1 }, g);
        const t = el("text", { class: "rrg-tick", x, y: y1 + 13, "text-anchor": "middle" }, g);
        t.textContent = (100 + k * stepX).toFixed(stepX < 1 ? (stepX < 0.1 ? 2 : 1) : 0);
      }
      for (let k = -Math.floor(hy / stepY); k <= Math.floor(hy / stepY); k++) {
        const y = sy(100 + k * stepY);
        el("line", { class: k === 0 ? "rrg-axis" : "rrg-gridline", x1: x0, x2: x1, y1: y, y2: y }, g);
        const t = el("text", { class: "rrg-tick", x: x0 - 4, y: y + 3, "text-anchor": "end" }, g);
        t.textContent = (100 + k * stepY).toFixed(stepY < 1 ? (stepY < 0.1 ? 2 : 1) : 0);
      }
      const ax = el("text", { class: "rrg-axis-title", x: x1 - 4, y: ym - 4, "text-anchor": "end" }, g);
      ax.textContent = "RS-Ratio →";
      const ay = el("text", { class: "rrg-axis-title", x: xm + 4, y: y0 + 26 }, g);
      ay.textContent = "↑ RS-Momentum";
    }
  }

  R.rrg = { RRG, graphItems, QUADRANTS };
})(window.Rotation = window.Rotation || {});
