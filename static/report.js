// The admin page's compare view: a version (b) beside another (a, the serving one unless chosen), on
// one evaluation set: accuracy per digit, both confusion matrices, the drawings b reads right and a
// wrong and the reverse, and b's misread drawings. With a = b it is b's report.
import { $, api } from "./admin-api.js";
import { drawConfusion, drawDigitBars } from "./chart.js";

const SHOWN = 48; // drawings per grid (the API sends the first ones with their 28x28)
const SET_LABELS = { held_out: "held-out drawings", mnist_test: "MNIST test digits", pendigits: "pen digits" };
let chosen = { a: null, b: null, set: null }; // what the admin picked; null: the defaults
let loading = 0; // answers that come back after a newer ask are dropped
let drawn = null; // what the view shows, to draw again at another width (a phone turned)

const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(`--series-${name}`).trim();

// the select's options, keeping the choice if it is still there
function fill(select, values, wanted, label = (v) => v) {
  select.replaceChildren(...values.map((v) => new Option(label(v), v)));
  select.value = values.includes(wanted) ? wanted : values[0] ?? "";
}

// The view for the versions the admin page lists (GET /versions): the serving version beside the
// newest other version, unless the admin chose.
export function refreshReport(versions) {
  const ids = versions.versions.map((v) => v.id);
  fill($("compare-a"), ids, chosen.a ?? versions.serving);
  fill($("compare-b"), ids, chosen.b ?? (ids.find((id) => id !== versions.serving) || versions.serving));
  show().catch((e) => { $("compare-summary").textContent = e.message; });
}

for (const [key, id] of [["a", "compare-a"], ["b", "compare-b"], ["set", "compare-set"]]) {
  $(id).addEventListener("change", () => {
    chosen[key] = $(id).value;
    show().catch((e) => { $("compare-summary").textContent = e.message; });
  });
}

async function show() {
  const a = $("compare-a").value, b = $("compare-b").value;
  if (!a || !b) return;
  const ask = ++loading;
  const q = (id) => encodeURIComponent(id);
  const [compared, reportA, reportB] = await Promise.all([
    api(`/versions/compare?a=${q(a)}&b=${q(b)}&shown=${SHOWN}`),
    api(`/versions/${q(a)}/report?shown=0`), api(`/versions/${q(b)}/report?shown=${SHOWN}`)]);
  if (ask !== loading) return;
  const names = compared.sets.map((s) => s.name);
  const preferred = names.find((n) => n === "held_out" && compared.sets[names.indexOf(n)].count) || names[0];
  fill($("compare-set"), names, chosen.set ?? preferred, (n) => SET_LABELS[n] || n);
  const name = $("compare-set").value;
  const set = compared.sets.find((s) => s.name === name);
  const ofA = reportA.sets.find((s) => s.name === name), ofB = reportB.sets.find((s) => s.name === name);
  if (!set || !ofA || !ofB) { $("compare-summary").textContent = "no set both versions were judged on"; return; }
  draw(a, b, set, ofA, ofB);
}

window.addEventListener("resize", () => { if (drawn) requestAnimationFrame(() => drawCharts(...drawn)); });

function drawCharts(set, ofA, ofB) {
  drawDigitBars($("digit-bars"), set.per_digit, { a: color("a"), b: color("b") });
  drawConfusion($("confusion-a"), ofA.confusion);
  drawConfusion($("confusion-b"), ofB.confusion);
}

function draw(a, b, set, ofA, ofB) {
  const pct = (v) => (v == null ? "–" : `${(v * 100).toFixed(2)}%`);
  $("compare-summary").textContent = a === b ? `${b} reads ${pct(ofB.accuracy)} of the ${set.count} ${SET_LABELS[set.name]}`
    : `${b} beside ${a}: ${set.summary} (${pct(set.accuracy_a)} → ${pct(set.accuracy_b)})`;
  $("key-a").textContent = a; $("key-b").textContent = b;
  drawn = [set, ofA, ofB];
  drawCharts(...drawn);
  $("caption-a").textContent = `${a}: rows the digit it is, columns what it read`;
  $("caption-b").textContent = `${b}: rows the digit it is, columns what it read`;
  $("gained-title").textContent = `read right by ${b}, wrong by ${a} (${set.gained.length})`;
  $("lost-title").textContent = `read right by ${a}, wrong by ${b} (${set.lost.length})`;
  $("misread-title").textContent = `Misread by ${b}, surest first (${ofB.misread.length})`;
  // a gained drawing is read right by b, a lost one by a: its caption says what the other read
  grid($("gained"), set.gained, (c) => `${c.label}, was ${c.read_a}`);
  grid($("lost"), set.lost, (c) => `${c.label}, now ${c.read_b}`);
  grid($("misread"), ofB.misread, (m) => `${m.label} read ${m.read} (${Math.round(m.sure * 100)}%)`);
}

// the drawings that came with their pixels, and how many more there are
function grid(el, items, caption) {
  const shown = items.filter((item) => item.digit28);
  el.replaceChildren(...shown.map((item) => tile(item, caption(item))));
  if (items.length > shown.length) {
    const more = document.createElement("p");
    more.className = "muted"; more.textContent = shown.length ? `and ${items.length - shown.length} more`
      : `${items.length}, not shown (this server does not have the set)`;
    el.appendChild(more);
  } else if (!items.length) {
    const none = document.createElement("p"); none.className = "muted"; none.textContent = "none";
    el.appendChild(none);
  }
}

// a 28x28 as the network read it: white ink on black, each pixel drawn as it is (pixelated in CSS)
function tile(item, text) {
  const figure = document.createElement("figure");
  figure.className = "digit-tile"; figure.title = `${typeof item.item === "number" ? "#" : ""}${item.item}: ${text}`;
  const canvas = document.createElement("canvas");
  canvas.width = 28; canvas.height = 28;
  const bytes = Uint8Array.from(atob(item.digit28), (c) => c.charCodeAt(0));
  const image = new ImageData(28, 28);
  bytes.forEach((v, i) => { image.data.set([v, v, v, 255], i * 4); });
  canvas.getContext("2d").putImageData(image, 0, 0);
  const caption = document.createElement("figcaption");
  caption.textContent = text;
  figure.append(canvas, caption);
  return figure;
}
