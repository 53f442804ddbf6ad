// The shopper's orders: the list, and one order with its status, address, totals, the
// time left to pay, tracking once shipped, and Pay / Cancel while they are possible.

import { api } from "../api.js";
import { countryName } from "../countries.js";
import { clear, formatDate, formatMoney, h } from "../dom.js";
import {
  addressBlock, announce, clearError, orderFacts, orderTable, page, requireSignIn, shortId, showError, statusBadge,
  timeLeft,
} from "../ui.js";
import { startPayment } from "./checkout.js";

// How often the order page asks again while the payment's confirmation is on its way.
const POLL_MS = 1000;
const POLL_LIMIT = 60;
const EXPIRED_POLL_MS = 5000;

function orderSummary(order) {
  return order.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ");
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
    for (const order of body.items) list.append(orderItem(order));
    cursor = body.next_cursor;
    more.hidden = !cursor;
    if (!list.children.length) list.replaceWith(h("p", {}, "You have no orders yet. ", h("a", { href: "#/" }, "Start shopping"), "."));
  };
  more.addEventListener("click", () => load().catch(showError));
  await load();
}

function orderItem(order) {
  return h("li", { class: "order-card", dataset: { orderId: order.id, status: order.status } },
    h("h2", {}, h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order ${shortId(order.id)}`)),
    h("p", {}, statusBadge(order.status)),
    h("p", {}, `Placed ${formatDate(order.created_at)}`),
    h("p", {}, orderSummary(order)),
    h("p", { class: "price" }, `Total ${formatMoney(order.total_cents, order.currency)}`));
}

function cancelLabel(order) {
  return order.status === "paid" ? "Cancel and refund" : "Cancel order";
}

export async function viewOrder(ctx, { id }) {
  if (!requireSignIn(`#/orders/${id}`)) return;
  const params = ctx.params;
  page("Order");
  const path = `/orders/${encodeURIComponent(id)}`;
  let { body: order } = await api("GET", path, { auth: "required" });
  if (!ctx.alive()) return;
  let timer = null;
  const stop = () => {
    clearInterval(timer);
    clearTimeout(timer);
  };

  const show = () => {
    stop();
    const pending = order.status === "pending_payment";
    const waitingForWebhook = pending && params.get("paid") === "1";
    const countdown = h("strong", { id: "time-left" });
    const tick = () => {
      if (!ctx.alive()) return stop();
      const left = timeLeft(order.expires_at);
      countdown.textContent = left || "0:00, the time to pay is up";
      if (!left) {
        // The expiry sweep moves the order within moments: look again every few seconds.
        stop();
        timer = setTimeout(refresh, EXPIRED_POLL_MS);
      }
    };
    const notices = [];
    if (waitingForWebhook) {
      notices.push(h("p", { class: "notice", role: "status", id: "payment-pending" },
        "Thank you! We are confirming your payment; this page updates by itself."));
    } else if (pending && params.get("payment") === "cancelled") {
      notices.push(h("p", { class: "notice warning", role: "status" },
        "The payment was not completed. Your order is still held for you: you can try again."));
    } else if (order.status === "paid" && params.get("paid") === "1") {
      notices.push(h("p", { class: "notice", role: "status" }, "Payment received. Thank you for your order!"));
    }
    const actions = [];
    if (pending) {
      const pay = h("button", { type: "button", class: "button", id: "pay-order" },
        params.get("payment") === "cancelled" ? "Try paying again" : "Pay now");
      pay.addEventListener("click", () => startPayment(order, pay));
      actions.push(pay);
    }
    if (pending || order.status === "paid") {
      actions.push(cancelButton(order, (updated) => {
        order = updated;
        show();
      }));
    }
    page(`Order ${shortId(order.id)}`,
      ...notices,
      orderFacts(order, {
        pending: pending
          ? [h("dt", {}, "Time left to pay"), h("dd", {}, countdown, ` (until ${formatDate(order.expires_at)})`)] : null,
      }),
      orderTable(order),
      h("section", { "aria-labelledby": "address-heading" }, h("h2", { id: "address-heading" }, "Shipping to"),
        addressBlock(order.shipping_address, countryName)),
      h("p", { class: "actions" }, actions.map((a) => [a, " "]), h("a", { href: "#/orders" }, "All my orders")));
    if (pending) {
      tick();
      timer = setInterval(tick, 1000);
    }
    if (waitingForWebhook) poll(0);
  };

  async function refresh() {
    stop();
    try {
      const fresh = await api("GET", path, { auth: "required" });
      if (!ctx.alive()) return;
      const changed = fresh.body.status !== order.status;
      order = fresh.body;
      show();
      if (changed) announce(`Order ${shortId(order.id)}: ${document.getElementById("order-status").textContent}.`);
    } catch (error) {
      if (ctx.alive()) showError(error);
    }
  }

  // After the payment page: the webhook lands within moments; ask until it has.
  function poll(count) {
    setTimeout(async () => {
      if (!ctx.alive() || order.status !== "pending_payment") return;
      const fresh = await api("GET", path, { auth: "required" }).catch(() => null);
      if (!ctx.alive()) return;
      if (fresh && fresh.body.status !== "pending_payment") {
        order = fresh.body;
        show();
        announce(`Order ${shortId(order.id)}: ${document.getElementById("order-status").textContent}.`);
      } else if (count + 1 < POLL_LIMIT) {
        poll(count + 1);
      } else {
        const note = document.getElementById("payment-pending");
        if (note) note.textContent = "We have not heard from the payment provider yet. Reload this page in a minute.";
      }
    }, POLL_MS);
  }

  show();
}

// Cancel needs a second, deliberate click (no browser dialog, so it works everywhere).
export function cancelButton(order, onDone, labels = { ask: cancelLabel(order), confirm: "Yes, cancel it" }) {
  const wrap = h("span", { class: "cancel" });
  const ask = h("button", { type: "button", class: "button secondary", id: "cancel-order" }, labels.ask);
  ask.addEventListener("click", () => {
    const refund = order.status === "paid" ? ` ${formatMoney(order.total_cents - (order.refunded_cents || 0),
      order.currency)} will be refunded.` : "";
    const yes = h("button", { type: "button", class: "button danger", id: "confirm-cancel" }, labels.confirm);
    const no = h("button", { type: "button", class: "link-button" }, "Keep the order");
    clear(wrap).append(h("span", { class: "confirm-text" }, `Cancel order ${shortId(order.id)}?${refund} `), yes, " ", no);
    yes.focus();
    no.addEventListener("click", () => {
      clear(wrap).append(ask);
      ask.focus();
    });
    yes.addEventListener("click", async () => {
      clearError();
      yes.disabled = true;
      try {
        const { body } = await api("POST", `/orders/${encodeURIComponent(order.id)}/cancel`, { auth: "required" });
        announce(`Order ${shortId(order.id)} has been cancelled.`);
        onDone(body);
      } catch (error) {
        showError(error);
        yes.disabled = false;
      }
    });
  });
  wrap.append(ask);
  return wrap;
}
