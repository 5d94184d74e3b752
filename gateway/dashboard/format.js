/* Formatting shared by the panels: event times in New York time (the exchange's
 * clock, whatever the viewer's time zone) and numbers with fixed decimals. */
"use strict";
(function (R) {
  const TZ = "America/New_York";
  const dateTime = new Intl.DateTimeFormat("en-US", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const withSeconds = new Intl.DateTimeFormat("en-US", {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });

  function parts(micros) {
    const out = {};
    for (const p of dateTime.formatToParts(new Date(micros / 1000))) out[p.type] = p.value;
    return out;
  }

  /** "2026-01-08" (the New York date of an event time in microseconds). */
  function date(micros) {
    const p = parts(micros);
    return `${p.year}-${p.month}-${p.day}`;
  }

  /** "2026-01-08 14:45" on intraday bars, "2026-01-08" on daily ones. */
  function eventTime(micros, barSeconds) {
    if (!Number.isFinite(micros)) return "–";
    const p = parts(micros);
    const day = `${p.year}-${p.month}-${p.day}`;
    return barSeconds >= 86400 ? day : `${day} ${p.hour}:${p.minute}`;
  }

  /** "01-08 14:45": compact, for dense rows and axes. */
  function shortTime(micros, barSeconds) {
    if (!Number.isFinite(micros)) return "–";
    const p = parts(micros);
    return barSeconds >= 86400 ? `${p.year}-${p.month}-${p.day}` : `${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }

  function clock(millis) {
    return withSeconds.format(new Date(millis));
  }

  function num(value, digits = 2) {
    return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
  }

  function signed(value, digits = 2, suffix = "") {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    const text = value.toFixed(digits);
    return (value > 0 ? "+" : "") + text + suffix;
  }

  function int(value) {
    return typeof value === "number" && Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
  }

  function duration(seconds) {
    if (!Number.isFinite(seconds)) return "–";
    const a = Math.abs(seconds);
    if (a < 90) return `${seconds.toFixed(1)} s`;
    if (a < 5400) return `${(seconds / 60).toFixed(1)} min`;
    if (a < 172800) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }

  /** A figure of a record for the details panel: numbers to 4 significant decimals. */
  function figure(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      const a = Math.abs(value);
      return a >= 1000 ? value.toFixed(1) : a >= 1 ? value.toFixed(3) : value.toPrecision(4);
    }
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return `${value.length} items`;
    return String(value);
  }

  R.format = { TZ, date, eventTime, shortTime, clock, num, signed, int, duration, figure };
})(window.Rotation = window.Rotation || {});
