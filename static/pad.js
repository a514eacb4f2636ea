// A drawing pad: strokes drawn with a mouse, a finger or a pen on a canvas, kept in logical
// coordinates (0..width, 0..height whatever the size on screen), with undo, clear and PNG export.
// The single-digit canvas and any other drawing area of the page are DrawingPads.

export class DrawingPad {
  constructor(canvas, { width = 280, height = 280, scale = 2, lineWidth = 18, onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.scale = scale;            // backing store pixels per logical pixel (sharp on high-DPI screens)
    this.lineWidth = lineWidth;    // pen width in logical pixels
    this.onChange = onChange;      // called after every change of the strokes
    this.strokes = [];             // each stroke is a list of {x, y} in logical coordinates
    this.current = null;           // the stroke being drawn
    this.activePointer = null;
    this.ctx = canvas.getContext("2d");
    canvas.width = width * scale;
    canvas.height = height * scale;
    this.ctx.scale(scale, scale);
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", (event) => this.up(event));
    canvas.addEventListener("pointercancel", (event) => this.up(event));
    // Older mobile browsers scroll on touch despite touch-action: stop them while on the canvas.
    canvas.addEventListener("touchmove", (event) => event.preventDefault(), { passive: false });
    this.redraw();
  }

  get drawing() { return this.activePointer !== null; }

  toLogical(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * this.width,
      y: ((event.clientY - rect.top) / rect.height) * this.height,
    };
  }

  down(event) {
    if (this.activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    this.activePointer = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    this.current = [this.toLogical(event)];
    this.strokes.push(this.current);
    this.redraw();
  }

  move(event) {
    if (event.pointerId !== this.activePointer) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) this.current.push(this.toLogical(e));
    this.redraw();
    this.onChange();
  }

  up(event) {
    if (event.pointerId !== this.activePointer) return;
    this.activePointer = null;
    this.current = null;
    this.redraw();
    this.onChange();
  }

  undo() {
    if (this.drawing || this.strokes.length === 0) return;
    this.strokes.pop();
    this.redraw();
    this.onChange();
  }

  clear() {
    if (this.drawing) return;
    this.strokes.length = 0;
    this.redraw();
    this.onChange();
  }

  setPen(target) {
    target.lineCap = "round";
    target.lineJoin = "round";
    target.lineWidth = this.lineWidth;
    target.strokeStyle = "#111";
    target.fillStyle = "#111";
  }

  // A stroke is drawn as quadratic curves through the midpoints of its points: smooth, no corners.
  drawStroke(target, points) {
    this.setPen(target);
    if (points.length === 1) {
      target.beginPath();
      target.arc(points[0].x, points[0].y, this.lineWidth / 2, 0, 2 * Math.PI);
      target.fill();
      return;
    }
    target.beginPath();
    target.moveTo(points[0].x, points[0].y);
    for (let i = 1; i < points.length - 1; i++) {
      const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
      target.quadraticCurveTo(points[i].x, points[i].y, mid.x, mid.y);
    }
    const last = points[points.length - 1];
    target.lineTo(last.x, last.y);
    target.stroke();
  }

  redraw() {
    const ctx = this.ctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.restore();
    for (const s of this.strokes) this.drawStroke(ctx, s);
    if (this.current) this.drawStroke(ctx, this.current);
  }

  // The drawing as a PNG of exportWidth pixels (the height keeps the pad's shape), as the page sends it.
  exportPng(exportWidth) {
    const out = document.createElement("canvas");
    out.width = exportWidth;
    out.height = Math.round((exportWidth * this.height) / this.width);
    const octx = out.getContext("2d");
    octx.imageSmoothingQuality = "high";
    octx.drawImage(this.canvas, 0, 0, out.width, out.height);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }

  // The strokes as [[[x, y], ...], ...] in logical coordinates, rounded to 0.1 pixel.
  strokeList() {
    return this.strokes.map((s) => s.map((p) => [Math.round(p.x * 10) / 10, Math.round(p.y * 10) / 10]));
  }
}

// Reading a drawing while it is drawn: requests start at least `throttleMs` apart and never overlap,
// and the newest drawing is always the last one sent. `send` makes one request (it reads the
// drawing as it is then); `onState(busy)` hears whether a drawing still waits for its answer.
export class LatestRequest {
  constructor(send, { throttleMs = 150, onState = () => {} } = {}) {
    this.send = send;
    this.throttleMs = throttleMs;
    this.onState = onState;
    this.timer = null;
    this.inFlight = false;
    this.dirty = false;        // the drawing changed since the last request was sent
    this.lastSent = -Infinity;
  }

  get busy() { return this.inFlight || this.dirty || this.timer !== null; }

  // The drawing changed: send it when allowed (a pending timer or the answer in flight will).
  schedule() {
    this.dirty = true;
    this.onState(true);
    if (this.timer !== null || this.inFlight) return;
    const wait = Math.max(0, this.lastSent + this.throttleMs - performance.now());
    this.timer = setTimeout(() => { this.timer = null; this.run(); }, wait);
  }

  async run() {
    if (this.inFlight || !this.dirty) return this.onState(this.busy);
    this.dirty = false;
    this.inFlight = true;
    this.lastSent = performance.now();
    try {
      await this.send();
    } finally {
      this.inFlight = false;
      if (this.dirty) this.schedule();
      this.onState(this.busy);
    }
  }
}

// The keys of a drawing page, one handler for all its pads: Ctrl+Z (Cmd+Z on a Mac) undoes the last
// stroke, Esc or Delete clears. `activePad()` names the pad they act on now (the one on screen).
export function bindPadKeys(activePad) {
  document.addEventListener("keydown", (event) => {
    const pad = activePad();
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      pad.undo();
    } else if (event.key === "Escape" || event.key === "Delete") {
      pad.clear();
    }
  });
}
