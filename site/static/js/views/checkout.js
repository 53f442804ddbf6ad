// Checkout: the shipping address, then the order as the API priced it (subtotal,
// shipping, total), then the provider's payment page.

import { api, ApiError, describeError } from "../api.js";
import { auth } from "../auth.js";
import { cart } from "../cart.js";
import { countryOptions } from "../countries.js";
import { formatMoney, h } from "../dom.js";
import { announce, clearError, formError, orderTable, page, requireSignIn, shortId } from "../ui.js";

const CHECKOUT_KEY = "store.checkout.v2";
const ADDRESS_KEY = "store.address.v1";
// [API field, label, required, input attributes]
const ADDRESS_FIELDS = [
  ["name", "Full name", true, { autocomplete: "name", maxlength: "100" }],
  ["line1", "Address line 1", true, { autocomplete: "address-line1", maxlength: "200" }],
  ["line2", "Address line 2", false, { autocomplete: "address-line2", maxlength: "200" }],
  ["city", "City", true, { autocomplete: "address-level2", maxlength: "100" }],
  ["region", "Region", false, { autocomplete: "address-level1", maxlength: "100" }],
  ["postal_code", "Postal code", true, { autocomplete: "postal-code", maxlength: "20" }],
];

// The last address used, per account (a shared computer keeps people's apart).
function addressKey() {
  return `${ADDRESS_KEY}:${auth.email()}`;
}

function savedAddress() {
  try {
    const saved = JSON.parse(localStorage.getItem(addressKey()) || "null");
    return saved && typeof saved === "object" ? saved : {};
  } catch {
    return {};
  }
}

function addressFieldset(saved) {
  const input = ([name, label, required, attrs]) => {
    const id = `ship-${name}`;
    return h("div", { class: "field" }, h("label", { for: id }, label),
      h("input", { id, name: `shipping_address.${name}`, type: "text", required, value: saved[name] || "",
        "aria-describedby": required ? null : `${id}-hint`, ...attrs }),
      required ? null : h("span", { class: "hint", id: `${id}-hint` }, "Optional"));
  };
  const country = h("select", { id: "ship-country", name: "shipping_address.country", required: true,
    autocomplete: "country" },
  h("option", { value: "" }, "Choose a country"),
  countryOptions().map(([code, name]) => h("option", { value: code, selected: saved.country === code },
    `${name} (${code})`)));
  return h("fieldset", { class: "address-fields" }, h("legend", {}, "Shipping address"),
    ADDRESS_FIELDS.map(input),
    h("div", { class: "field" }, h("label", { for: "ship-country" }, "Country"), country));
}

function readAddress(form) {
  const address = {};
  const missing = [];
  for (const [name, , required] of [...ADDRESS_FIELDS, ["country", "Country", true]]) {
    const value = form.elements.namedItem(`shipping_address.${name}`).value.trim();
    if (value) address[name] = value;
    else if (required) missing.push({ field: `shipping_address.${name}`, issue: "required" });
  }
  return { address, missing };
}

