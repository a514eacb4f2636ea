// The review queue on the admin page: drawings people sent back, disagreements first. Accept,
// reject or relabel one (keys on a focused drawing) or the whole page; only accepted drawings are
// trained on. On the admin page only when the server keeps feedback: refreshReview() does nothing
// without the card.
import { $, api, apiResponse } from "./admin-api.js";

const card = $("review");
const grid = $("review-grid");
const PAGE = 60;
let items = [];

// The queue as the server has it now (nothing without the card).
export async function refreshReview() {
  if (!card) return;
  const status = $("review-status").value;
  const query = new URLSearchParams({ limit: String(PAGE), ...(status ? { status } : {}) });
  const data = await api(`/feedback?${query}`);
  items = data.items;
  const c = data.counts;
  $("review-counts").textContent = `${c.pending} pending · ${c.accepted} accepted · ${c.rejected} rejected`;
  const right = Object.entries(data.right).map(([v, r]) => `${v} ${(r.right * 100).toFixed(0)}% of ${r.count}`);
  $("review-right").textContent = right.join(" · ") || "no drawings yet";
  grid.replaceChildren(...items.map(tile));
}

function tile(item) {
  const el = document.createElement("figure");
  el.className = `review-tile ${item.status}${item.label !== item.predicted ? " disagrees" : ""}`;
  el.tabIndex = 0;
  el.dataset.id = item.id;
  el.dataset.testid = "review-tile";
  const img = document.createElement("img");
  img.src = item.image; img.alt = `a drawing labelled ${item.label}`; img.width = 56; img.height = 56;
  // beside it, what a run learns from: the strokes drawn as the page drew them (the server
  // refused any drawing whose strokes do not draw its picture)
  const drawn = document.createElement("img");
  if (item.strokes_image) {
    drawn.src = item.strokes_image; drawn.width = 56; drawn.height = 56;
    drawn.alt = "its strokes, as training draws them"; drawn.title = "what a run trains on";
    drawn.dataset.testid = "review-strokes";
  }
  const caption = document.createElement("figcaption");
  const read = item.predicted === null ? "–" : String(item.predicted);
  caption.textContent = `${item.label} (read ${read})${item.held_out ? " · held out" : ""}`;
  caption.title = `${item.model_version}, ${new Date(item.created_at * 1000).toLocaleString()}`;
  el.append(img, ...(item.strokes_image ? [drawn] : []), caption);
  el.addEventListener("keydown", (event) => onKey(event, item, el));
  return el;
}

async function review(item, change) {
  await api(`/feedback/${item.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify(change) }).catch((e) => alert(e.message));
}

async function onKey(event, item, el) {
  const key = event.key;
  if (key === "ArrowRight" || key === "ArrowDown") { (el.nextElementSibling || el).focus(); return; }
  if (key === "ArrowLeft" || key === "ArrowUp") { (el.previousElementSibling || el).focus(); return; }
  if (key === "A" || key === "R") {  // with Shift: the whole page
    event.preventDefault();
    await all(key === "A" ? "accepted" : "rejected");
    return;
  }
  let change = null;
  if (key === "a") change = { status: "accepted" };
  else if (key === "r") change = { status: "rejected" };
  else if (/^[0-9]$/.test(key)) change = { label: Number(key) };
  else if (key === "Delete") {
    if (!confirm("Erase this drawing for good?")) return;
    await api(`/feedback/${item.id}`, { method: "DELETE" }).catch((e) => alert(e.message));
  } else return;
  event.preventDefault();
  const index = Array.from(grid.children).indexOf(el);
  if (change) await review(item, change);
  await refreshReview();
  const next = grid.children[Math.min(index, grid.children.length - 1)];
  if (next) next.focus();
}

async function all(status) {
  for (const item of items) await review(item, { status });
  await refreshReview();
}

if (card) {
  $("review-status").addEventListener("change", refreshReview);
  $("review-accept-all").addEventListener("click", () => all("accepted"));
  $("review-reject-all").addEventListener("click", () => all("rejected"));
  $("review-clear-rejected").addEventListener("click", async () => {
    if (!confirm("Erase every rejected drawing for good?")) return;
    await api("/feedback?status=rejected", { method: "DELETE" }).catch((e) => alert(e.message));
    await refreshReview();
  });
  $("review-export").addEventListener("click", exportAccepted);
}

// the export needs the token, which a plain link cannot send
async function exportAccepted(event) {
  event.preventDefault();
  const response = await apiResponse("/feedback/export").catch((e) => alert(e.message));
  if (!response) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "digitnet-feedback.npz";
  link.click();
}
