// The digit pad: a drawing pad (pad.js), read live by POST /predict (or by the route explain.js
// chooses). It tells the page's other modules on the document: "digitnet:answer" (detail: the
// answer, the PNG sent and the strokes in the pad's 0..280 coordinates) and "digitnet:cleared".
import { requestJson } from "./http.js";
import { DrawingPad, LatestRequest } from "./pad.js";

const EXPORT_SIZE = 140;      // the PNG sent is this many pixels square: a quarter of the decoding of 280
const THROTTLE_MS = 150;      // while drawing, at most one prediction request per this interval

const preview = document.getElementById("preview");
const previewCtx = preview.getContext("2d");
const predictionEl = document.getElementById("prediction");
const confidenceEl = document.getElementById("confidence");
const statusEl = document.getElementById("status");
const versionEl = document.getElementById("model-version");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");

let endpoint = "/predict";

// Read the drawings with another route that answers as /predict does (more fields are fine).
export function setEndpoint(path) { endpoint = path; }

export const pad = new DrawingPad(document.getElementById("canvas"), { onChange: changed });
const strokes = pad.strokes;

function updateButtons() {
  undoButton.disabled = strokes.length === 0;
  clearButton.disabled = strokes.length === 0;
}

function changed() {
  updateButtons();
  schedulePrediction();
}

undoButton.addEventListener("click", () => pad.undo());
clearButton.addEventListener("click", () => pad.clear());

// --- predictions: throttled, one request in flight, the latest drawing always wins (pad.js) ---
// body[data-state] is "busy" while a drawing waits for its answer, "idle" once the page shows it.
const requests = new LatestRequest(sendPrediction, {
  throttleMs: THROTTLE_MS,
  onState: (busy) => { document.body.dataset.state = busy ? "busy" : "idle"; },
});

function schedulePrediction() { requests.schedule(); }

async function sendPrediction() {
  if (strokes.length === 0) return showEmpty();
  try {
    const body = await pad.exportPng(EXPORT_SIZE);
    const sentStrokes = pad.strokeList();
    const answer = await requestJson(endpoint, { method: "POST", headers: { "Content-Type": "image/png" }, body });
    if (strokes.length > 0) {
      showAnswer(answer);
      document.dispatchEvent(new CustomEvent("digitnet:answer",
                                             { detail: { answer, png: body, strokes: sentStrokes } }));
    }
    statusEl.textContent = "";
  } catch (error) {
    statusEl.textContent = `Could not read the drawing: ${error.message}`;
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
  predictionEl.classList.toggle("not-a-digit", answer.looks_like_a_digit === false);
  drawPreview(answer.input);
  if (answer.digit === null) {
    predictionEl.textContent = "–";
    confidenceEl.textContent = "no digit yet";
    setBars(new Array(10).fill(0));
    return;
  }
  const sure = `${Math.round(answer.probabilities[answer.digit] * 100)}%`;
  // the network always names its closest digit; looks_like_a_digit says whether it is like any
  const unlike = answer.looks_like_a_digit === false;
  predictionEl.textContent = unlike ? "?" : String(answer.digit);
  confidenceEl.textContent = unlike ? `that does not look like a digit (closest: ${answer.digit}, ${sure})`
    : `${sure} sure`;
  setBars(answer.probabilities);
}

function showEmpty() {
  predictionEl.textContent = "–";
  predictionEl.classList.remove("not-a-digit");
  confidenceEl.textContent = "draw a digit";
  setBars(new Array(10).fill(0));
  previewImage = null;
  previewCtx.clearRect(0, 0, 28, 28);
  document.dispatchEvent(new CustomEvent("digitnet:cleared"));
}

updateButtons();
requests.onState(false);
