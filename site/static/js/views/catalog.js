// The catalog: the product listing (filters, search as you type, load more) and a
// product's page.

import { api } from "../api.js";
import { auth } from "../auth.js";
import { cart } from "../cart.js";
import { clear, debounce, formatMoney, h } from "../dom.js";
import { announce, clearError, formError, page, productImage, showError, stockText } from "../ui.js";

const PAGE_SIZE = 12;

export async function viewHome(ctx) {
  const params = ctx.params;
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

export async function viewProduct(ctx, { id }) {
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
