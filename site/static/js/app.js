// The storefront: a small hash-routed app (works from any static host, S3 included).
// Views build DOM with h() and show every API error in words.

import { api, ApiError, describeError } from "./api.js";
import { auth } from "./auth.js";
import { cart } from "./cart.js";
import { loadConfig } from "./config.js";
import { add, clear, debounce, formatDate, formatMoney, h, minorDigits, parseMoney } from "./dom.js";

const PAGE_SIZE = 12;
const CHECKOUT_KEY = "store.checkout.v1";
const main = document.getElementById("main");
const statusRegion = document.getElementById("status");
const errorRegion = document.getElementById("error");
let renderToken = 0;
let routed = false;
let keepStatusOnce = false;
let statusTimer = null;

// -- announcements ---------------------------------------------------------------------

// persist: the message is about a navigation the app makes next ("Signed in as ..."),
// so the next page keeps it; any other message goes when the page changes.
function announce(message, { persist = false } = {}) {
  if (persist) keepStatusOnce = true;
  clearTimeout(statusTimer);
  statusRegion.textContent = "";
  // Set after a tick, so screen readers announce a repeated message too.
  statusTimer = setTimeout(() => {
    statusRegion.textContent = message;
  }, 30);
}

function showError(error) {
  const message = typeof error === "string" ? error : describeError(error);
  clear(errorRegion).append(h("p", {}, message));
  errorRegion.hidden = false;
}

function clearError() {
  clear(errorRegion);
  errorRegion.hidden = true;
}

// A form's own error line, next to the form, plus field markers for validation details.
function formError(form, error) {
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
  slot.textContent = describeError(error);
  if (error instanceof ApiError) {
    for (const detail of error.details) {
      const field = detail && detail.field && form.querySelector(`[name="${CSS.escape(detail.field)}"]`);
      if (field) field.setAttribute("aria-invalid", "true");
    }
  }
}

// -- layout ----------------------------------------------------------------------------

function updateNav() {
  const signedIn = auth.signedIn();
  for (const el of document.querySelectorAll("[data-auth]")) {
    const want = el.dataset.auth;
    el.hidden = !((want === "signed-in" && signedIn) || (want === "signed-out" && !signedIn) ||
      (want === "admin" && auth.isAdmin()));
  }
  document.getElementById("user-email").textContent = auth.email();
  document.getElementById("cart-count").textContent = String(cart.count());
}

function page(title, ...children) {
  document.title = `${title} | Serverless Store`;
  const heading = h("h1", { tabindex: "-1" }, title);
  add(clear(main), heading, ...children);
  return heading;
}

function productImage(product) {
  return h("div", { class: "product-media", "aria-hidden": "true" },
    h("span", { class: "placeholder" }, (product.name || "?").slice(0, 1)),
    product.image_url ? h("img", { src: product.image_url, alt: "", loading: "lazy",
      onerror: (event) => event.target.remove() }) : null);
}

function stockText(stock) {
  return stock > 0 ? `In stock: ${stock}` : "Out of stock";
}

// -- catalog ---------------------------------------------------------------------------

