// Number mode: a wide drawing pad (pad.js) for a whole number, read by POST /predict/number. Each
// digit found is boxed on the pad with the digit read above it; the number is shown in large type.
import { dataUrl, requestJson } from "./http.js";
import { DrawingPad, LatestRequest } from "./pad.js";

const EXPORT_WIDTH = 350;     // the PNG sent: the 700x280 pad at half size, as the digit pad is sent
const THROTTLE_MS = 150;      // while drawing, at most one request per this interval
// what /predict/number takes with the image (app/web/schemas/number.py); past it the image goes alone
const MAX_STROKES = 64, MAX_POINTS = 2000;

const section = document.getElementById("number-mode");
const overlay = document.getElementById("number-boxes");
const valueEl = document.getElementById("number-value");
const runnerUpEl = document.getElementById("number-runner-up");
const statusEl = document.getElementById("number-status");
const undoButton = document.getElementById("number-undo");
const clearButton = document.getElementById("number-clear");

export const pad = new DrawingPad(document.getElementById("number-canvas"),
                                  { width: 700, height: 280, onChange: changed });
overlay.width = pad.canvas.width;
overlay.height = pad.canvas.height;
const boxes = overlay.getContext("2d");
boxes.scale(pad.scale, pad.scale);

undoButton.addEventListener("click", () => pad.undo());
clearButton.addEventListener("click", () => pad.clear());

function changed() {
  undoButton.disabled = clearButton.disabled = pad.strokes.length === 0;
  schedule();
}

// --- requests: throttled, one in flight, the latest drawing always wins (pad.js) ---
const requests = new LatestRequest(send, {
  throttleMs: THROTTLE_MS,
  onState: (busy) => { section.dataset.state = busy ? "busy" : "idle"; },
});

function schedule() { requests.schedule(); }

async function send() {
  if (pad.strokes.length === 0) return show({ number: "", digits: [] }, EXPORT_WIDTH);
  try {
    const image = await dataUrl(await pad.exportPng(EXPORT_WIDTH));
    const strokes = pad.strokeList();
    const fits = strokes.length <= MAX_STROKES && strokes.flat().length <= MAX_POINTS;
    // the strokes tell the server which ink is whose: digits that touch stay apart
    const answer = await requestJson("/predict/number", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fits ? { image, strokes } : { image }),
    });
    if (pad.strokes.length > 0 && !requests.dirty) show(answer, EXPORT_WIDTH);
    statusEl.textContent = "";
  } catch (error) {
    statusEl.textContent = `Could not read the drawing: ${error.message}`;
  }
}

// Boxes come in the sent image's pixels: scaled back to the pad's logical 700x280.
function show(answer, sentWidth) {
  const k = pad.width / sentWidth;
  boxes.clearRect(0, 0, pad.width, pad.height);
  boxes.lineWidth = 2;
  boxes.strokeStyle = boxes.fillStyle = "#2f6fed";
  boxes.font = "bold 22px system-ui, sans-serif";
  boxes.textBaseline = "bottom";
  for (const d of answer.digits) {
    const [x0, y0, x1, y1] = d.box.map((v) => v * k);
    boxes.strokeRect(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6);
    const above = y0 - 6 >= 22;
    boxes.textBaseline = above ? "bottom" : "top";
    boxes.fillText(String(d.digit), x0, above ? y0 - 5 : y1 + 5);
  }
  overlay.dataset.count = String(answer.digits.length);
  valueEl.textContent = answer.number || "–";
  valueEl.title = answer.number ? `${Math.round(answer.confidence * 100)}% sure` : "";
  // a close second reading is named, so that the writer can see what else it could be
  runnerUpEl.hidden = !answer.runner_up;
  runnerUpEl.textContent = answer.runner_up
    ? `or ${answer.runner_up}? (${Math.round(answer.confidence * 100)}% against ` +
      `${Math.round(answer.runner_up_confidence * 100)}%)`
    : "";
  if (answer.model_version) document.getElementById("model-version").textContent = answer.model_version;
  valueEl.dataset.value = answer.number;
}

changed();
