// What the admin page's modules share: the admin token (kept in this tab's session storage) and the
// calls that send it. A refused token (401) goes to the one callback given to whenRefused().
import { request, requestJson } from "./http.js";

const TOKEN_KEY = "digitnet-admin-token";
let refused = () => {};

export const $ = (id) => document.getElementById(id);

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

// What to do when the server refuses the token (show the login again).
export function whenRefused(callback) { refused = callback; }

function withToken(options) {
  return { ...options, headers: { Authorization: `Bearer ${token()}`, ...(options.headers || {}) } };
}

function noticeRefusal(error) {
  if (error.status === 401) refused();
  throw error;
}

// An admin route's JSON answer; the server's message thrown as an HttpError (http.js).
export function api(path, options = {}) {
  return requestJson(path, withToken(options)).catch(noticeRefusal);
}

// An admin route's answer as it comes (a stream, a file), checked as api() checks it.
export function apiResponse(path, options = {}) {
  return request(path, withToken(options)).catch(noticeRefusal);
}