// One Idempotency-Key per cart content and address: a retry of the same checkout
// (after a lost answer, a double click, a reload) places the order once.
function checkoutKey(lines, address) {
  const fingerprint = JSON.stringify([lines.map((l) => [l.product_id, l.quantity]), address]);
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

export function viewCheckout(ctx) {
  if (!requireSignIn("#/checkout")) return;
  const lines = cart.lines();
  if (!lines.length) {
    page("Checkout", h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse products"), "."));
    return;
  }
  const currency = lines[0].currency;
  const estimate = lines.reduce((sum, l) => sum + l.price_cents * l.quantity, 0);
  const button = h("button", { type: "submit", class: "button", id: "place-order" }, "Place order");
  const form = h("form", { class: "stack-form checkout-form", novalidate: true },
    addressFieldset(savedAddress()),
    h("section", { class: "summary", "aria-labelledby": "summary-heading" },
      h("h2", { id: "summary-heading" }, "Your order"),
      h("ul", { class: "checkout-lines" }, lines.map((l) => h("li", { dataset: { productId: l.product_id } },
        `${l.quantity} × ${l.name}`, " ", h("span", { class: "amount" }, formatMoney(l.price_cents * l.quantity,
          l.currency)), h("span", { class: "line-problem", role: "note" })))),
      h("p", {}, "Items: ", h("strong", {}, formatMoney(estimate, currency)),
        ". Shipping and the total are confirmed when you place the order; you pay on the next page."),
      h("p", {}, button, " ", h("a", { href: "#/cart" }, "Back to the cart"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    placeOrder(ctx, form, button, lines);
  });
  page("Checkout", form);
}

async function placeOrder(ctx, form, button, lines) {
  clearError();
  formError(form, null);
  for (const cell of form.querySelectorAll(".line-problem")) cell.textContent = "";
  const { address, missing } = readAddress(form);
  if (missing.length) {
    formError(form, new ApiError(400, "validation_error", "Please complete the address.", missing));
    form.querySelector("[aria-invalid]").focus();
    return;
  }
  localStorage.setItem(addressKey(), JSON.stringify(address));
  button.disabled = true;
  button.textContent = "Placing order…";
  try {
    const { body: order } = await api("POST", "/orders", {
      auth: "required",
      headers: { "Idempotency-Key": checkoutKey(lines, address) },
      body: { lines: lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })), shipping_address: address },
    });
    sessionStorage.removeItem(CHECKOUT_KEY);
    cart.clear();
    if (ctx.alive()) showReview(order);
  } catch (error) {
    if (!ctx.alive()) return;
    if (error instanceof ApiError && error.status !== 0 && error.status < 500) sessionStorage.removeItem(CHECKOUT_KEY);
    formError(form, explain(form, error, lines));
    button.disabled = false;
    button.textContent = "Place order";
  }
}

function explain(form, error, lines) {
  if (!(error instanceof ApiError)) return error;
  if (error.code === "out_of_stock") {
    const names = [];
    for (const detail of error.details) {
      const line = lines.find((l) => detail && l.product_id === (detail.product_id || detail.id));
      if (!line) continue;
      const available = detail.available ?? detail.stock;
      const text = available === undefined ? "Not enough in stock."
        : Number(available) > 0 ? `Only ${available} left: lower the quantity in your cart.` : "Out of stock: remove it from your cart.";
      const item = form.querySelector(`li[data-product-id="${CSS.escape(line.product_id)}"] .line-problem`);
      if (item) item.textContent = ` ${text}`;
      names.push(`${line.name}: ${text}`);
    }
    return new Error(names.length ? `Some products are short of stock. ${names.join(" ")}` : describeError(error));
  }
  if (error.code === "too_many_pending_orders") {
    return new Error("You already have orders waiting for payment. Pay or cancel one of them (My orders) first.");
  }
  return error;
}

// The order as the API priced it, and the way to pay it.
function showReview(order) {
  const pay = h("button", { type: "button", class: "button", id: "pay-order" },
    `Pay ${formatMoney(order.total_cents, order.currency)}`);
  pay.addEventListener("click", () => startPayment(order, pay));
  const heading = page(`Order ${shortId(order.id)}: review and pay`,
    h("p", { class: "notice", role: "status" },
      "Your order is placed and its items are held for you. Pay to complete it."),
    orderTable(order),
    h("p", {}, pay, " ", h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, "Pay later")));
  announce(`Order ${shortId(order.id)} placed. Total ${formatMoney(order.total_cents, order.currency)}.`);
  heading.focus();
}

// The provider's hosted payment page for this order (it comes back to the order page).
export async function startPayment(order, button) {
  clearError();
  button.disabled = true;
  const label = button.textContent;
  button.textContent = "Opening the payment page…";
  try {
    const { body } = await api("POST", `/orders/${encodeURIComponent(order.id)}/pay`, { auth: "required" });
    location.assign(body.url);
  } catch (error) {
    button.disabled = false;
    button.textContent = label;
    const slot = button.closest("main").querySelector(".pay-error") || h("p", { class: "form-error pay-error", role: "alert" });
    slot.textContent = describeError(error);
    button.parentElement.after(slot);
  }
}
