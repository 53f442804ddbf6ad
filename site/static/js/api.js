// Calls to the store API: JSON in and out, the contract's error shape turned into an
// ApiError whose message is fit to show a person.

import { loadConfig } from "./config.js";
import { auth } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message, details = [], body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.body = body;
  }
}

const STATUS_WORDS = {
  400: "The request was not valid.",
  401: "Please sign in.",
  403: "You are not allowed to do that.",
  404: "That could not be found.",
  409: "That conflicts with the current state; please reload and try again.",
  412: "Someone else changed this in the meantime; reload to see their changes.",
  413: "That is too large.",
  429: "Too many requests right now; please wait a moment and try again.",
  500: "Something went wrong on our side; please try again.",
  502: "The store could not be reached; please try again.",
  503: "The store is busy right now; please try again in a moment.",
  504: "The store took too long to answer; please try again.",
};

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && typeof body === "object" ? body.error : null;
  const fallback = STATUS_WORDS[response.status] || `The store answered with HTTP ${response.status}.`;
  if (error && typeof error === "object") {
    return new ApiError(response.status, String(error.code || "error"), String(error.message || fallback),
      error.details, body);
  }
  return new ApiError(response.status, "http_" + response.status, fallback, [], body);
}

// "name: must not be blank" for validation details; anything else as "key value" pairs.
export function describeDetail(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object") return String(detail);
  if (detail.field !== undefined && detail.issue !== undefined) {
    return detail.field ? `${detail.field}: ${detail.issue}` : String(detail.issue);
  }
  return Object.entries(detail).map(([key, value]) => `${key.replace(/_/g, " ")} ${
    typeof value === "object" ? JSON.stringify(value) : value}`).join(", ");
}

export function describeError(error) {
  if (error instanceof ApiError) {
    const details = error.details.map(describeDetail).filter(Boolean);
    return details.length ? `${error.message} (${details.join("; ")})` : error.message;
  }
  return error && error.message ? error.message : String(error);
}

// method, path ("/products"), options: body, headers, auth ("none" | "optional" |
// "required"), signal. Returns {status, headers, body}; throws ApiError.
export async function api(method, path, options = {}) {
  const config = await loadConfig();
  const mode = options.auth || "none";
  const attempt = async (forceRefresh) => {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (mode !== "none") {
      const token = await auth.idToken(forceRefresh);
      if (token) headers.Authorization = `Bearer ${token}`;
      else if (mode === "required") throw new ApiError(401, "unauthorized", "Please sign in first.");
    }
    let response;
    try {
      response = await fetch(config.apiBaseUrl + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        cache: "no-store",
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(0, "network", "Could not reach the store. Check your connection and try again.");
    }
    return response;
  };
  let response = await attempt(false);
  if (response.status === 401 && mode !== "none" && auth.signedIn()) {
    // The ID token may have expired between our check and the server's: refresh once.
    response = await attempt(true);
  }
  if (!response.ok && response.status !== 304) throw await errorFrom(response);
  let body = null;
  if (response.status !== 204 && response.status !== 304) {
    const text = await response.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError(response.status, "bad_response", "The store sent an answer we could not read.");
      }
    }
  }
  return { status: response.status, headers: response.headers, body };
}
