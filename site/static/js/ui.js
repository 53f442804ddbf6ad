// What every view shares: the page frame, announcements, error display, form fields,
// the sign-in and admin gates, and navigation.

import { ApiError, describeDetail, describeError } from "./api.js";
import { auth } from "./auth.js";
import { cart } from "./cart.js";
import { add, clear, formatDate, formatMoney, h } from "./dom.js";

export const main = document.getElementById("main");
const statusRegion = document.getElementById("status");
const errorRegion = document.getElementById("error");
let keepStatusOnce = false;
let statusTimer = null;
let rerender = () => {};

// -- announcements ---------------------------------------------------------------------

// persist: the message is about a navigation the app makes next ("Signed in as ..."),
// so the next page keeps it; any other message goes when the page changes.
export function announce(message, { persist = false } = {}) {
  if (persist) keepStatusOnce = true;
  clearTimeout(statusTimer);
  statusRegion.textContent = "";
  // Set after a tick, so screen readers announce a repeated message too.
  statusTimer = setTimeout(() => {
    statusRegion.textContent = message;
  }, 30);
}

export function showError(error) {
  const message = typeof error === "string" ? error : describeError(error);
  clear(errorRegion).append(h("p", {}, message));
  errorRegion.hidden = false;
}

export function clearError() {
  clear(errorRegion);
  errorRegion.hidden = true;
}

// A form's own error line, next to the form, plus field markers for validation details.
export function formError(form, error) {
  let slot = form.querySelector(".form-error");
  if (!slot) {
    slot = h("p", { class: "form-error", role: "alert" });
    form.prepend(slot);
  }
  for (const marked of form.querySelectorAll("[aria-invalid]")) marked.removeAttribute("aria-invalid");
  if (!error) {
    slot.textContent = "";
    return;
  }
  if (!(error instanceof ApiError)) {
    slot.textContent = describeError(error);
    return;
  }
  // Details about this form's fields are named by their labels ("City: required"),
  // never by the API's field names.
  const named = error.details.map((detail) => {
    const field = detail && detail.field && form.querySelector(`[name="${CSS.escape(detail.field)}"]`);
    if (!field) return describeDetail(detail);
    field.setAttribute("aria-invalid", "true");
    const label = field.id && form.querySelector(`label[for="${CSS.escape(field.id)}"]`);
    return label ? `${label.textContent}: ${detail.issue}` : describeDetail(detail);
  }).filter(Boolean);
  slot.textContent = named.length ? `${error.message} (${named.join("; ")})` : error.message;
}

// Called by the router on every navigation: keep a message that led here ("Signed in
// as ..."); drop older ones.
export function resetStatus() {
  if (keepStatusOnce) {
    keepStatusOnce = false;
  } else {
    clearTimeout(statusTimer);
    statusRegion.textContent = "";
  }
}

// -- layout ----------------------------------------------------------------------------

export function updateNav() {
  const signedIn = auth.signedIn();
  for (const el of document.querySelectorAll("[data-auth]")) {
    const want = el.dataset.auth;
    el.hidden = !((want === "signed-in" && signedIn) || (want === "signed-out" && !signedIn) ||
      (want === "admin" && auth.isAdmin()));
  }
  document.getElementById("user-email").textContent = auth.email();
  document.getElementById("cart-count").textContent = String(cart.count());
}

export function page(title, ...children) {
  document.title = `${title} | Serverless Store`;
  const heading = h("h1", { tabindex: "-1" }, title);
  add(clear(main), heading, ...children);
  return heading;
}

export function productImage(product) {
  // width/height give the box its shape before the image arrives (no layout shift).
  return h("div", { class: "product-media", "aria-hidden": "true" },
    h("span", { class: "placeholder" }, (product.name || "?").slice(0, 1)),
    product.image_url ? h("img", { src: product.image_url, alt: "", width: "480", height: "360", loading: "lazy",
      onerror: (event) => event.target.remove() }) : null);
}

export function stockText(stock) {
  return stock > 0 ? `In stock: ${stock}` : "Out of stock";
}
export function field(id, label, attrs = {}, hint = null) {
  return h("div", { class: "field" }, h("label", { for: id }, label),
    h("input", { id, name: id, ...attrs, "aria-describedby": hint ? `${id}-hint` : null }),
    hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null);
}

export function requireSignIn(next) {
  if (auth.signedIn()) return true;
  page("Sign in required", h("p", {}, "Please ", h("a", { href: `#/signin?next=${encodeURIComponent(next)}` },
    "sign in"), " to see this page."));
  return false;
}

