// A small line chart drawn by hand on a canvas: series of (x, y) points, axes with a few ticks.
// Size the canvas's pixels to the screen's (devicePixelRatio), so lines and text stay sharp on a
// high-density display; drawing then happens in CSS pixels. The width and height attributes in the
// page give the chart's shape; ``minHeight`` keeps a wide chart readable on a narrow screen.
function fitToScreen(canvas, minHeight = 0) {
  if (!canvas.dataset.shape) canvas.dataset.shape = `${canvas.width}x${canvas.height}`;
  const [shapeW, shapeH] = canvas.dataset.shape.split("x").map(Number);
  const w = canvas.clientWidth || shapeW, h = Math.max(minHeight, (w * shapeH) / shapeW);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, w, h };
}

export function drawChart(canvas, series, options = {}) {
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

// Accuracy per digit as pairs of bars, a's and b's, 0 to 100%, with b - a in points above each pair
// (red where b is worse). perDigit: [{digit, a, b, difference}] as GET /versions/compare gives them.
export function drawDigitBars(canvas, perDigit, colors) {
  const { ctx, w, h } = fitToScreen(canvas, 200);
  const pad = { l: 40, r: 6, t: 22, b: 22 };
  ctx.clearRect(0, 0, w, h);
  const slot = (w - pad.l - pad.r) / perDigit.length, bar = Math.min(28, slot * 0.36);
  const py = (v) => h - pad.b - v * (h - pad.t - pad.b);
  ctx.font = "11px system-ui, sans-serif"; ctx.strokeStyle = "#dde1e8"; ctx.fillStyle = "#5b6270";
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    ctx.beginPath(); ctx.moveTo(pad.l, py(v)); ctx.lineTo(w - pad.r, py(v)); ctx.stroke();
    ctx.fillText(`${v * 100}%`, 2, py(v) + 4);
  }
  ctx.textAlign = "center";
  perDigit.forEach((d, i) => {
    const mid = pad.l + slot * (i + 0.5);
    [[d.a, colors.a, -bar], [d.b, colors.b, 0]].forEach(([v, color, dx]) => {
      if (v == null) return;
      ctx.fillStyle = color; ctx.fillRect(mid + dx, py(v), bar, py(0) - py(v));
    });
    ctx.fillStyle = "#16181d"; ctx.font = "bold 13px system-ui, sans-serif";
    ctx.fillText(String(d.digit), mid, h - 5);
    if (d.difference != null && Math.abs(d.difference) >= 0.0005) {
      ctx.font = `${slot < 40 ? 10 : 12}px system-ui, sans-serif`;
      ctx.fillStyle = d.difference < 0 ? "#b91c1c" : "#15803d";
      ctx.fillText(`${d.difference > 0 ? "+" : ""}${(d.difference * 100).toFixed(1)}`, mid, pad.t - 8);
    }
  });
  ctx.textAlign = "start";
  canvas.dataset.digits = String(perDigit.length); canvas.dataset.drawnWidth = String(Math.round(w));
}

// A confusion matrix as a heat map with its counts: rows are the digit it is, columns what was read.
// Each cell's colour is its share of its row (green on the diagonal, red off it), so a digit with few
// examples shows its confusions as plainly as a common one.
export function drawConfusion(canvas, confusion) {
  const { ctx, w, h } = fitToScreen(canvas);
  const pad = { l: 34, t: 30 }, n = confusion.length;
  const cell = Math.min((w - pad.l - 2) / n, (h - pad.t - 2) / n);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5b6270"; ctx.textAlign = "center";
  ctx.fillText("read →", pad.l + (cell * n) / 2, 10);
  ctx.save(); ctx.translate(9, pad.t + (cell * n) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText("it is →", 0, 0); ctx.restore();
  const size = Math.max(8, Math.min(13, cell * 0.32));
  confusion.forEach((row, i) => {
    const total = row.reduce((s, c) => s + c, 0) || 1;
    ctx.fillStyle = "#16181d"; ctx.font = `bold ${size}px system-ui, sans-serif`;
    ctx.fillText(String(i), pad.l - 10, pad.t + cell * (i + 0.5) + size / 3);
    if (i === 0) row.forEach((_, j) => ctx.fillText(String(j), pad.l + cell * (j + 0.5), pad.t - 6));
    row.forEach((count, j) => {
      const share = count / total, x = pad.l + cell * j, y = pad.t + cell * i;
      ctx.fillStyle = i === j ? `rgba(22, 163, 74, ${share})` : `rgba(220, 38, 38, ${Math.min(1, share * 3)})`;
      ctx.fillRect(x, y, cell - 1, cell - 1);
      if (count) {
        ctx.fillStyle = (i === j ? share : share * 3) > 0.55 ? "#fff" : "#16181d";
        ctx.font = `${size}px system-ui, sans-serif`;
        ctx.fillText(String(count), x + cell / 2, y + cell / 2 + size / 3);
      }
    });
  });
  ctx.textAlign = "start";
  canvas.dataset.cells = String(n * n);
}
