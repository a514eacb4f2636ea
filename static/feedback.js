// "Right" / "No, it's a ...": after each answer the person can say what they drew; the drawing, its
// strokes, the label and what the model answered go to POST /feedback. One click (or a digit key),
// a thank-you, and drawing goes on: nothing here waits for the server.
import { HttpError, dataUrl, requestJson } from "./http.js";
import { mode } from "./mode.js";

const box = document.getElementById("feedback");
const thanks = document.getElementById("feedback-thanks");
let last = null;  // the newest answer and what produced it: {answer, png, strokes}
let sentFor = null;  // the answer already sent: one submission per drawing

document.addEventListener("digitnet:answer", (event) => {
  last = event.detail;
  box.hidden = last.answer.digit === null;
  if (sentFor !== last.answer) thanks.textContent = "";
});
document.addEventListener("digitnet:cleared", () => { last = null; box.hidden = true; });

async function send(label) {
  if (!last || sentFor === last.answer) return;
  const { answer, png, strokes } = last;
  sentFor = answer;
  thanks.textContent = label === answer.digit ? "Thanks!" : `Thanks: noted as a ${label}.`;
  try {
    const kept = await requestJson("/feedback", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: await dataUrl(png), label, predicted: answer.digit,
                             model_version: answer.model_version, strokes }),
    });
    if (kept.duplicate) {  // the same drawing was sent before: its first label stands
      thanks.textContent = kept.label === label ? `You sent this drawing before, as a ${label}: kept once.`
        : `You sent this drawing before, as a ${kept.label}: that label stands, not ${label}.`;
    }
  } catch (error) {
    thanks.textContent = error instanceof HttpError ? `Not sent: ${error.message}`
      : "Not sent: the server could not be reached.";
    sentFor = null;
  }
}

document.getElementById("feedback-right").addEventListener("click", () => last && send(last.answer.digit));
for (const button of box.querySelectorAll(".feedback-digit")) {
  button.addEventListener("click", () => send(Number(button.dataset.digit)));
}
document.addEventListener("keydown", (event) => {
  if (box.hidden || mode() === "number") return;  // the number pad has the keys then
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^[0-9]$/.test(event.key)) send(Number(event.key));
  else if (event.key === "Enter") last && send(last.answer.digit);
});
