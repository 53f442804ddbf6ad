// The cart and placing the order.

import { api, ApiError, describeError } from "../api.js";
import { auth } from "../auth.js";
import { cart } from "../cart.js";
import { formatMoney, h } from "../dom.js";
import { announce, clearError, field, formError, main, page, showError } from "../ui.js";

const CHECKOUT_KEY = "store.checkout.v1";
const ADDRESS_KEY = "store.address.v1";
// [id, label, API field, required, attributes]
const ADDRESS_FIELDS = [
  ["ship-name", "Full name", "name", true, { autocomplete: "name", maxlength: "100" }],
  ["ship-line1", "Address line 1", "line1", true, { autocomplete: "address-line1", maxlength: "200" }],
  ["ship-line2", "Address line 2", "line2", false, { autocomplete: "address-line2", maxlength: "200" }],
  ["ship-city", "City", "city", true, { autocomplete: "address-level2", maxlength: "100" }],
  ["ship-region", "Region", "region", false, { autocomplete: "address-level1", maxlength: "100" }],
  ["ship-postal", "Postal code", "postal_code", true, { autocomplete: "postal-code", maxlength: "20" }],
  ["ship-country", "Country", "country", true, { autocomplete: "country", maxlength: "2", pattern: "[A-Z]{2}",
    placeholder: "US" }],
];

function addressFields() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(ADDRESS_KEY) || "{}") || {};
  } catch {
    saved = {};
  }
  return h("fieldset", { class: "address" }, h("legend", {}, "Shipping address"),
    ADDRESS_FIELDS.map(([id, label, name, required, attrs]) =>
      field(id, label, { ...attrs, required: required || null, value: saved[name] || "" },
        name === "country" ? "Two capital letters (ISO 3166-1), e.g. US, GB, FR" : null)));
}

function readAddress(form) {
  const address = {};
  for (const [id, , name, required] of ADDRESS_FIELDS) {
    const value = form.querySelector(`#${id}`).value.trim();
    if (value || required) address[name] = name === "country" ? value.toUpperCase() : value;
  }
  localStorage.setItem(ADDRESS_KEY, JSON.stringify(address));
  return address;
}

export function viewCart(ctx) {
  const lines = cart.lines();
  if (!lines.length) {
    page("Your cart", h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse products"), "."));
    return;
  }
  const currency = lines[0].currency;
  const total = lines.reduce((sum, l) => sum + l.price_cents * l.quantity, 0);
  const rows = lines.map((line) => {
    const qtyId = `qty-${line.product_id}`;
    return h("tr", { dataset: { productId: line.product_id } },
      h("th", { scope: "row" }, h("a", { href: `#/product/${encodeURIComponent(line.product_id)}` }, line.name),
        h("span", { class: "line-problem", id: `problem-${line.product_id}` })),
      h("td", {}, formatMoney(line.price_cents, line.currency)),
      h("td", {}, h("label", { class: "visually-hidden", for: qtyId }, `Quantity of ${line.name}`),
        h("input", { id: qtyId, type: "number", min: "0", value: String(line.quantity), class: "qty",
          inputmode: "numeric", "aria-describedby": `problem-${line.product_id}`,
          onchange: (event) => {
            const qty = Number(event.target.value);
            if (!Number.isInteger(qty) || qty < 0) {
              showError("Quantities must be whole numbers.");
              return;
            }
            cart.setQuantity(line.product_id, qty);
            viewCart(ctx);
          } })),
      h("td", {}, formatMoney(line.price_cents * line.quantity, line.currency)),
      h("td", {}, h("button", { type: "button", class: "link-button", "aria-label": `Remove ${line.name}`,
        onclick: () => {
          cart.remove(line.product_id);
          announce(`Removed ${line.name}.`);
          viewCart(ctx);
        } }, "Remove")));
  });
  const checkout = h("button", { type: "submit", class: "button", id: "checkout" }, "Place order");
  const form = h("form", { class: "checkout", onsubmit: (event) => {
    event.preventDefault();
    placeOrder(ctx, form, checkout, lines);
  } },
  auth.signedIn() ? [addressFields(), checkout]
    : h("p", {}, h("a", { class: "button", href: `#/signin?next=${encodeURIComponent("#/cart")}` },
      "Sign in to check out")));
  page("Your cart",
    h("div", { class: "table-wrap" }, h("table", { class: "cart-table" },
      h("caption", { class: "visually-hidden" }, "Products in your cart"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Price"),
        h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Subtotal"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "3" }, "Total"),
        h("td", { id: "cart-total" }, formatMoney(total, currency)), h("td", {}))))),
    form);
}

// One Idempotency-Key per cart content: a retry of the same checkout (after a lost
// answer, a double click, a reload) reuses it, so the order is placed once.
function checkoutKey(lines) {
  const fingerprint = JSON.stringify(lines.map((l) => [l.product_id, l.quantity]));
  try {
    const saved = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) || "null");
    if (saved && saved.fingerprint === fingerprint) return saved.key;
  } catch {
    /* a garbled entry: start a new checkout */
  }
  const key = crypto.randomUUID();
  sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({ fingerprint, key }));
  return key;
}

async function placeOrder(ctx, form, button, lines) {
  clearError();
  formError(form, null);
  for (const cell of main.querySelectorAll(".line-problem")) cell.textContent = "";
  for (const row of main.querySelectorAll("tr.short")) row.classList.remove("short");
  button.disabled = true;
  button.textContent = "Placing order…";
  const key = checkoutKey(lines);
  try {
    const { body: order } = await api("POST", "/orders", {
      auth: "required",
      headers: { "Idempotency-Key": key },
      body: { lines: lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })),
        shipping_address: readAddress(form) },
    });
    sessionStorage.removeItem(CHECKOUT_KEY);
    cart.clear();
    button.textContent = "Opening the payment page…";
    // The provider's hosted payment page; it comes back to the order page.
    const { body: session } = await api("POST", `/orders/${encodeURIComponent(order.id)}/pay`, { auth: "required" });
    location.assign(session.url);
  } catch (error) {
    if (!ctx.alive()) return;
    if (error instanceof ApiError && error.status !== 0 && error.status < 500) {
      sessionStorage.removeItem(CHECKOUT_KEY); // refused for good: a changed cart gets a new key
    }
    if (error instanceof ApiError && error.code === "out_of_stock") markShortLines(form, error, lines);
    else formError(form, error);
    button.disabled = false;
    button.textContent = "Place order";
  }
}

function markShortLines(form, error, lines) {
  const names = [];
  for (const detail of error.details) {
    const productId = detail && (detail.product_id || detail.id);
    const line = lines.find((l) => l.product_id === productId);
    if (!line) continue;
    const available = detail.available ?? detail.stock ?? detail.in_stock;
    const text = available === undefined ? "Not enough in stock."
      : Number(available) > 0 ? `Only ${available} left: lower the quantity.` : "Out of stock: remove it.";
    const row = main.querySelector(`tr[data-product-id="${CSS.escape(productId)}"]`);
    if (row) {
      row.classList.add("short");
      row.querySelector(".line-problem").textContent = text;
      row.querySelector("input.qty").setAttribute("aria-invalid", "true");
    }
    names.push(`${line.name}: ${text}`);
  }
  const summary = names.length ? `Some products are short of stock. ${names.join(" ")}` : describeError(error);
  formError(form, new Error(summary));
}