async function viewHome(ctx, params) {
  const state = { category: params.get("category") || "", q: params.get("q") || "", cursor: null, seq: 0 };
  const categorySelect = h("select", { id: "category", name: "category" }, h("option", { value: "" }, "All categories"));
  const search = h("input", { id: "q", name: "q", type: "search", autocomplete: "off", value: state.q,
    placeholder: "Search by name", "aria-describedby": "q-hint" });
  const list = h("ul", { class: "product-grid", id: "product-list", "aria-label": "Products" });
  const count = h("p", { class: "result-count", id: "result-count", role: "status" });
  const more = h("button", { type: "button", class: "button secondary", id: "load-more", hidden: true }, "Load more");
  page("Products",
    h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); reload(); } },
      h("div", { class: "field" }, h("label", { for: "category" }, "Category"), categorySelect),
      h("div", { class: "field grow" }, h("label", { for: "q" }, "Search products"), search,
        h("span", { id: "q-hint", class: "hint" }, "Results update as you type."))),
    count, list, h("div", { class: "more" }, more));

  const shown = () => list.children.length;
  async function load(append) {
    const seq = ++state.seq;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.category) query.set("category", state.category);
    if (state.q.trim()) query.set("q", state.q.trim());
    if (append && state.cursor) query.set("cursor", state.cursor);
    list.setAttribute("aria-busy", "true");
    more.disabled = true;
    try {
      let { body } = await api("GET", `/products?${query}`);
      // A search page may come back empty with a cursor (its window of the name index
      // held no match): follow it a few times rather than show "no products" too early.
      for (let hops = 0; !body.items.length && body.next_cursor && hops < 5; hops += 1) {
        if (!ctx.alive() || seq !== state.seq) return;
        query.set("cursor", body.next_cursor);
        ({ body } = await api("GET", `/products?${query}`));
      }
      if (!ctx.alive() || seq !== state.seq) return; // a newer search has started
      if (!append) clear(list);
      for (const product of body.items) list.append(productCard(product));
      state.cursor = body.next_cursor;
      more.hidden = !state.cursor;
      const what = state.q.trim() ? ` matching "${state.q.trim()}"` : "";
      count.textContent = shown() ? `Showing ${shown()} product${shown() === 1 ? "" : "s"}${what}${
        state.cursor ? " (more available)" : ""}.` : `No products${what}.`;
    } catch (error) {
      if (ctx.alive() && seq === state.seq) showError(error);
    } finally {
      if (seq === state.seq) {
        list.removeAttribute("aria-busy");
        more.disabled = false;
      }
    }
  }
  function reload() {
    clearError();
    state.cursor = null;
    const query = new URLSearchParams();
    if (state.category) query.set("category", state.category);
    if (state.q) query.set("q", state.q);
    history.replaceState(null, "", `#/${query.toString() ? `?${query}` : ""}`);
    return load(false);
  }
  const searchLater = debounce(() => {
    state.q = search.value;
    reload();
  }, 250);
  search.addEventListener("input", searchLater);
  categorySelect.addEventListener("change", () => {
    state.category = categorySelect.value;
    reload();
  });
  more.addEventListener("click", async () => {
    const before = shown();
    await load(true);
    // Keyboard users continue from the first new product.
    const next = list.children[before];
    if (next) next.querySelector("a").focus();
  });

  const categories = api("GET", "/categories").then(({ body }) => {
    if (!ctx.alive()) return;
    for (const category of body.items) {
      categorySelect.append(h("option", { value: category.slug, selected: category.slug === state.category },
        `${category.name} (${category.product_count})`));
    }
  }).catch((error) => ctx.alive() && showError(error));
  await Promise.all([categories, load(false)]);
}

function productCard(product) {
  return h("li", { class: "product-card", dataset: { productId: product.id } },
    productImage(product),
    h("h2", { class: "product-name" }, h("a", { href: `#/product/${encodeURIComponent(product.id)}` }, product.name)),
    h("p", { class: "price" }, formatMoney(product.price_cents, product.currency)),
    h("p", { class: "stock" }, stockText(product.stock)),
    h("button", { type: "button", class: "button", disabled: product.stock <= 0,
      "aria-label": `Add ${product.name} to cart`,
      onclick: () => {
        cart.add(product, 1);
        announce(`Added ${product.name} to your cart.`);
      } }, "Add to cart"));
}

async function viewProduct(ctx, id) {
  page("Product");
  const { body: product } = await api("GET", `/products/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const quantity = h("input", { id: "quantity", name: "quantity", type: "number", min: "1",
    max: String(Math.max(1, product.stock)), value: "1", inputmode: "numeric", required: true });
  const form = h("form", { class: "add-to-cart", onsubmit: (event) => {
    event.preventDefault();
    const qty = Number(quantity.value);
    if (!Number.isInteger(qty) || qty < 1) {
      formError(form, new Error("Enter a whole number of at least 1."));
      quantity.setAttribute("aria-invalid", "true");
      return;
    }
    formError(form, null);
    cart.add(product, qty);
    announce(`Added ${qty} × ${product.name} to your cart.`);
  } },
  h("div", { class: "field" }, h("label", { for: "quantity" }, "Quantity"), quantity),
  h("button", { type: "submit", class: "button", disabled: product.stock <= 0 }, "Add to cart"));
  const heading = page(product.name,
    h("article", { class: "product-detail", dataset: { productId: product.id } },
      productImage(product),
      h("div", { class: "product-info" },
        h("p", { class: "price" }, formatMoney(product.price_cents, product.currency)),
        h("p", { class: "stock", id: "stock" }, stockText(product.stock)),
        h("p", { class: "sku" }, `SKU ${product.sku} · ${product.category}`),
        h("p", { class: "description" }, product.description),
        form,
        h("p", {}, h("a", { href: `/p/${encodeURIComponent(product.id)}` }, "Shareable product page"),
          auth.isAdmin() ? [" · ", h("a", { href: `#/admin/product/${encodeURIComponent(product.id)}` },
            "Edit product")] : null))));
  heading.classList.add("product-title");
}