export function requireAdmin(next) {
  if (!requireSignIn(next)) return false;
  if (auth.isAdmin()) return true;
  page("Admins only", h("p", {}, "This area is for store administrators. You are signed in as ",
    auth.email(), "."));
  return false;
}

export function shortId(id) {
  return id.length > 10 ? id.slice(0, 8) : id;
}

// The router registers how to re-render the current page.
export function onRerender(fn) {
  rerender = fn;
}

// Navigate; re-render when already there (no hashchange would fire).
export function go(hash) {
  if (location.hash === hash) rerender();
  else location.hash = hash;
}

// -- orders, shared by the shopper's and the admin's pages ------------------------------

// One word per order state, the same for shoppers and admins.
export const STATUS_WORDS = {
  pending_payment: "Awaiting payment",
  paid: "Paid",
  shipped: "Shipped",
  cancelled: "Cancelled",
  expired: "Expired",
};

export function statusWord(status) {
  return STATUS_WORDS[status] || status;
}

export function statusBadge(status, id = null) {
  return h("span", { class: `order-status status-${status}`, id }, statusWord(status));
}

// Address lines in the order the country writes them (the same rule as the emails:
// catalog_lambda/notifications.py).
export function addressLines(address) {
  const { name, line1, line2, city, region, postal_code: postal, country } = address;
  let place;
  if (["US", "CA", "AU"].includes(country)) place = [[city, [region, postal].filter(Boolean).join(" ")].filter(Boolean).join(", ")];
  else if (["GB", "IE"].includes(country)) place = [city, region, postal];
  else place = [[postal, city].filter(Boolean).join(" "), region];
  return [name, line1, line2, ...place].filter(Boolean);
}

export function addressBlock(address, countryName) {
  if (!address) return h("p", {}, "No address.");
  return h("address", { class: "address-block" },
    [...addressLines(address), countryName(address.country)].map((line, i) => (i ? [h("br"), line] : line)));
}

// An order's facts as shoppers and admins both see them: status, when it was placed,
// paid and shipped (with tracking), its number. `before` goes ahead of "Placed" and
// `pending` after it (each a list of dt/dd pairs, or null).
export function orderFacts(order, { before = null, pending = null } = {}) {
  return h("dl", { class: "order-facts" },
    h("dt", {}, "Status"), h("dd", {}, statusBadge(order.status, "order-status")),
    before,
    h("dt", {}, "Placed"), h("dd", {}, formatDate(order.created_at)),
    pending,
    order.paid_at ? [h("dt", {}, "Paid"), h("dd", {}, formatDate(order.paid_at))] : null,
    order.shipment ? [h("dt", {}, "Shipped"), h("dd", { id: "tracking" }, formatDate(order.shipped_at), " with ",
      order.shipment.carrier, ", tracking number ", h("strong", {}, order.shipment.tracking_number))] : null,
    h("dt", {}, "Order number"), h("dd", { class: "order-id" }, order.id));
}

// The order's lines with subtotal, shipping and total, as the API priced them.
export function orderTable(order) {
  const money = (cents) => formatMoney(cents, order.currency);
  const row = (label, value, id) => h("tr", {}, h("th", { scope: "row", colspan: "2" }, label),
    h("td", { id, class: "amount" }, value));
  return h("div", { class: "table-wrap" }, h("table", { class: "cart-table order-table" },
    h("caption", { class: "visually-hidden" }, "Order lines and totals"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Quantity"),
      h("th", { scope: "col", class: "amount" }, "Amount"))),
    h("tbody", {}, order.lines.map((l) => h("tr", {},
      h("th", { scope: "row" }, h("a", { href: `#/product/${encodeURIComponent(l.product_id)}` }, l.name),
        h("span", { class: "unit-price" }, `${money(l.unit_price_cents)} each`)),
      h("td", {}, String(l.quantity)), h("td", { class: "amount" }, money(l.unit_price_cents * l.quantity))))),
    h("tfoot", {},
      row("Subtotal", money(order.subtotal_cents), "order-subtotal"),
      row("Shipping", order.shipping_cents ? money(order.shipping_cents) : "Free", "order-shipping"),
      row("Total", money(order.total_cents), "order-total"),
      order.refunded_cents ? row("Refunded", money(order.refunded_cents), "order-refunded") : null)));
}

// "12:05" until the deadline; "" once it has passed.
export function timeLeft(rfc3339) {
  const ms = new Date(rfc3339).getTime() - Date.now();
  if (!(ms > 0)) return "";
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}
