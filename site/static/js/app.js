// The storefront: a small hash-routed app (works from any static host, S3 included).
// Views (js/views/*.js) build DOM with h() and show every API error in words;
// js/router.js maps each "#/path" to its view; js/ui.js holds what views share.

import { describeError } from "./api.js";
import { auth } from "./auth.js";
import { cart } from "./cart.js";
import { loadConfig } from "./config.js";
import { h } from "./dom.js";
import { route } from "./router.js";
import { announce, go, main, page, showError, updateNav } from "./ui.js";

function start() {
  // The skip link must not become a route ("#main"): it only moves focus.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    auth.signOut();
    cart.clear();
    announce("You are signed out.", { persist: true });
    go("#/");
  });
  auth.onChange((_session, message) => {
    updateNav();
    if (message) showError(message);
  });
  cart.onChange(updateNav);
  window.addEventListener("hashchange", () => {
    route();
    window.scrollTo(0, 0);
  });
  updateNav();
  loadConfig().then(route, (error) => {
    page("The store is unavailable", h("p", {}, describeError(error)));
    main.dataset.ready = "1";
  });
}

start();
