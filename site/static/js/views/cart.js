// The cart: quantities, removal, and the way to checkout.

import { auth } from "../auth.js";
import { cart } from "../cart.js";
import { formatMoney, h } from "../dom.js";
import { announce, page, showError } from "../ui.js";

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
  const next = auth.signedIn()
    ? h("p", {}, h("a", { class: "button", href: "#/checkout", id: "checkout" }, "Check out"))
    : h("p", {}, h("a", { class: "button", href: `#/signin?next=${encodeURIComponent("#/checkout")}` },
      "Sign in to check out"));
  page("Your cart",
    h("div", { class: "table-wrap" }, h("table", { class: "cart-table" },
      h("caption", { class: "visually-hidden" }, "Products in your cart"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Price"),
        h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Subtotal"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "3" }, "Total"),
        h("td", { id: "cart-total" }, formatMoney(total, currency)), h("td", {}))))),
    next);
}
