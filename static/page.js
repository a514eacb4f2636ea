// The drawing page, put together: the digit pad (app.js) and the number pad (number.js), one of them
// on screen (mode.js) with the keys acting on it, and the panel that explains an answer (explain.js).
// The "Right / No, it's a ..." buttons (feedback.js) are a module of their own, on the page when the
// server keeps feedback.
import { pad as digitPad } from "./app.js";
import "./explain.js";
import { mode } from "./mode.js";
import { pad as numberPad } from "./number.js";
import { bindPadKeys } from "./pad.js";

bindPadKeys(() => (mode() === "number" ? numberPad : digitPad));
