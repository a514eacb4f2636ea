// The drawing page reads one digit or a whole number: the two mode buttons choose, and the page's
// other modules ask mode() which. body[data-mode] shows the one pad (style.css, number.css).

const section = document.getElementById("number-mode");
const buttons = { digit: document.getElementById("mode-digit"), number: document.getElementById("mode-number") };
let current = "digit";

// "digit" or "number": which pad is on screen.
export function mode() { return current; }

function setMode(chosen) {
  current = chosen;
  document.body.dataset.mode = chosen;
  section.hidden = chosen !== "number";
  for (const [name, button] of Object.entries(buttons)) button.setAttribute("aria-pressed", String(name === chosen));
}

buttons.digit.addEventListener("click", () => setMode("digit"));
buttons.number.addEventListener("click", () => setMode("number"));
setMode("digit");
