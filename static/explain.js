// "Inside the network": while the panel is open the digit pad asks POST /explain instead of
// /predict (same throttle, app.js), and this draws why: the saliency over the input, the first
// hidden (dense) layer, the top units, or for a convolutional network its first convolution's
// feature maps. Clicking a digit's bar explains that digit instead ("why not 8?").
// Closed, the pad asks /predict.
import { setEndpoint } from "./app.js";
import { requestJson } from "./http.js";

const panel = document.getElementById("inside");
const lead = document.getElementById("inside-lead");
const saliencyCanvas = document.getElementById("saliency");
const layerCanvas = document.getElementById("hidden-layer");
const layerCaption = document.getElementById("layer-caption");
const unitList = document.getElementById("units");
const unitsLead = document.getElementById("units-lead");
const peakText = document.getElementById("saliency-peak");
const bars = Array.from(document.querySelectorAll("#bars li"));

let lastPng = null;     // the drawing of the last answer, to explain again for another digit
let lastDigit = null;   // the digit it was read as
let asked = null;       // the digit asked for by a bar, or null: the digit read
let ticket = 0;         // only the newest answer is drawn

function endpoint() {
  if (!panel.open) return "/predict";
  return asked === null ? "/explain" : `/explain?class=${asked}`;
}

function setAsked(digit) {
  asked = digit;
  setEndpoint(endpoint());
  bars.forEach((li, d) => li.classList.toggle("asked", d === asked));
}

// --- drawing an explanation ---
function loadPixels(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const c = document.createElement("canvas");
      c.width = c.height = 28;
      const ctx = c.getContext("2d");
      ctx.drawImage(image, 0, 0);
      resolve(ctx.getImageData(0, 0, 28, 28).data);
    };
    image.onerror = reject;
    image.src = url;
  });
}

