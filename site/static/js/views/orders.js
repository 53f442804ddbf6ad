// The shopper's orders: the list and one order.

import { api } from "../api.js";
import { add, clear, formatDate, formatMoney, h } from "../dom.js";
import { announce, clearError, page, requireSignIn, shortId, showError } from "../ui.js";

const CANCELLABLE = ["pending_payment", "paid"];

async function payOrder(order, button) {
  clearError();
  button.disabled = true;
  try {
    const { body } = await api("POST", `/orders/${encodeURIComponent(order.id)}/pay`, { auth: "required" });
    location.assign(body.url);
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

function orderSummary(order) {
  return order.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ");
}

async function cancelOrder(order, button, onDone) {
  clearError();
  button.disabled = true;
  try {
    const { body } = await api("POST", `/orders/${encodeURIComponent(order.id)}/cancel`, { auth: "required" });
    announce(`Order ${shortId(order.id)} has been cancelled.`);
    onDone(body);
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

export async function viewOrders(ctx) {
  if (!requireSignIn("#/orders")) return;
  const list = h("ul", { class: "order-list", id: "order-list", "aria-label": "Your orders" });
  const more = h("button", { type: "button", class: "button secondary", hidden: true }, "Load more");
  page("My orders", list, h("div", { class: "more" }, more));
  let cursor = null;
  const load = async () => {
    const query = new URLSearchParams({ limit: "20" });
    if (cursor) query.set("cursor", cursor);
    const { body } = await api("GET", `/orders?${query}`, { auth: "required" });
    if (!ctx.alive()) return;
    const items = Array.isArray(body) ? body : body.items;
    for (const order of items) list.append(orderItem(order));
    cursor = Array.isArray(body) ? null : body.next_cursor;
    more.hidden = !cursor;
    if (!list.children.length) list.replaceWith(h("p", {}, "You have no orders yet. ", h("a", { href: "#/" }, "Start shopping"), "."));
  };
  more.addEventListener("click", () => load().catch(showError));
  await load();
}

function orderItem(order) {
  const li = h("li", { class: "order-card", dataset: { orderId: order.id, status: order.status } });
  const fill = (current) => {
    li.dataset.status = current.status;
    const cancel = CANCELLABLE.includes(current.status) ? h("button", { type: "button", class: "button secondary",
      "aria-label": `Cancel order ${shortId(current.id)}`,
      onclick: (event) => cancelOrder(current, event.target, (updated) => fill(updated)) }, "Cancel order") : null;
    add(clear(li),
      h("h2", {}, h("a", { href: `#/orders/${encodeURIComponent(current.id)}` }, `Order ${shortId(current.id)}`)),
      h("p", { class: `order-status status-${current.status}` }, `Status: ${current.status}`),
      h("p", {}, `Placed ${formatDate(current.created_at)}`),
      h("p", {}, orderSummary(current)),
      h("p", { class: "price" }, `Total ${formatMoney(current.total_cents, current.currency)}`),
      cancel);
  };
  fill(order);
  return li;
}

export async function viewOrder(ctx, { id }) {
  const params = ctx.params;
  if (!requireSignIn(`#/orders/${id}`)) return;
  page("Order");
  const { body: order } = await api("GET", `/orders/${encodeURIComponent(id)}`, { auth: "required" });
  if (!ctx.alive()) return;
  const show = (current) => {
    const cancel = CANCELLABLE.includes(current.status) ? h("button", { type: "button", class: "button secondary",
      id: "cancel-order", onclick: (event) => cancelOrder(current, event.target, show) }, "Cancel order") : null;
    const pay = current.status === "pending_payment" ? h("button", { type: "button", class: "button",
      id: "pay-order", onclick: (event) => payOrder(current, event.target) }, "Pay now") : null;
    page(`Order ${shortId(current.id)}`,
      params.get("paid") && current.status === "paid"
        ? h("p", { class: "notice", role: "status" }, "Thank you! Your order is paid.") : null,
      h("p", { class: `order-status status-${current.status}`, id: "order-status" }, `Status: ${current.status}`),
      h("p", {}, `Placed ${formatDate(current.created_at)}`),
      h("div", { class: "table-wrap" }, h("table", { class: "cart-table" },
        h("caption", { class: "visually-hidden" }, "Order lines"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Quantity"),
          h("th", { scope: "col" }, "Unit price"))),
        h("tbody", {}, current.lines.map((l) => h("tr", {},
          h("th", { scope: "row" }, h("a", { href: `#/product/${encodeURIComponent(l.product_id)}` }, l.name)),
          h("td", {}, String(l.quantity)), h("td", {}, formatMoney(l.unit_price_cents, current.currency))))),
        h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "2" }, "Total"),
          h("td", { id: "order-total" }, formatMoney(current.total_cents, current.currency)))))),
      current.refunded_cents ? h("p", { id: "order-refunded" },
        `Refunded ${formatMoney(current.refunded_cents, current.currency)}`) : null,
      h("p", {}, pay, " ", cancel, " ", h("a", { href: "#/orders" }, "All my orders")));
  };
  show(order);
}
