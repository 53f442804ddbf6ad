// Accounts: sign in, sign up and confirm.

import { auth } from "../auth.js";
import { h } from "../dom.js";
import { announce, field, formError, go, page } from "../ui.js";

export function viewSignIn(ctx) {
  const next = ctx.params.get("next") || "#/";
  const form = h("form", { class: "stack-form", novalidate: true }, 
    field("email", "Email", { type: "email", autocomplete: "username", required: true }),
    field("password", "Password", { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "button" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account"), "."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email || !password) {
      formError(form, new Error("Enter your email and password."));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await auth.signIn(email, password);
      announce(`Signed in as ${auth.email()}.`, { persist: true });
      go(next.startsWith("#/") ? next : "#/");
    } catch (error) {
      if (!ctx.alive()) return;
      formError(form, error);
      button.disabled = false;
      form.password.focus();
    }
  });
  page("Sign in", form);
}

export function viewSignUp(ctx) {
  const form = h("form", { class: "stack-form", novalidate: true },
    field("email", "Email", { type: "email", autocomplete: "username", required: true }),
    field("password", "Password", { type: "password", autocomplete: "new-password", required: true, minlength: "8" },
      "At least 8 characters, with an upper-case letter, a lower-case letter and a number."),
    h("button", { type: "submit", class: "button" }, "Create account"),
    h("p", {}, "Already have an account? ", h("a", { href: "#/signin" }, "Sign in"), "."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email || !password) {
      formError(form, new Error("Enter an email and a password."));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await auth.signUp(email, password);
      if (!ctx.alive()) return;
      if (result.UserConfirmed) await finishSignUp(email, password);
      else confirmStep(ctx, email, password, result.CodeDeliveryDetails);
    } catch (error) {
      if (!ctx.alive()) return;
      formError(form, error);
      button.disabled = false;
    }
  });
  page("Create an account", form);
}

function confirmStep(ctx, email, password, delivery) {
  const where = delivery && delivery.Destination ? delivery.Destination : email;
  const form = h("form", { class: "stack-form", novalidate: true },
    h("p", {}, `We sent a confirmation code to ${where}. Enter it below to finish.`),
    field("code", "Confirmation code", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
      required: true }),
    h("button", { type: "submit", class: "button" }, "Confirm account"),
    h("button", { type: "button", class: "link-button", onclick: async () => {
      try {
        await auth.resendCode(email);
        announce("We sent you a new code.");
      } catch (error) {
        formError(form, error);
      }
    } }, "Send a new code"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = form.code.value.trim();
    if (!code) {
      formError(form, new Error("Enter the confirmation code."));
      return;
    }
    try {
      await auth.confirmSignUp(email, code);
      await finishSignUp(email, password);
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    }
  });
  page("Confirm your account", form);
  form.code.focus();
}

async function finishSignUp(email, password) {
  await auth.signIn(email, password);
  announce(`Welcome! You are signed in as ${email}.`, { persist: true });
  go("#/");
}
