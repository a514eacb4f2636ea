// The page's one way to call the server. Every error the server sends is JSON with a message,
// {"detail": "..."} (app/main.py); request() reads it and throws it, so that a caller shows
// error.message and nothing else. A failed connection throws fetch's own TypeError.

// An answer that was not 2xx: its status, and the server's message as the error's message.
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

// fetch(), then the server's message thrown as an HttpError when the answer is not 2xx.
export async function request(url, options = {}) {
  const response = await fetch(url, options);
  if (response.ok) return response;
  const body = await response.json().catch(() => ({}));
  throw new HttpError(response.status, typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`);
}

// request(), and the answer's JSON.
export async function requestJson(url, options = {}) {
  return (await request(url, options)).json();
}

// A blob (a drawing's PNG) as a data: URL, the form in which the JSON routes take an image.
export function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
