// A small line chart drawn by hand on a canvas: series of (x, y) points, axes with a few ticks.
"use strict";

// Size the canvas's pixels to the screen's (devicePixelRatio), so lines and text stay sharp on a
// high-density display; drawing then happens in CSS pixels. The width and height attributes in the
// page give the chart's shape.
function fitToScreen(canvas) {
  if (!canvas.dataset.shape) canvas.dataset.shape = `${canvas.width}x${canvas.height}`;
  const [shapeW, shapeH] = canvas.dataset.shape.split("x").map(Number);
  const w = canvas.clientWidth || shapeW, h = (w * shapeH) / shapeW;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, w, h };
}

function drawChart(canvas, series, options = {}) {
  const { ctx, w, h } = fitToScreen(canvas);
  const pad = { l: 46, r: 10, t: 10, b: 24 };
  ctx.clearRect(0, 0, w, h);
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) return;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1e-9);
  let y0 = options.yMin ?? Math.min(...ys), y1 = options.yMax ?? Math.max(...ys);
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const px = (x) => pad.l + ((x - x0) / (x1 - x0)) * (w - pad.l - pad.r);
  const py = (y) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  ctx.strokeStyle = "#dde1e8"; ctx.fillStyle = "#5b6270"; ctx.font = "11px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.beginPath(); ctx.moveTo(pad.l, py(y)); ctx.lineTo(w - pad.r, py(y)); ctx.stroke();
    ctx.fillText(y.toFixed(options.digits ?? 3), 4, py(y) + 4);
  }
  ctx.fillText(options.xLabel ?? "", w - pad.r - 60, h - 6);
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach((p, i) => (i ? ctx.lineTo(px(p[0]), py(p[1])) : ctx.moveTo(px(p[0]), py(p[1]))));
    ctx.stroke();
    if (s.dots) for (const p of s.points) { ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), 3, 0, 7); ctx.fill(); }
  }
  canvas.dataset.points = String(points.length);
}
