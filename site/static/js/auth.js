// Sign up, confirm, sign in and out, and silent refresh against the Cognito user pool.
// Cognito's user-pool API takes unsigned JSON POSTs for these calls, so the browser
// talks to it directly (the endpoint comes from config.json).
//
// The session (ID, access and refresh tokens) is kept in localStorage so that it
// survives a reload and is shared by the store's tabs; the ID token is refreshed
// before it expires, and on demand when the API says it has.

import { loadConfig } from "./config.js";

const STORAGE_KEY = "store.session.v1";
const REFRESH_MARGIN_MS = 60_000;

export class AuthError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

const FRIENDLY = {
  NotAuthorizedException: "Incorrect email or password.",
  UserNotFoundException: "Incorrect email or password.",
  UserNotConfirmedException: "This account is not confirmed yet: enter the code we sent you.",
  UsernameExistsException: "An account with this email already exists. Sign in instead.",
  CodeMismatchException: "That confirmation code is not right. Check it and try again.",
  InvalidPasswordException: "That password is too weak: use at least 8 characters, with upper- and lower-case letters and a number.",
  ExpiredCodeException: "That confirmation code has expired. Ask for a new one.",
  TooManyRequestsException: "Too many attempts. Please wait a moment and try again.",
  LimitExceededException: "Too many attempts. Please wait a moment and try again.",
};

async function cognito(operation, payload) {
  const config = await loadConfig();
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
      },
      body: JSON.stringify(payload),
      cache: "no-store",
    });
  } catch {
    throw new AuthError("network", "Could not reach the sign-in service. Check your connection and try again.");
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (!response.ok) {
    const type = String(body.__type || body.code || "").split("#").pop();
    const message = FRIENDLY[type] || body.message || body.Message || `Sign-in service error (HTTP ${response.status}).`;
    throw new AuthError(type || "error", message);
  }
  return body;
}

function decodeJwt(token) {
  const part = token.split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function sessionFrom(result, previous) {
  const claims = decodeJwt(result.IdToken);
  const groups = claims["cognito:groups"] || [];
  return {
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken || (previous && previous.refreshToken),
    expiresAt: claims.exp ? claims.exp * 1000 : Date.now() + (result.ExpiresIn || 3600) * 1000,
    email: claims.email || claims["cognito:username"] || "",
    groups: Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/).filter(Boolean),
  };
}

class Auth {
  constructor() {
    this.session = this.load();
    this.listeners = new Set();
    this.refreshing = null;
    this.timer = null;
    window.addEventListener("storage", (event) => {
      if (event.key === STORAGE_KEY) {
        this.session = this.load();
        this.schedule();
        this.emit(null);
      }
    });
    this.schedule();
  }

  load() {
    try {
      const raw = localStorage.getItem(STORAGE_KEY);
      const session = raw ? JSON.parse(raw) : null;
      return session && session.idToken && session.refreshToken ? session : null;
    } catch {
      return null;
    }
  }

  save(session) {
    this.session = session;
    if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else localStorage.removeItem(STORAGE_KEY);
    this.schedule();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  emit(message) {
    for (const listener of this.listeners) listener(this.session, message);
  }

  signedIn() {
    return Boolean(this.session);
  }

  isAdmin() {
    return Boolean(this.session && this.session.groups.includes("admin"));
  }

  email() {
    return this.session ? this.session.email : "";
  }

  async signIn(email, password) {
    const config = await loadConfig();
    const body = await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: config.clientId,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    });
    if (!body.AuthenticationResult) {
      throw new AuthError(body.ChallengeName || "challenge",
        "This account needs an extra sign-in step that the store does not support yet.");
    }
    this.save(sessionFrom(body.AuthenticationResult, null));
    this.emit(null);
  }

  async signUp(email, password) {
    const config = await loadConfig();
    return cognito("SignUp", {
      ClientId: config.clientId,
      Username: email,
      Password: password,
      UserAttributes: [{ Name: "email", Value: email }],
    });
  }

  async confirmSignUp(email, code) {
    const config = await loadConfig();
    return cognito("ConfirmSignUp", { ClientId: config.clientId, Username: email, ConfirmationCode: code });
  }

  async resendCode(email) {
    const config = await loadConfig();
    return cognito("ResendConfirmationCode", { ClientId: config.clientId, Username: email });
  }

  signOut(message = null) {
    this.save(null);
    this.emit(message);
  }

  // The current ID token, refreshed first when it is about to expire (or when forced).
  async idToken(force = false) {
    if (!this.session) return null;
    if (force || this.session.expiresAt - Date.now() < REFRESH_MARGIN_MS) await this.refresh();
    return this.session ? this.session.idToken : null;
  }

  // InitiateAuth REFRESH_TOKEN_AUTH; one refresh at a time. A refused refresh token
  // ends the session, and the person is told so.
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const session = this.session;
        if (!session) return;
        const config = await loadConfig();
        try {
          const body = await cognito("InitiateAuth", {
            AuthFlow: "REFRESH_TOKEN_AUTH",
            ClientId: config.clientId,
            AuthParameters: { REFRESH_TOKEN: session.refreshToken },
          });
          this.save(sessionFrom(body.AuthenticationResult, session));
          this.emit(null);
        } catch (error) {
          if (error instanceof AuthError && error.code === "network") throw error;
          this.signOut("Your session has ended. Please sign in again.");
          throw new AuthError("session_ended", "Your session has ended. Please sign in again.");
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.session) return;
    const delay = Math.max(1_000, this.session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {
        /* the failure was reported through emit(); a network error retries on next use */
      });
    }, Math.min(delay, 2 ** 31 - 1));
  }
}

export const auth = new Auth();
