// The drawing page: pointer strokes on a canvas, live predictions from POST /predict.
"use strict";

const LOGICAL = 280;          // drawing coordinates run 0..280 on both axes, whatever the screen size
const SCALE = 2;              // backing store resolution per logical pixel (sharp on high-DPI screens)
const LINE_WIDTH = 18;        // pen width in logical pixels
const EXPORT_SIZE = 140;      // the PNG sent is this many pixels square: a quarter of the decoding of 280
const THROTTLE_MS = 150;      // while drawing, at most one prediction request per this interval

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const preview = document.getElementById("preview");
const previewCtx = preview.getContext("2d");
const predictionEl = document.getElementById("prediction");
const confidenceEl = document.getElementById("confidence");
const statusEl = document.getElementById("status");
const versionEl = document.getElementById("model-version");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");

const strokes = [];           // each stroke is a list of {x, y} in logical coordinates
let current = null;           // the stroke being drawn
let activePointer = null;

canvas.width = LOGICAL * SCALE;
canvas.height = LOGICAL * SCALE;
ctx.scale(SCALE, SCALE);

function setPen(target) {
  target.lineCap = "round";
  target.lineJoin = "round";
  target.lineWidth = LINE_WIDTH;
  target.strokeStyle = "#111";
  target.fillStyle = "#111";
}

function paintBackground(target, size) {
  target.save();
  target.setTransform(1, 0, 0, 1, 0, 0);
  target.fillStyle = "#fff";
  target.fillRect(0, 0, size, size);
  target.restore();
}

// A stroke is drawn as quadratic curves through the midpoints of its points: smooth, no corners.
function drawStroke(target, points) {
  setPen(target);
  if (points.length === 1) {
    target.beginPath();
    target.arc(points[0].x, points[0].y, LINE_WIDTH / 2, 0, 2 * Math.PI);
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

function redraw() {
  paintBackground(ctx, canvas.width);
  for (const s of strokes) drawStroke(ctx, s);
  if (current) drawStroke(ctx, current);
  undoButton.disabled = strokes.length === 0;
  clearButton.disabled = strokes.length === 0;
}

function toLogical(event) {
  const rect = canvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) / rect.width) * LOGICAL,
    y: ((event.clientY - rect.top) / rect.height) * LOGICAL,
  };
}

canvas.addEventListener("pointerdown", (event) => {
  if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  activePointer = event.pointerId;
  canvas.setPointerCapture(event.pointerId);
  current = [toLogical(event)];
  strokes.push(current);
  redraw();
});

canvas.addEventListener("pointermove", (event) => {
  if (event.pointerId !== activePointer) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) current.push(toLogical(e));
  redraw();
  schedulePrediction();
});

function endStroke(event) {
  if (event.pointerId !== activePointer) return;
  activePointer = null;
  current = null;
  redraw();
  schedulePrediction();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
// Older mobile browsers scroll on touch despite touch-action: stop them while on the canvas.
canvas.addEventListener("touchmove", (event) => event.preventDefault(), { passive: false });

function undo() {
  if (activePointer !== null || strokes.length === 0) return;
  strokes.pop();
  redraw();
  schedulePrediction();
}

function clearAll() {
  if (activePointer !== null) return;
  strokes.length = 0;
  redraw();
  schedulePrediction();
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clearAll);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape" || event.key === "Delete") {
    clearAll();
  }
});

// --- predictions: throttled, one request in flight, the latest drawing always wins ---
let timer = null;
let inFlight = false;
let dirty = false;
let lastSent = -Infinity;

// body[data-state] is "busy" while a drawing waits for its answer, "idle" once the page shows it.
function setState() {
  document.body.dataset.state = inFlight || dirty || timer !== null ? "busy" : "idle";
}

// Requests start at least THROTTLE_MS apart and never overlap; the newest drawing is always sent last.
function schedulePrediction() {
  dirty = true;
  document.body.dataset.state = "busy";
  if (timer !== null || inFlight) return;  // a pending timer or the answer in flight will send it
  const wait = Math.max(0, lastSent + THROTTLE_MS - performance.now());
  timer = setTimeout(() => { timer = null; sendPrediction(); }, wait);
}

function exportPng() {
  const out = document.createElement("canvas");
  out.width = EXPORT_SIZE;
  out.height = EXPORT_SIZE;
  const octx = out.getContext("2d");
  octx.imageSmoothingQuality = "high";
  octx.drawImage(canvas, 0, 0, EXPORT_SIZE, EXPORT_SIZE);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

async function sendPrediction() {
  if (inFlight || !dirty) return setState();
  dirty = false;
  if (strokes.length === 0) {
    showEmpty();
    return setState();
  }
  inFlight = true;
  lastSent = performance.now();
  try {
    const body = await exportPng();
    const response = await fetch("/predict", {
      method: "POST", headers: { "Content-Type": "image/png" }, body,
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.detail || `HTTP ${response.status}`);
    if (strokes.length > 0) showAnswer(answer);
    statusEl.textContent = "";
  } catch (error) {
    statusEl.textContent = `Could not read the drawing: ${error.message}`;
  } finally {
    inFlight = false;
    if (dirty) schedulePrediction();
    setState();
  }
}

function setBars(probabilities) {
  const top = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, d) => {
    const fill = document.getElementById(`prob-${d}`);
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    fill.dataset.value = p.toFixed(4);
    fill.parentElement.parentElement.classList.toggle("top", d === top && p > 0.1);
    document.getElementById(`prob-text-${d}`).textContent = `${Math.round(p * 100)}%`;
  });
}

let previewImage = null;  // the newest preview: an older one that loads late is not drawn

function drawPreview(inputPng) {
  // the answer's `input` is the 28x28 the network saw, as a PNG data URL
  const image = new Image();
  previewImage = image;
  image.onload = () => {
    if (image === previewImage) previewCtx.drawImage(image, 0, 0);
  };
  image.src = inputPng;
}

function showAnswer(answer) {
  versionEl.textContent = answer.model_version;
  drawPreview(answer.input);
  if (answer.digit === null) {
    predictionEl.textContent = "–";
    confidenceEl.textContent = "no digit yet";
    setBars(new Array(10).fill(0));
    return;
  }
  predictionEl.textContent = String(answer.digit);
  confidenceEl.textContent = `${Math.round(answer.probabilities[answer.digit] * 100)}% sure`;
  setBars(answer.probabilities);
}

function showEmpty() {
  predictionEl.textContent = "–";
  confidenceEl.textContent = "draw a digit";
  setBars(new Array(10).fill(0));
  previewImage = null;
  previewCtx.clearRect(0, 0, 28, 28);
}

redraw();
setState();