// The saliency's colours, darkened where there is ink: the digit shows through the colours.
async function drawSaliency(answer, mine) {
  const [ink, colours] = await Promise.all([loadPixels(answer.input), loadPixels(answer.saliency.image)]);
  if (mine !== ticket) return;
  const ctx = saliencyCanvas.getContext("2d");
  const out = ctx.createImageData(28, 28);
  for (let i = 0; i < out.data.length; i += 4) {
    const shade = 1 - 0.55 * (ink[i] / 255);  // the input is light ink on black
    for (let c = 0; c < 3; c++) out.data[i + c] = colours[i + c] * shade;
    out.data[i + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}

function drawLayer(layer, units, name) {
  const n = layer.activations.length;
  const cols = Math.ceil(Math.sqrt(2 * n)), rows = Math.ceil(n / cols);
  const cell = Math.max(2, Math.floor(280 / cols));
  layerCanvas.width = cols * cell;
  layerCanvas.height = rows * cell;
  const ctx = layerCanvas.getContext("2d");
  ctx.fillStyle = "#111418";
  ctx.fillRect(0, 0, layerCanvas.width, layerCanvas.height);
  const peak = Math.max(1e-9, ...layer.activations.map(Math.abs));
  layer.activations.forEach((a, j) => {
    const t = Math.sqrt(Math.min(1, Math.abs(a) / peak));  // the root: weak units still show
    if (t < 0.1) return;
    // positive activations glow yellow, negative ones (tanh, leaky ReLU) blue
    ctx.fillStyle = a > 0 ? `rgba(255, 210, 63, ${t})` : `rgba(90, 160, 255, ${t})`;
    ctx.fillRect((j % cols) * cell, Math.floor(j / cols) * cell, cell - 1, cell - 1);
  });
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 1.5;
  for (const unit of units) {
    const x = (unit.index % cols) * cell, y = Math.floor(unit.index / cols) * cell;
    ctx.strokeRect(x - 1, y - 1, cell + 1, cell + 1);
  }
  const lit = layer.activations.filter((a) => a > 0).length;
  layerCaption.textContent = `${name}: ${n} units, ${lit} of them fire for your drawing ` +
    "(brighter: stronger)";
  layerCanvas.dataset.units = String(n);
}

// A row of small pictures under the layer: a dense network's top units (each one's incoming
// weights), or a convolution's channels (where in the drawing each kernel finds what it looks for).
function drawPictures(kind, pictures) {
  unitList.dataset.kind = kind;
  unitList.replaceChildren(...pictures.map(({ src, alt, label }) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = src;
    img.alt = alt;
    li.append(img, label);
    return li;
  }));
}

function drawMaps(maps) {
  drawPictures("feature-maps", maps.map((map) => (
    { src: map.image, alt: `feature map ${map.channel}`, label: `map ${map.channel}` })));
}

function drawUnits(units) {
  drawPictures("units", units.map((unit) => (
    { src: unit.weights, alt: `the weights of unit ${unit.index}`, label: `unit ${unit.index}` })));
}

function percent(p) {
  return p >= 0.995 ? "over 99%" : p < 0.005 ? "under 1%" : `${Math.round(p * 100)}%`;
}

function show(answer, mine) {
  const k = answer.saliency.digit;
  const sure = percent(answer.probabilities[k]);
  lead.textContent = k === answer.digit
    ? `Why ${k}? Blue pixels push the network towards ${k}, red ones away from it (it is ${sure} sure).`
    : `Why not ${k}? Blue pixels would push it towards ${k}, red ones away; it gives ${k} ${sure}.`;
  drawSaliency(answer, mine).catch(() => {});
  // what the palest and the strongest colours mean: to first order, inking the strongest pixel fully
  // (x from 0 to 1) changes log p_k by this much; a sure answer moves little, so its map looks pale
  const peak = answer.saliency.gradient.reduce((m, g) => (Math.abs(g) > Math.abs(m) ? g : m), 0);
  peakText.textContent = `inked fully, it would change log p(${k}) by about ${peak >= 0 ? "+" : ""}` +
    `${peak.toPrecision(2)}` + (answer.probabilities[k] > 0.99 ? ` (it is ${sure} sure: little can move it)` : "");
  const maps = answer.feature_maps;
  if (answer.layers.length > 0) {
    drawLayer(answer.layers[0], answer.units,
              maps.length > 0 ? "the first dense layer, after the convolutions" : "the first hidden layer");
  }
  if (maps.length > 0) {
    drawMaps(maps);
    unitsLead.textContent = `The first convolution's ${maps.length} feature maps: each of its kernels slides ` +
      "over your drawing and is blue where it finds the stroke it looks for (each map scaled to its own strongest):";
  } else {
    drawUnits(answer.units);
    unitsLead.textContent = `The units that push most towards ${k} (outlined above). Each fires for ink ` +
      "on its blue pixels and is held back by ink on its red ones:";
  }
  panel.dataset.explained = String(k);
}

async function explainNow() {
  if (!panel.open || lastPng === null) return;
  const mine = ++ticket;
  panel.dataset.state = "busy";
  try {
    const answer = await requestJson(endpoint(), { method: "POST", headers: { "Content-Type": "image/png" },
                                                   body: lastPng });
    if (mine === ticket) show(answer, mine);
  } catch (error) {
    if (mine === ticket) lead.textContent = `Could not explain the drawing: ${error.message}`;
  } finally {
    if (mine === ticket) panel.dataset.state = "idle";
  }
}

// --- the page's events ---
document.addEventListener("digitnet:answer", (event) => {
  const { answer, png } = event.detail;
  lastPng = png;
  lastDigit = answer.digit;
  if (!panel.open || answer.digit === null) return;
  const wanted = asked === null ? answer.digit : asked;
  if (answer.saliency && answer.saliency.digit === wanted) {
    show(answer, ++ticket);
    panel.dataset.state = "idle";
  } else {  // answered by /predict, or for another digit, just before the panel opened or a bar was clicked
    explainNow();
  }
});

document.addEventListener("digitnet:cleared", () => {
  lastPng = lastDigit = null;
  ticket++;
  setAsked(null);
  lead.textContent = "Draw a digit, and see which pixels made the network read it.";
  peakText.textContent = "–";
  saliencyCanvas.getContext("2d").clearRect(0, 0, 28, 28);
  layerCanvas.getContext("2d").clearRect(0, 0, layerCanvas.width, layerCanvas.height);
  unitList.replaceChildren();
  delete panel.dataset.explained;
});

panel.addEventListener("toggle", () => {
  setEndpoint(endpoint());
  explainNow();
  if (panel.open) bringIntoView();
});

// the panel sits below the answer: opened, or asked about from a bar, it scrolls into sight
function bringIntoView() {
  const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  panel.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "nearest" });
}

function ask(digit) {
  setAsked(digit === lastDigit ? null : digit);
  if (!panel.open) panel.open = true;  // its toggle event explains the drawing and brings it into view
  else {
    explainNow();
    bringIntoView();
  }
}

bars.forEach((li, d) => {
  li.classList.add("explainable");
  li.tabIndex = 0;
  li.setAttribute("role", "button");
  li.title = `Why (or why not) ${d}? Show what pushes the network towards ${d}`;
  li.dataset.testid = `explain-${d}`;
  li.addEventListener("click", () => ask(d));
  li.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      ask(d);
    }
  });
});

panel.dataset.state = "idle";
