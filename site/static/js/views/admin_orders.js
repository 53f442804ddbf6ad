// The back office's orders: every customer's, newest first, filtered by status; one
// order's detail with Ship (carrier, tracking number) and Cancel with refund.

import { api, ApiError } from "../api.js";
import { countryName } from "../countries.js";
import { formatDate, formatMoney, h } from "../dom.js";
import {
  addressBlock, announce, field, formError, orderFacts, orderTable, page, requireAdmin, shortId, showError,
  STATUS_WORDS, statusBadge,
} from "../ui.js";
import { cancelButton } from "./orders.js";

const PAGE_SIZE = 20;

export function adminNav(current) {
  const link = (href, label) => (current === label ? h("strong", { "aria-current": "page" }, label)
    : h("a", { href }, label));
  return h("nav", { class: "admin-nav", "aria-label": "Admin" }, link("#/admin", "Products"), " · ",
    link("#/admin/orders", "Orders"));
}

export async function viewAdminOrders(ctx) {
  if (!requireAdmin("#/admin/orders")) return;
  const status = ctx.params.get("status") || "";
  const filter = h("select", { id: "order-status-filter", name: "status" },
    h("option", { value: "" }, "All orders"),
    Object.entries(STATUS_WORDS).map(([value, word]) => h("option", { value, selected: value === status }, word)));
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "button secondary", hidden: true }, "Load more");
  const empty = h("p", { hidden: true, id: "no-orders" }, "No orders.");
  page("Admin: orders", adminNav("Orders"),
    h("div", { class: "field" }, h("label", { for: "order-status-filter" }, "Status"), filter),
    h("div", { class: "table-wrap" }, h("table", { class: "admin-table orders-table" },
      h("caption", { class: "visually-hidden" }, "Orders, newest first"),
      h("thead", {}, h("tr", {}, ["Order", "Placed", "Customer", "Status", "Total"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    empty, h("div", { class: "more" }, more));
  filter.addEventListener("change", () => {
    location.hash = filter.value ? `#/admin/orders?status=${encodeURIComponent(filter.value)}` : "#/admin/orders";
  });
  let cursor = null;
  const load = async () => {
    const query = new URLSearchParams({ scope: "all", limit: String(PAGE_SIZE) });
    if (status) query.set("status", status);
    if (cursor) query.set("cursor", cursor);
    const { body } = await api("GET", `/orders?${query}`, { auth: "required" });
    if (!ctx.alive()) return;
    for (const order of body.items) {
      tbody.append(h("tr", { dataset: { orderId: order.id, status: order.status } },
        h("th", { scope: "row" }, h("a", { href: `#/admin/orders/${encodeURIComponent(order.id)}`,
          "aria-label": `Order ${shortId(order.id)}` }, shortId(order.id))),
        h("td", {}, formatDate(order.created_at)), h("td", {}, order.email || order.customer_id),
        h("td", {}, statusBadge(order.status)), h("td", {}, formatMoney(order.total_cents, order.currency))));
    }
    cursor = body.next_cursor;
    more.hidden = !cursor;
    empty.hidden = tbody.children.length > 0;
  };
  more.addEventListener("click", async () => {
    const before = tbody.children.length;
    more.disabled = true;
    await load().catch(showError);
    more.disabled = false;
    const next = tbody.children[before];
    if (next) next.querySelector("a").focus();
  });
  await load();
}

export async function viewAdminOrder(ctx, { id }) {
  if (!requireAdmin(`#/admin/orders/${id}`)) return;
  page("Order");
  const { body: loaded } = await api("GET", `/orders/${encodeURIComponent(id)}`, { auth: "required" });
  if (!ctx.alive()) return;
  const show = (order) => {
    const sections = [];
    if (order.status === "paid") sections.push(shipSection(ctx, order, show));
    if (order.status === "paid" || order.status === "pending_payment") {
      sections.push(h("section", { class: "panel", "aria-labelledby": "cancel-heading" },
        h("h2", { id: "cancel-heading" }, "Cancel"),
        h("p", {}, order.status === "paid" ? "Cancelling refunds the full payment and returns the stock."
          : "Cancelling releases the held stock; nothing has been paid."),
        cancelButton(order, (updated) => show(updated), {
          ask: order.status === "paid" ? "Cancel with refund" : "Cancel order", confirm: "Yes, cancel it" })));
    }
    page(`Order ${shortId(order.id)}`, adminNav("Orders"),
      orderFacts(order, {
        before: [h("dt", {}, "Customer"), h("dd", {}, order.email || order.customer_id)],
        pending: order.status === "pending_payment"
          ? [h("dt", {}, "Payment due by"), h("dd", {}, formatDate(order.expires_at))] : null,
      }),
      orderTable(order),
      h("section", { "aria-labelledby": "address-heading" }, h("h2", { id: "address-heading" }, "Ship to"),
        addressBlock(order.shipping_address, countryName)),
      ...sections,
      h("p", {}, h("a", { href: "#/admin/orders" }, "All orders")));
  };
  show(loaded);
}

function shipSection(ctx, order, onDone) {
  const form = h("form", { class: "stack-form ship-form", novalidate: true },
    field("carrier", "Carrier", { type: "text", required: true, maxlength: "100", autocomplete: "off" }),
    field("tracking_number", "Tracking number", { type: "text", required: true, maxlength: "100",
      autocomplete: "off" }),
    h("button", { type: "submit", class: "button" }, "Ship"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const body = { carrier: form.carrier.value.trim(), tracking_number: form.tracking_number.value.trim() };
    const missing = Object.entries(body).filter(([, v]) => !v)
      .map(([k]) => ({ field: k, issue: "required" }));
    if (missing.length) {
      formError(form, new ApiError(400, "validation_error", "Enter the carrier and the tracking number.", missing));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { body: shipped } = await api("POST", `/orders/${encodeURIComponent(order.id)}/ship`,
        { auth: "required", body });
      if (!ctx.alive()) return;
      announce(`Order ${shortId(order.id)} is marked as shipped.`);
      onDone(shipped);
    } catch (error) {
      if (ctx.alive()) formError(form, error);
      button.disabled = false;
    }
  });
  return h("section", { class: "panel", "aria-labelledby": "ship-heading" },
    h("h2", { id: "ship-heading" }, "Ship"), form);
}

