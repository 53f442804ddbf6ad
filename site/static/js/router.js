// The hash router: one table maps "#/path" patterns to views. A view is
// `view(ctx, args)`: `ctx.alive()` says whether the page is still the current one
// (no newer navigation has started), `ctx.params` holds the query string, and `args`
// the path's named parts (":id").

import { ApiError, describeError } from "./api.js";
import { h } from "./dom.js";
import { clearError, main, onRerender, page, resetStatus, showError } from "./ui.js";
import { viewSignIn, viewSignUp } from "./views/account.js";
import { viewAdmin, viewAdminProduct } from "./views/admin.js";
import { viewAdminOrder, viewAdminOrders } from "./views/admin_orders.js";
import { viewCart } from "./views/cart.js";
import { viewCheckout } from "./views/checkout.js";
import { viewHome, viewProduct } from "./views/catalog.js";
import { viewOrder, viewOrders } from "./views/orders.js";

// [pattern, view, name]: the name lands in main[data-view] (the browser tests wait on it).
const ROUTES = [
  ["/", viewHome, "home"],
  ["/product/:id", viewProduct, "product"],
  ["/cart", viewCart, "cart"],
  ["/checkout", viewCheckout, "checkout"],
  ["/signin", viewSignIn, "signin"],
  ["/signup", viewSignUp, "signup"],
  ["/orders", viewOrders, "orders"],
  ["/orders/:id", viewOrder, "orders"],
  ["/admin", viewAdmin, "admin"],
  ["/admin/new", (ctx) => viewAdminProduct(ctx, { id: null }), "admin"],
  ["/admin/product/:id", viewAdminProduct, "admin"],
  ["/admin/orders", viewAdminOrders, "admin-orders"],
  ["/admin/orders/:id", viewAdminOrder, "admin-orders"],
].map(([pattern, view, name]) => ({ parts: pattern.split("/").filter(Boolean), view, name }));

function viewNotFound() {
  page("Page not found", h("p", {}, "There is no such page. ", h("a", { href: "#/" }, "Browse products"), "."));
}

// The route whose pattern matches the path's parts, with its named arguments.
function match(parts) {
  for (const route of ROUTES) {
    if (route.parts.length !== parts.length) continue;
    const args = {};
    const ok = route.parts.every((want, i) => {
      if (want.startsWith(":")) {
        args[want.slice(1)] = parts[i];
        return true;
      }
      return want === parts[i];
    });
    if (ok) return { route, args };
  }
  return { route: { view: viewNotFound, name: parts[0] || "home" }, args: {} };
}

let renderToken = 0;
let routed = false;

export function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const token = ++renderToken;
  const ctx = { alive: () => token === renderToken, params: new URLSearchParams(query) };
  clearError();
  resetStatus();
  const { route: found, args } = match(parts);
  main.setAttribute("aria-busy", "true");
  Promise.resolve()
    .then(() => found.view(ctx, args))
    .catch((error) => {
      if (!ctx.alive()) return;
      if (error instanceof ApiError && error.status === 404) {
        page("Not found", h("p", {}, describeError(error), " ", h("a", { href: "#/" }, "Browse products"), "."));
      } else {
        showError(error);
      }
    })
    .finally(() => {
      if (!ctx.alive()) return;
      main.removeAttribute("aria-busy");
      main.dataset.view = found.name;
      main.dataset.ready = "1";
      const heading = main.querySelector("h1");
      // After a navigation, move focus to the new page's heading, so keyboard and
      // screen-reader users start there; on the first load the skip link comes first.
      if (routed && heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
      routed = true;
    });
  delete main.dataset.ready;
}

onRerender(route);