// -- cart and checkout -----------------------------------------------------------------

function viewCart(ctx) {
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
  auth.signedIn() ? checkout
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
      body: { lines: lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })) },
    });
    sessionStorage.removeItem(CHECKOUT_KEY);
    cart.clear();
    location.hash = `#/orders/${encodeURIComponent(order.id)}?placed=1`;
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

// -- orders ----------------------------------------------------------------------------

function requireSignIn(next) {
  if (auth.signedIn()) return true;
  page("Sign in required", h("p", {}, "Please ", h("a", { href: `#/signin?next=${encodeURIComponent(next)}` },
    "sign in"), " to see this page."));
  return false;
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

function shortId(id) {
  return id.length > 10 ? id.slice(0, 8) : id;
}

async function viewOrders(ctx) {
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
    const cancel = current.status === "placed" ? h("button", { type: "button", class: "button secondary",
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

async function viewOrder(ctx, id, params) {
  if (!requireSignIn(`#/orders/${id}`)) return;
  page("Order");
  const { body: order } = await api("GET", `/orders/${encodeURIComponent(id)}`, { auth: "required" });
  if (!ctx.alive()) return;
  const show = (current) => {
    const cancel = current.status === "placed" ? h("button", { type: "button", class: "button secondary",
      id: "cancel-order", onclick: (event) => cancelOrder(current, event.target, show) }, "Cancel order") : null;
    page(`Order ${shortId(current.id)}`,
      params.get("placed") && current.status === "placed"
        ? h("p", { class: "notice", role: "status" }, "Thank you! Your order has been placed.") : null,
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
      h("p", {}, cancel, " ", h("a", { href: "#/orders" }, "All my orders")));
  };
  show(order);
}

// -- accounts --------------------------------------------------------------------------

function field(id, label, attrs = {}, hint = null) {
  return h("div", { class: "field" }, h("label", { for: id }, label),
    h("input", { id, name: id, ...attrs, "aria-describedby": hint ? `${id}-hint` : null }),
    hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null);
}

function viewSignIn(ctx, params) {
  const next = params.get("next") || "#/";
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

function viewSignUp(ctx) {
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

// -- admin -----------------------------------------------------------------------------

function requireAdmin(next) {
  if (!requireSignIn(next)) return false;
  if (auth.isAdmin()) return true;
  page("Admins only", h("p", {}, "This area is for store administrators. You are signed in as ",
    auth.email(), "."));
  return false;
}

async function viewAdmin(ctx) {
  if (!requireAdmin("#/admin")) return;
  const search = h("input", { id: "admin-q", type: "search", autocomplete: "off" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "button secondary", hidden: true }, "Load more");
  page("Admin: products",
    h("p", {}, h("a", { class: "button", href: "#/admin/new" }, "New product")),
    h("div", { class: "field" }, h("label", { for: "admin-q" }, "Find products by name"), search),
    h("div", { class: "table-wrap" }, h("table", { class: "admin-table" },
      h("caption", { class: "visually-hidden" }, "Products"),
      h("thead", {}, h("tr", {}, ["Name", "SKU", "Category", "Price", "Stock"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    h("div", { class: "more" }, more));
  let cursor = null;
  let seq = 0;
  const load = async (append) => {
    const mine = ++seq;
    const query = new URLSearchParams({ limit: "25" });
    if (search.value.trim()) query.set("q", search.value.trim());
    if (append && cursor) query.set("cursor", cursor);
    try {
      const { body } = await api("GET", `/products?${query}`);
      if (!ctx.alive() || mine !== seq) return;
      if (!append) clear(tbody);
      for (const p of body.items) {
        tbody.append(h("tr", {},
          h("th", { scope: "row" }, h("a", { href: `#/admin/product/${encodeURIComponent(p.id)}` }, p.name)),
          h("td", {}, p.sku), h("td", {}, p.category), h("td", {}, formatMoney(p.price_cents, p.currency)),
          h("td", {}, String(p.stock))));
      }
      cursor = body.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      if (ctx.alive()) showError(error);
    }
  };
  search.addEventListener("input", debounce(() => load(false), 250));
  more.addEventListener("click", () => load(true));
  await load(false);
}

async function viewAdminProduct(ctx, id) {
  const isNew = id === null;
  if (!requireAdmin(isNew ? "#/admin/new" : `#/admin/product/${id}`)) return;
  page(isNew ? "New product" : "Edit product");
  const [{ body: categories }, loaded] = await Promise.all([
    api("GET", "/categories"),
    isNew ? Promise.resolve(null) : api("GET", `/products/${encodeURIComponent(id)}`, { auth: "optional" }),
  ]);
  if (!ctx.alive()) return;
  const product = loaded ? loaded.body : null;
  let etag = loaded ? loaded.headers.get("ETag") : null;
  const value = (key, fallback = "") => (product && product[key] !== null && product[key] !== undefined
    ? String(product[key]) : fallback);
  const currency = value("currency", "USD");
  const form = h("form", { class: "stack-form product-form", novalidate: true },
    field("name", "Name", { type: "text", required: true, maxlength: "200", value: value("name") }),
    field("sku", "SKU", { type: "text", required: true, maxlength: "64", pattern: "[A-Za-z0-9_-]+", value: value("sku") },
      "Letters, digits, - and _."),
    h("div", { class: "field" }, h("label", { for: "category" }, "Category"),
      h("select", { id: "category", name: "category", required: true },
        categories.items.map((c) => h("option", { value: c.slug, selected: product && product.category === c.slug },
          c.name)))),
    field("price", "Price", { type: "text", inputmode: "decimal", required: true,
      value: product ? plainAmount(product.price_cents, currency) : "" }, "For example 12.50"),
    field("currency", "Currency", { type: "text", required: true, maxlength: "3", pattern: "[A-Z]{3}",
      value: currency }, "Three capital letters, such as USD."),
    h("div", { class: "field" }, h("label", { for: "description" }, "Description"),
      h("textarea", { id: "description", name: "description", rows: "4", maxlength: "5000" }, value("description"))),
    field("image_url", "Image URL (optional)", { type: "url", maxlength: "2048", value: value("image_url") },
      "An https:// address."),
    isNew ? field("stock", "Initial stock", { type: "number", min: "0", max: "1000000", value: "0",
      inputmode: "numeric" }) : null,
    h("button", { type: "submit", class: "button" }, isNew ? "Create product" : "Save changes"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const cur = form.currency.value.trim();
    const cents = parseMoney(form.price.value, cur);
    if (cents === null) {
      formError(form, new ApiError(400, "validation_error", "Enter the price as an amount, such as 12.50.",
        [{ field: "price", issue: "not an amount" }]));
      return;
    }
    const body = {
      sku: form.sku.value.trim(),
      name: form.elements.namedItem("name").value.trim(),
      description: form.description.value,
      category: form.category.value,
      price_cents: cents,
      currency: cur,
      image_url: form.image_url.value.trim() || null,
    };
    if (isNew) {
      const stock = Number(form.stock.value || "0");
      if (!Number.isInteger(stock) || stock < 0) {
        formError(form, new ApiError(400, "validation_error", "Initial stock must be a whole number.",
          [{ field: "stock", issue: "not a whole number" }]));
        return;
      }
      body.stock = stock;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (isNew) {
        const { body: created } = await api("POST", "/products", { auth: "required", body });
        location.hash = `#/admin/product/${encodeURIComponent(created.id)}?created=1`;
      } else {
        const headers = etag ? { "If-Match": etag } : {};
        const response = await api("PUT", `/products/${encodeURIComponent(id)}`, { auth: "required", body, headers });
        etag = response.headers.get("ETag") || etag;
        announce(`Saved ${response.body.name}.`);
        formError(form, null);
        form.querySelector(".form-error").textContent = "";
      }
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    } finally {
      button.disabled = false;
    }
  });

  const sections = [form];
  if (!isNew) sections.push(stockSection(ctx, product), deleteSection(product));
  const params = new URLSearchParams((location.hash.split("?")[1]) || "");
  page(isNew ? "New product" : `Edit: ${product.name}`,
    params.get("created") ? h("p", { class: "notice", role: "status" }, "Product created.") : null,
    product ? h("p", {}, h("a", { href: `#/product/${encodeURIComponent(product.id)}` }, "View in the store"), " · ",
      h("a", { href: `/p/${encodeURIComponent(product.id)}` }, "Shareable product page"), " · ",
      h("a", { href: "#/admin" }, "All products")) : h("p", {}, h("a", { href: "#/admin" }, "All products")),
    ...sections);
}

function plainAmount(minor, currency) {
  const digits = minorDigits(currency);
  const text = String(minor).padStart(digits + 1, "0");
  return digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
}

function stockSection(ctx, product) {
  const current = h("strong", { id: "current-stock" }, String(product.stock));
  const form = h("form", { class: "stack-form stock-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Change by"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "mode", value: "delta", checked: true }),
        " add or remove (use a minus sign to remove)"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "mode", value: "set" }), " set to")),
    field("amount", "Amount", { type: "number", required: true, inputmode: "numeric", step: "1" }),
    h("button", { type: "submit", class: "button" }, "Update stock"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const amount = Number(form.amount.value);
    if (form.amount.value.trim() === "" || !Number.isInteger(amount)) {
      formError(form, new ApiError(400, "validation_error", "Enter a whole number.",
        [{ field: "amount", issue: "not a whole number" }]));
      return;
    }
    const mode = form.mode.value === "set" ? "set" : "delta";
    try {
      const { body } = await api("POST", `/products/${encodeURIComponent(product.id)}/stock`,
        { auth: "required", body: { [mode]: amount } });
      if (!ctx.alive()) return;
      current.textContent = String(body.stock);
      form.amount.value = "";
      announce(`Stock is now ${body.stock}.`);
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    }
  });
  return h("section", { "aria-labelledby": "stock-heading", class: "panel" },
    h("h2", { id: "stock-heading" }, "Stock"), h("p", {}, "In stock now: ", current), form);
}

function deleteSection(product) {
  const button = h("button", { type: "button", class: "button danger" }, "Delete product");
  const section = h("section", { "aria-labelledby": "delete-heading", class: "panel" },
    h("h2", { id: "delete-heading" }, "Delete"), h("p", {}, "Deleting removes the product from the store."), button);
  button.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${product.name}? This cannot be undone.`)) return;
    try {
      await api("DELETE", `/products/${encodeURIComponent(product.id)}`, { auth: "required" });
      announce(`Deleted ${product.name}.`, { persist: true });
      go("#/admin");
    } catch (error) {
      showError(error);
    }
  });
  return section;
}

// -- router ----------------------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const token = ++renderToken;
  const ctx = { alive: () => token === renderToken };
  clearError();
  // Keep a message that led here ("Signed in as ..."); drop older ones.
  if (keepStatusOnce) {
    keepStatusOnce = false;
  } else {
    clearTimeout(statusTimer);
    statusRegion.textContent = "";
  }
  let view;
  if (parts.length === 0) view = () => viewHome(ctx, params);
  else if (parts[0] === "product" && parts.length === 2) view = () => viewProduct(ctx, parts[1]);
  else if (parts[0] === "cart" && parts.length === 1) view = () => viewCart(ctx);
  else if (parts[0] === "signin" && parts.length === 1) view = () => viewSignIn(ctx, params);
  else if (parts[0] === "signup" && parts.length === 1) view = () => viewSignUp(ctx);
  else if (parts[0] === "orders" && parts.length === 1) view = () => viewOrders(ctx);
  else if (parts[0] === "orders" && parts.length === 2) view = () => viewOrder(ctx, parts[1], params);
  else if (parts[0] === "admin" && parts.length === 1) view = () => viewAdmin(ctx);
  else if (parts[0] === "admin" && parts[1] === "new" && parts.length === 2) view = () => viewAdminProduct(ctx, null);
  else if (parts[0] === "admin" && parts[1] === "product" && parts.length === 3) {
    view = () => viewAdminProduct(ctx, parts[2]);
  } else view = () => page("Page not found", h("p", {}, "There is no such page. ", h("a", { href: "#/" }, "Browse products"), "."));
  main.setAttribute("aria-busy", "true");
  Promise.resolve()
    .then(view)
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
      main.dataset.view = parts[0] || "home";
      main.dataset.ready = "1";
      const heading = main.querySelector("h1");
      // After a navigation, move focus to the new page's heading, so keyboard and
      // screen-reader users start there; on the first load the skip link comes first.
      if (routed && heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
      routed = true;
    });
  delete main.dataset.ready;
}

// Navigate; re-render when already there (no hashchange would fire).
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

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
